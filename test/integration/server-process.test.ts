import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import * as sp from '../helpers/server-process.js';

// The server as a user runs it (README: `npm start` = `node --import tsx src/server.ts`),
// with an embedded PostgreSQL under a temporary DATA_DIR: first boot, the
// root token banner, logs, SIGTERM, restart, and recovery after SIGKILL.
// The tests build on each other and run in order.

const BANNER = /Initial root personal access token \(shown once, save it now\): (\S+)/g;

type Server = sp.ServerProcess;
let dataDir: string;
const started: ChildProcess[] = [];
const { isAlive, waitForDeath } = sp;
const postmasterPid = () => sp.postmasterPid(dataDir);
const serverPid = () => sp.serverPid(dataDir);
const track = (s: Server) => (started.push(s.proc), s);
const spawnServer = (port: number) => track(sp.spawnServer(dataDir, port));
const startServer = async (launch: sp.Launch = 'node') => track(await sp.startServer(dataDir, {}, launch));

const api = (server: Server, urlPath: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${urlPath}`, { headers });

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'server-process-'));
});

afterAll(async () => {
  // Only what this file started: its processes, their servers, and the cluster in our data dir.
  await sp.cleanupServers(dataDir, started);
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

  // docker stop, systemd and process managers signal the process they
  // started: with `npm start` that is npm. The start script execs node, so
  // npm's one child is the server and gets the signal npm passes on (a shell
  // in between would die of it and leave the server running, orphaned).
  it('npm start hands SIGTERM on to the server: it shuts down cleanly and npm exits 0', async () => {
    server = await startServer('npm-start');
    expect((await api(server, '/api/v4/version', { 'PRIVATE-TOKEN': token })).status).toBe(200);
    const pid = serverPid();
    const pg = postmasterPid()!;
    server.proc.kill('SIGTERM');
    expect(await server.exit).toEqual({ code: 0, signal: null });
    expect(await waitForDeath(pid)).toBe(true);
    expect(await waitForDeath(pg)).toBe(true);
    expect(server.stdout()).toContain('shutting down');
  });
});
