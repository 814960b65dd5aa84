import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

// Docker cannot run on the test machines, so this checks what can be checked
// without it (docs/operations.md, "The container image"): docker-compose.yml
// parses and refers only to files and variables that exist, binds to
// 127.0.0.1 unless told otherwise, publishes no default secret; the
// Dockerfile copies files that exist and prepares and starts the server the
// way the tested start path does (`npm start`, whose script execs node).

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const composeText = read('docker-compose.yml');
const compose = YAML.parse(composeText, { merge: true }) as {
  services: Record<string, { build?: string | { context: string; dockerfile?: string }; image?: string; profiles?: string[]; init?: boolean; ports?: string[]; volumes?: string[]; environment?: Record<string, string>; depends_on?: unknown }>;
  volumes?: Record<string, unknown>;
};
const envExample = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
const dockerfile = read('Dockerfile');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

describe('docker-compose.yml', () => {
  it('uses only variables that .env.example documents', () => {
    const used = [...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((v) => !envExample.has(v))).toEqual([]);
  });

  it('publishes no default for a secret', () => {
    for (const secret of ['INITIAL_ROOT_TOKEN', 'SECRET_KEY']) {
      const refs = [...composeText.matchAll(new RegExp(`\\$\\{${secret}([^}]*)\\}`, 'g'))].map((m) => m[1]);
      expect(refs, secret).not.toEqual([]);
      expect(refs.filter((r) => r !== ':-' && r !== '' && !r!.startsWith(':?')), secret).toEqual([]);
    }
    expect(composeText).not.toMatch(/glpat-[A-Za-z0-9_-]{8,}/);
  });

  it('binds every published port to 127.0.0.1 unless BIND_ADDRESS says otherwise', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^\$\{BIND_ADDRESS:-127\.0\.0\.1\}:/);
  });

  it('builds the image from the Dockerfile and runs each server under an init process, on PostgreSQL', () => {
    const servers = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
    expect(servers.map(([name]) => name).sort()).toEqual(['app', 'app-2']);
    for (const [name, s] of servers) {
      const context = typeof s.build === 'string' ? s.build : s.build!.context;
      const file = typeof s.build === 'string' ? 'Dockerfile' : (s.build!.dockerfile ?? 'Dockerfile');
      expect(fs.existsSync(path.join(ROOT, context, file)), name).toBe(true);
      expect(s.init, name).toBe(true);
      expect(s.environment?.DATABASE_URL, name).toMatch(/^postgresql:\/\/[^@]+@postgres:5432\//);
      expect(s.depends_on, name).toMatchObject({ postgres: { condition: 'service_healthy' } });
    }
    expect(compose.services.postgres?.volumes?.some((v) => v.startsWith('pgdata:'))).toBe(true);
    expect(Object.keys(compose.volumes ?? {})).toContain('pgdata');
  });

  it('mounts only files that exist, and the scaled profile puts nginx in front of both replicas', () => {
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('./'));
    for (const m of mounts) expect(fs.existsSync(path.join(ROOT, m.split(':')[0]!)), m).toBe(true);
    const proxy = compose.services.proxy!;
    expect(proxy.profiles).toEqual(['scaled']);
    expect(compose.services['app-2']!.profiles).toEqual(['scaled']);
    const conf = read(proxy.volumes![0]!.split(':')[0]!);
    const upstreams = [...conf.matchAll(/^\s*server ([\w-]+):3000;/gm)].map((m) => m[1]);
    expect(upstreams).toEqual(['app', 'app-2']);
  });
});

describe('Dockerfile', () => {
  it('copies only files that exist', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(fs.existsSync(path.join(ROOT, s)), s).toBe(true);
  });

  it('installs with npm ci and runs at build time every preparation step npm start would run', () => {
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    const lifecycle = ['prestart', 'prepare:env', 'postinstall', 'prepare'].map((k) => pkg.scripts[k] ?? '').join(' ');
    const steps = [...lifecycle.matchAll(/node (scripts\/[\w.-]+\.mjs)/g)].map((m) => m[1]!);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(dockerfile, step).toContain(`node ${step}`);
  });

  it('runs npm start (which execs node, so signals reach the server) as a non-root user, with a readiness healthcheck', () => {
    expect(pkg.scripts.start).toMatch(/^exec node /);
    expect(dockerfile).toMatch(/^CMD \["npm", "start", "--ignore-scripts"\]$/m);
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBe('node');
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/-\/readiness/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
  });
});
