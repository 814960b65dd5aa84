import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sp from '../helpers/server-process.js';

// Kills the server with SIGKILL in the middle of a burst of registrations and
// job updates, restarts it on the same DATA_DIR (its embedded PostgreSQL
// included, which must recover from the unclean stop) and checks that every
// request that got a 2xx is there and that no runner is half-written.

const ROOT_TOKEN = 'glpat-crash-recovery-root-0000';
const ROUNDS = 2;
const JOBS_PER_ROUND = 40;

let dataDir: string;
const started: ChildProcess[] = [];
let server: sp.ServerProcess;

const call = async (method: string, urlPath: string, body?: unknown, token: string | null = ROOT_TOKEN) => {
  const res = await fetch(`${server.url}/api/v4${urlPath}`, {
    method,
    headers: { ...(token ? { 'PRIVATE-TOKEN': token } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
};

async function start() {
  server = await sp.startServer(dataDir, { INITIAL_ROOT_TOKEN: ROOT_TOKEN, LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false' });
  started.push(server.proc);
}

async function crash() {
  process.kill(sp.serverPid(dataDir), 'SIGKILL');
  server.proc.kill('SIGKILL');
  await server.exit;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-recovery-'));
  await start();
}, 90_000);

afterAll(async () => {
  await sp.cleanupServers(dataDir, started);
});

describe('crash recovery', () => {
  it('keeps every acknowledged registration and job update across SIGKILL, with no half-written runner', async () => {
    const group = await call('POST', '/groups', { name: 'crash', path: 'crash' });
    const project = await call('POST', '/projects', { name: 'crash-proj', namespace_id: group.body.id });
    const registrationToken = (await call('GET', `/projects/${project.body.id}`)).body.runners_token as string;
    const worker = await call('POST', '/runners', { token: registrationToken, description: 'worker' }, null);
    expect(worker.status).toBe(201);

    const registered: { id: number; token: string }[] = [];
    const finishedJobs: number[] = [];
    let requestsSent = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const content = Array.from({ length: JOBS_PER_ROUND }, (_, i) => `job_${i}:\n  script: [echo ${i}]\n`).join('');
      expect((await call('POST', `/projects/${project.body.id}/pipeline`, { ref: 'main', content })).status).toBe(201);

      let stop = false;
      const registerLoop = async () => {
        while (!stop) {
          requestsSent++;
          const res = await call('POST', '/runners', { token: registrationToken, description: `burst-${round}`, tag_list: ['a', 'b'] }, null).catch(() => null);
          if (res?.status === 201) registered.push({ id: res.body.id, token: res.body.token });
        }
      };
      const jobLoop = async () => {
        while (!stop) {
          requestsSent++;
          const job = await call('POST', '/jobs/request', { token: worker.body.token, system_id: 's_crashcrash01' }, null).catch(() => null);
          if (job?.status !== 201) continue;
          requestsSent++;
          const done = await call('PUT', `/jobs/${job.body.id}`, { token: job.body.token, state: 'success' }, null).catch(() => null);
          if (done?.status === 200) finishedJobs.push(job.body.id);
        }
      };
      const loops = [registerLoop(), registerLoop(), registerLoop(), jobLoop()];
      const target = registered.length + 10;
      const deadline = Date.now() + 20_000;
      while ((registered.length < target || finishedJobs.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await crash(); // mid-burst: requests are in flight
      stop = true;
      await Promise.all(loops);
      await start();
    }

    expect(registered.length).toBeGreaterThanOrEqual(ROUNDS * 10);
    expect(finishedJobs.length).toBeGreaterThan(0);

    for (const r of registered) {
      const shown = await call('GET', `/runners/${r.id}`);
      expect(shown.status).toBe(200);
      expect(shown.body.projects.map((p: { id: number }) => p.id)).toEqual([project.body.id]);
      expect(shown.body.tag_list).toEqual(['a', 'b']);
      expect((await call('POST', '/runners/verify', { token: r.token }, null)).status).toBe(200);
    }
    for (const id of finishedJobs) {
      expect((await call('GET', `/projects/${project.body.id}/jobs/${id}`)).body.status).toBe('success');
    }
    // No runner exists without its project link, acknowledged or not.
    const all = await call('GET', `/runners/all?type=project_type&per_page=100`);
    for (const r of all.body as { id: number }[]) {
      const shown = await call('GET', `/runners/${r.id}`);
      expect(shown.body.projects.length).toBe(1);
    }
    console.log(`crash recovery: ${ROUNDS} crash rounds, ${requestsSent} requests sent, ${registered.length} acknowledged registrations and ${finishedJobs.length} acknowledged job updates verified after restart`);
  }, 180_000);
});
