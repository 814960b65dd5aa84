import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';

// The server as a user runs it (README: `npm start` = `tsx src/server.ts`),
// with an embedded PostgreSQL under a temporary DATA_DIR: first boot, the
// root token banner, logs, SIGTERM, restart, and recovery after SIGKILL.
// The tests build on each other and run in order.

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const BANNER = /Initial root personal access token \(shown once, save it now\): (\S+)/g;

interface Server {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dataDir: string;
const started: ChildProcess[] = [];

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const postmasterPid = (): number | undefined => {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return fs.existsSync(file) ? Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0]!, 10) : undefined;
};

/** The node process running src/server.ts (tsx runs it as its child); it writes its pid into the data dir. */
const serverPid = (): number => Number.parseInt(fs.readFileSync(path.join(dataDir, 'server.pid'), 'utf8'), 10);

function spawnServer(port: number): Server {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  for (const key of ['DATABASE_URL', 'INITIAL_ROOT_TOKEN', 'SECRET_KEY', 'GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN', 'EXTERNAL_URL', 'NODE_OPTIONS']) delete env[key];
  const proc = spawn(TSX, ['src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, port, stdout: () => out, stderr: () => err, exit };
}

async function startServer(): Promise<Server> {
  const server = spawnServer(await freePort());
  let exited = false;
  void server.exit.then(() => (exited = true));
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/-/readiness`);
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready.\nstdout:\n${server.stdout()}\nstderr:\n${server.stderr()}`);
}

const api = (server: Server, urlPath: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${server.port}${urlPath}`, { headers });

async function waitForDeath(pid: number, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !isAlive(pid);
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'server-process-'));
});

afterAll(async () => {
  // Only what this file started: the tsx processes, their servers, and the cluster in our data dir.
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  const pid = postmasterPid();
  if (pid && isAlive(pid)) {
    process.kill(pid, 'SIGINT');
    await waitForDeath(pid);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the server process', { timeout: 60_000 }, () => {
  let server: Server;
  let token: string;

  it('first boot prints the generated root token once on stdout, and the token works', async () => {
    server = await startServer();
    const banners = [...server.stdout().matchAll(BANNER)];
    expect(banners).toHaveLength(1);
    token = banners[0]![1]!;
    expect(token).toMatch(/^glpat-[A-Za-z0-9_-]{20}$/);
    expect(server.stderr()).not.toContain(token);

    const res = await api(server, '/api/v4/version', { 'PRIVATE-TOKEN': token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ version: expect.any(String) });
    expect((await api(server, '/api/v4/version')).status).toBe(401);
  });

  it('never logs a secret: private_token in the query, PRIVATE-TOKEN and Authorization headers', async () => {
    expect((await api(server, `/api/v4/version?private_token=${token}`)).status).toBe(200);
    expect((await api(server, `/api/v4/nope?private_token=${token}&x=1`)).status).toBe(404);
    expect((await api(server, '/api/v4/version', { Authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await api(server, '/api/v4/version?private_token=glpat-wrong-token-00000000')).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300)); // let pino flush
    const out = server.stdout();
    // the banner only, not even the part after the prefix elsewhere
    expect(out.split(token).length - 1).toBe(1);
    expect(out.split(token.slice(6)).length - 1).toBe(1);
    expect(out).not.toContain('glpat-wrong-token-00000000');
    expect(server.stderr()).not.toContain(token);
    expect(out).toContain('private_token=[REDACTED]');
    // the logs are there, just scrubbed
    expect(out).toMatch(/"url":"\/api\/v4\/version\?private_token=\[REDACTED\]"/);
  });

  it('a second server on the same DATA_DIR refuses to start and leaves the first one alone', async () => {
    const second = spawnServer(await freePort());
    const { code } = await second.exit;
    expect(code).toBe(1);
    expect(second.stderr()).toMatch(/in use by process/);
    expect((await api(server, '/api/v4/version', { 'PRIVATE-TOKEN': token })).status).toBe(200);
  });

  it('SIGTERM shuts down cleanly: exit code 0 and no postgres left running', async () => {
    const pg = postmasterPid()!;
    expect(isAlive(pg)).toBe(true);
    server.proc.kill('SIGTERM');
    const { code, signal } = await server.exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(await waitForDeath(pg)).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'server.pid'))).toBe(false);
    expect(server.stdout()).toContain('shutting down');
  });

  it('a restart on the same DATA_DIR keeps the data: the token still works, no new token is printed', async () => {
    server = await startServer();
    expect([...server.stdout().matchAll(BANNER)]).toHaveLength(0);
    expect(server.stdout()).not.toContain('glpat-');
    expect((await api(server, '/api/v4/version', { 'PRIVATE-TOKEN': token })).status).toBe(200);
  });

  it('after SIGKILL of the server, the orphaned postgres is stopped and a restart works', async () => {
    const orphan = postmasterPid()!;
    process.kill(serverPid(), 'SIGKILL');
    server.proc.kill('SIGKILL');
    await server.exit;
    expect(isAlive(orphan)).toBe(true); // nobody stopped it: a real orphan

    server = await startServer();
    expect(await waitForDeath(orphan)).toBe(true);
    expect(postmasterPid()).not.toBe(orphan);
    expect([...server.stdout().matchAll(BANNER)]).toHaveLength(0);
    expect((await api(server, '/api/v4/version', { 'PRIVATE-TOKEN': token })).status).toBe(200);

    const pg = postmasterPid()!;
    server.proc.kill('SIGTERM');
    expect((await server.exit).code).toBe(0);
    expect(await waitForDeath(pg)).toBe(true);
  });
});
