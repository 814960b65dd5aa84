import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { cleanupServers, isAlive, startServer, waitForDeath, type ServerProcess } from '../helpers/server-process.js';

// WORKERS=2 (src/cluster.ts): two processes serve one port, each request's
// log line names the worker that served it, a worker that dies is replaced
// while the other keeps answering, and SIGTERM drains every process.

let server: ServerProcess;
let dataDir: string;
let dropDatabase: () => Promise<void>;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workers-'));
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  server = await startServer(dataDir, { WORKERS: '2', DATABASE_URL: database.url, INITIAL_ROOT_TOKEN: 'glpat-workers-test-token-0000' });
  // Ready means one worker answers; wait for the primary's word on all of them.
  await vi.waitFor(() => expect(server.stdout()).toContain('all workers ready'), { timeout: 45_000, interval: 100 });
}, 60_000);

afterAll(async () => {
  await cleanupServers(dataDir, server ? [server.proc] : []);
  for (const pid of workerPids()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await dropDatabase?.();
});

interface LogLine {
  msg?: string;
  pid?: number;
  worker?: number | string;
  workerPid?: number;
  reqId?: string;
  res?: { statusCode: number };
}
const logLines = (): LogLine[] =>
  server.stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
const workerPids = () => [...new Set(logLines().filter((l) => l.msg === 'worker started').map((l) => l.workerPid!))];

/** GET on a connection of its own (the primary hands each new connection to the next worker). */
const getOnNewConnection = (urlPath: string) =>
  new Promise<{ status: number; requestId: string }>((resolve, reject) => {
    http
      .get(`${server.url}${urlPath}`, { agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, requestId: String(res.headers['x-request-id']) }));
      })
      .on('error', reject);
  });

/** Which processes served these requests, from their one "request" log line each. */
async function servedBy(requestIds: string[]): Promise<Set<number>> {
  await vi.waitFor(() => expect(logLines().filter((l) => l.msg === 'request' && requestIds.includes(l.reqId!))).toHaveLength(requestIds.length));
  const lines = logLines().filter((l) => l.msg === 'request' && requestIds.includes(l.reqId!));
  for (const l of lines) expect(typeof l.worker).toBe('number');
  return new Set(lines.map((l) => l.pid!));
}

async function burst(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await getOnNewConnection('/-/readiness');
    expect(res.status).toBe(200);
    ids.push(res.requestId);
  }
  return ids;
}

describe('WORKERS=2', { timeout: 60_000 }, () => {
  it('serves one port from two processes, each log line naming its worker', async () => {
    expect(workerPids()).toHaveLength(2);
    const pids = await servedBy(await burst(8));
    expect([...pids].sort()).toEqual([...workerPids()].sort());
  });

  it('keeps answering when a worker is killed, and a replacement starts and serves', async () => {
    const [victim, survivor] = workerPids();
    process.kill(victim!, 'SIGKILL');
    expect(await waitForDeath(victim!)).toBe(true);
    // The survivor answers every request while the replacement boots.
    expect(await servedBy(await burst(6))).toEqual(new Set([survivor]));
    await vi.waitFor(() => expect(logLines().filter((l) => l.msg === 'worker ready')).toHaveLength(3), { timeout: 45_000, interval: 100 });
    const replacement = workerPids().find((p) => p !== victim && p !== survivor)!;
    expect(isAlive(replacement)).toBe(true);
    expect(logLines().some((l) => l.msg === 'worker died; starting a replacement' && l.workerPid === victim)).toBe(true);
    expect([...(await servedBy(await burst(8)))].sort()).toEqual([survivor, replacement].sort());
  });

  it('SIGTERM drains every worker and the primary exits 0', async () => {
    const live = workerPids().filter(isAlive);
    expect(live).toHaveLength(2);
    server.proc.kill('SIGTERM');
    expect(await server.exit).toEqual({ code: 0, signal: null });
    for (const pid of live) expect(await waitForDeath(pid)).toBe(true);
    const shutdowns = logLines().filter((l) => l.msg === 'shutting down').map((l) => l.pid);
    expect(shutdowns.sort()).toEqual(live.sort());
  });
});
