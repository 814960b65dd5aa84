import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { createTestDatabase } from '../helpers/database.js';
import { ROOT, cleanupServers } from '../helpers/server-process.js';

// Starting writes nothing into the installation (docs/scaling.md): the
// Prisma client and the embedded PostgreSQL's links are made at install
// (`npm ci` runs the package's postinstall); `npm start` only checks them.
// So a read-only installation starts, and ten instances started at the same
// moment from one installation all become ready.

const INSTANCES = 10;

/**
 * What an installation is: every tracked file, and everything under the
 * folders code and install output live in (a new file there counts too),
 * with size and mtime. Run data other tests write into git-ignored folders
 * (.test-data, screenshots, caches) is not part of it.
 */
function manifest(): Map<string, string> {
  const out = new Map<string, string>();
  const add = (rel: string) => {
    const st = fs.lstatSync(path.join(ROOT, rel), { throwIfNoEntry: false });
    out.set(rel, st ? `${st.isDirectory() ? 'd' : st.size} ${st.mtimeMs}` : 'missing');
    return st;
  };
  const skip = new Set([path.join('node_modules', '.vite'), path.join('node_modules', '.cache')]);
  const walk = (rel: string) => {
    if (skip.has(rel) || !add(rel)?.isDirectory()) return;
    for (const entry of fs.readdirSync(path.join(ROOT, rel))) walk(path.join(rel, entry));
  };
  const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const file of tracked) add(file);
  for (const dir of ['src', 'prisma', 'scripts', 'node_modules', 'package.json', 'package-lock.json']) walk(dir);
  return out;
}

/**
 * `npm start` in a mount namespace of its own where the checkout is mounted
 * read-only (a root user ignores file modes, so modes would prove nothing).
 */
function startReadOnly(env: Record<string, string>): ChildProcess {
  const isRoot = process.getuid?.() === 0;
  // Without root, a user namespace (-r) grants the mount.
  const unshare = ['-m', ...(isRoot ? [] : ['-r'])];
  const script = 'mount --bind -o ro "$ROOT" "$ROOT" && cd "$ROOT" && exec npm start';
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ROOT, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env };
  for (const key of ['NODE_OPTIONS', 'EXTERNAL_URL', 'SECRET_KEY']) delete fullEnv[key];
  if (!env.DATABASE_URL) delete fullEnv.DATABASE_URL;
  return spawn('unshare', [...unshare, 'sh', '-c', script], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

async function waitReady(port: number, proc: ChildProcess, output: () => string, ms = 50_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`instance on ${port} exited ${proc.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/-/readiness`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`instance on ${port} not ready after ${ms} ms:\n${output()}`);
}

const procs: ChildProcess[] = [];
const dataDirs: string[] = [];
let dropDatabase: (() => Promise<void>) | undefined;

afterAll(async () => {
  for (const p of procs) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dataDirs) await cleanupServers(dir, []);
  await dropDatabase?.();
});

describe('starting from an installation', { timeout: 90_000 }, () => {
  it('the checkout can be mounted read-only: unshare can do it here', () => {
    const probe = spawnSync('unshare', ['-m', ...(process.getuid?.() === 0 ? [] : ['-r']), 'sh', '-c', `mount --bind -o ro "${ROOT}" "${ROOT}" && ! touch "${ROOT}/.ro-probe"`], { stdio: 'ignore' });
    expect(probe.status).toBe(0);
    expect(fs.existsSync(path.join(ROOT, '.ro-probe'))).toBe(false);
  });

  it(`${INSTANCES} instances started at once from one read-only checkout all become ready, and nothing under the checkout changes`, async () => {
    const before = manifest();
    // One with the embedded PostgreSQL (DATA_DIR outside the checkout), the
    // others on one fresh, unmigrated database that they migrate together.
    const database = await createTestDatabase({ migrated: false });
    dropDatabase = database.drop;
    const instances = await Promise.all(
      Array.from({ length: INSTANCES }, async (_, i) => {
        const port = await freePort();
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `start-ro-${i}-`));
        dataDirs.push(dataDir);
        const env: Record<string, string> = { PORT: String(port), DATA_DIR: dataDir, INITIAL_ROOT_TOKEN: 'glpat-read-only-checkout-000' };
        if (i > 0) env.DATABASE_URL = database.url;
        const proc = startReadOnly(env);
        procs.push(proc);
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        return { port, proc, output: () => out };
      }),
    );
    await Promise.all(instances.map((x) => waitReady(x.port, x.proc, x.output)));
    for (const x of instances) {
      const res = await fetch(`http://127.0.0.1:${x.port}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': 'glpat-read-only-checkout-000' } });
      expect(res.status).toBe(200);
    }
    // A clean stop (npm passes SIGTERM on) still writes nothing.
    await Promise.all(
      instances.map(
        (x) =>
          new Promise<void>((resolve) => {
            x.proc.once('exit', () => resolve());
            x.proc.kill('SIGTERM');
          }),
      ),
    );
    for (const x of instances) expect(x.output()).not.toMatch(/EROFS|read-only file system/i);
    const after = manifest();
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    expect(changed).toEqual([]);
  });
});
