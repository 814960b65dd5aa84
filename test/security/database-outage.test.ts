import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sp from '../helpers/server-process.js';

// The embedded PostgreSQL's postmaster is killed under a running server
// (`npm start` without DATABASE_URL): API routes answer 503 with Retry-After
// (not 500) while it is down, the server restarts it on the same DATA_DIR,
// service resumes without a process restart and nothing acknowledged is
// lost; SIGTERM during an outage still exits promptly and cleanly.

const ROOT_TOKEN = 'glpat-outage-root-token-0000';
let dataDir: string;
const started: ChildProcess[] = [];
let server: sp.ServerProcess;

const get = async (urlPath: string) => {
  const res = await fetch(`${server.url}${urlPath}`, { headers: { 'PRIVATE-TOKEN': ROOT_TOKEN } });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
};

async function killPostmaster(): Promise<number> {
  const pid = sp.postmasterPid(dataDir)!;
  process.kill(pid, 'SIGKILL');
  await sp.waitForDeath(pid);
  return pid;
}

/** Polls `urlPath` until it answers `status` (or the deadline passes); returns what it saw on the way. */
async function until(urlPath: string, status: number, ms = 30_000): Promise<Awaited<ReturnType<typeof get>>[]> {
  const seen: Awaited<ReturnType<typeof get>>[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const r = await get(urlPath).catch((err: Error) => ({ status: -1, retryAfter: null, body: err.message }));
    seen.push(r);
    if (r.status === status) return seen;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${urlPath} never answered ${status}; last: ${JSON.stringify(seen.at(-1))}`);
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-outage-'));
  server = await sp.startServer(dataDir, { INITIAL_ROOT_TOKEN: ROOT_TOKEN, LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false' });
  started.push(server.proc);
}, 90_000);

afterAll(async () => {
  await sp.cleanupServers(dataDir, started);
});

describe('database outage (embedded PostgreSQL killed)', () => {
  it('answers 503 with Retry-After while the postmaster is down, restarts it, and serves the same data again', async () => {
    const created = await fetch(`${server.url}/api/v4/groups`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': ROOT_TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'outage', path: 'outage' }),
    });
    expect(created.status).toBe(201);
    const oldPid = await killPostmaster();

    const during = await until('/api/v4/groups/outage', 503);
    // Until the first request notices, a request may still be answered from
    // memory; none is ever a 500.
    expect(during.filter((r) => r.status >= 500 && r.status !== 503)).toEqual([]);
    const outage = during.at(-1)!;
    expect(outage.body).toBe('{"message":"503 Service Unavailable"}');
    expect(outage.retryAfter).toBe('5');
    // Every kind of API route answers the same while it is down.
    for (const urlPath of ['/api/v4/runners/all', '/api/v4/projects', '/api/v4/user']) {
      const r = await get(urlPath);
      if (r.status !== 200) expect([r.status, r.body, r.retryAfter]).toEqual([503, '{"message":"503 Service Unavailable"}', '5']);
    }
    // The process itself is fine: a supervisor must not restart it.
    expect((await get('/-/liveness')).status).toBe(200);

    const after = await until('/api/v4/groups/outage', 200);
    expect(after.filter((r) => r.status >= 500 && r.status !== 503)).toEqual([]);
    expect(JSON.parse(after.at(-1)!.body)).toMatchObject({ path: 'outage' });
    const newPid = sp.postmasterPid(dataDir)!;
    expect(newPid).not.toBe(oldPid);
    expect(sp.isAlive(newPid)).toBe(true);
    expect((await get('/-/readiness')).status).toBe(200);
    // Same process: no restart of the server was needed.
    expect(server.proc.exitCode).toBeNull();
  }, 60_000);

  it('exits 0 within 2 s on SIGTERM during an outage, leaving no PostgreSQL behind', async () => {
    await killPostmaster();
    await until('/api/v4/groups/outage', 503);
    const begin = Date.now();
    process.kill(sp.serverPid(dataDir), 'SIGTERM');
    const { code } = await server.exit;
    const took = Date.now() - begin;
    expect(code).toBe(0);
    expect(took).toBeLessThan(2_000);
    const pid = sp.postmasterPid(dataDir);
    if (pid !== undefined) expect(await sp.waitForDeath(pid, 5_000)).toBe(true);
  }, 60_000);
});
