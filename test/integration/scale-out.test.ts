import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensurePythonGitlab, runPython } from '../helpers/python-gitlab.js';
import { decodeJobResponse, RunnerSimulator } from '../helpers/runner-simulator.js';
import { ensureScaleTools, startScaleStack, type ScaleStack } from '../helpers/scale-stack.js';

// The recipe of docs/scaling.md, run: PostgreSQL 15, PgBouncer in
// transaction mode, two instances with WORKERS=2 (DATABASE_URL through the
// pooler, ?pgbouncer=true), nginx in front. Everything below goes through
// nginx, as users, runners and client libraries would.

const ROOT_TOKEN = 'glpat-scale-out-root-token-0000';
let stack: ScaleStack;
let api: InstanceType<typeof Gitlab>;

beforeAll(async () => {
  ensureScaleTools();
  ensurePythonGitlab();
  stack = await startScaleStack({ instances: 2, workers: 2, rootToken: ROOT_TOKEN });
  api = new Gitlab({ host: stack.url, token: ROOT_TOKEN });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

/** A request on a connection of its own from a chosen local address (Linux routes all of 127/8 to loopback). */
function requestFrom(localAddress: string, method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${stack.url}${urlPath}`,
      {
        method,
        localAddress,
        agent: false,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const rest = async (method: string, urlPath: string, body?: unknown) => {
  const res = await fetch(`${stack.url}/api/v4${urlPath}`, {
    method,
    headers: { 'PRIVATE-TOKEN': ROOT_TOKEN, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: res.status === 204 ? undefined : await res.json() };
};

async function projectWithRunner(name: string): Promise<{ projectId: number; runnerId: number; token: string }> {
  const group = await api.Groups.create(name, name);
  const project = await api.Projects.create({ name: `${name}-p`, namespaceId: group.id });
  const created = await rest('POST', '/user/runners', { runner_type: 'project_type', project_id: project.id, description: name });
  expect(created.status).toBe(201);
  return { projectId: project.id, runnerId: created.json.id, token: created.json.token };
}

/** Polls through nginx on fresh connections, spread over both instances and all their workers. */
async function pollStatuses(sim: RunnerSimulator, token: string, n = 8): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await sim.requestJob(token)).statusCode);
  return out;
}

describe('two instances × WORKERS=2 behind nginx, on PgBouncer in transaction mode', { timeout: 120_000 }, () => {
  it('the instances reach PostgreSQL through PgBouncer', async () => {
    expect(stack.instances).toHaveLength(2);
    const admin = new pg.Client({ connectionString: stack.pgbouncerAdminUrl });
    await admin.connect();
    try {
      const stats = await admin.query({ text: 'SHOW STATS', rowMode: 'array' });
      const db = stats.fields.findIndex((f) => f.name === 'database');
      const xacts = stats.fields.findIndex((f) => f.name === 'total_xact_count');
      const row = stats.rows.find((r) => r[db] === 'gitlab_runners');
      expect(Number(row?.[xacts])).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
  });

  it('python-gitlab drives users, groups, projects, members and every runners call', async () => {
    const out = await runPython<Record<string, any>>(path.resolve('test/contract/python_gitlab_contract.py'), { GL_URL: stack.url, GL_TOKEN: ROOT_TOKEN });
    expect(out).toMatchObject({
      root_username: 'root',
      pat_prefix: 'glpat-',
      project_path: 'py-group/py-sub/py-proj',
      maintainer_sees_runners_token: true,
      registered_token_prefix: 't3_',
      after_save: 'py-runner-renamed',
      verify_ok: true,
      other_after_delete: [],
      paged_count: 6,
      page1_len: 2,
      deleted_404: true,
      bad_verify: 403,
    });
  });

  it('@gitbeaker/rest registers, edits and pages through runners; Link points at the public URL', async () => {
    const group = await api.Groups.create('GB Scale', 'gb-scale');
    const project = await api.Projects.create({ name: 'gb-scale-p', namespaceId: group.id });
    const token = (await api.Projects.show(project.id)).runners_token as string;
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.Runners.create(token, { description: `gb-${i}` } as any)).id as number);
    const edited = await api.Runners.edit(ids[0]!, { description: 'edited', paused: true } as any);
    expect(edited.paused).toBe(true);
    const { data, paginationInfo } = (await api.Runners.all({ perPage: 2, page: 1, showExpanded: true, projectId: project.id } as any)) as any;
    expect(data).toHaveLength(2);
    expect(paginationInfo.total).toBe(3);
    expect(await api.Runners.all({ perPage: 1, projectId: project.id } as any)).toHaveLength(3);

    // nginx passes the public Host on; the app builds Link from it (a trusted proxy).
    const res = await requestFrom('127.0.0.1', 'GET', `/api/v4/projects/${project.id}/runners?per_page=1`, undefined, {
      'PRIVATE-TOKEN': ROOT_TOKEN,
      host: 'runners.example.test',
    });
    expect(res.status).toBe(200);
    expect(res.headers.link).toContain(`<http://runners.example.test/api/v4/projects/${project.id}/runners?`);
  });

  it('a runner verified through nginx records the client address, not the proxy', async () => {
    const { runnerId, token } = await projectWithRunner('scale-ip');
    const res = await requestFrom('127.0.0.2', 'POST', '/api/v4/runners/verify', { token, system_id: 's_scaleiptest01' });
    expect(res.status).toBe(200);
    await vi.waitFor(async () => {
      const managers = await rest('GET', `/runners/${runnerId}/managers`);
      expect(managers.json.map((m: { ip_address: string }) => m.ip_address)).toEqual(['127.0.0.2']);
    });
  });

  it('registers and polls; a deleted, token-reset or paused runner is refused or skipped by every instance', async () => {
    const sim = RunnerSimulator.forUrl(stack.url);
    const deadline = { timeout: 5000, interval: 100 };

    const del = await projectWithRunner('scale-del');
    expect(await pollStatuses(sim, del.token)).toEqual(Array(8).fill(204));
    expect((await rest('DELETE', `/runners/${del.runnerId}`)).status).toBe(204);
    await vi.waitFor(async () => expect(await pollStatuses(sim, del.token)).toEqual(Array(8).fill(403)), deadline);

    const reset = await projectWithRunner('scale-reset');
    expect(await pollStatuses(sim, reset.token)).toEqual(Array(8).fill(204));
    const fresh = await sim.resetToken(reset.token);
    expect(fresh.statusCode).toBe(201);
    await vi.waitFor(async () => expect(await pollStatuses(sim, reset.token)).toEqual(Array(8).fill(403)), deadline);
    expect(await pollStatuses(sim, fresh.json().token)).toEqual(Array(8).fill(204));

    // A paused runner is skipped: a pending job is not handed to it anywhere.
    const paused = await projectWithRunner('scale-pause');
    expect(await pollStatuses(sim, paused.token)).toEqual(Array(8).fill(204));
    expect((await rest('PUT', `/runners/${paused.runnerId}`, { paused: true })).status).toBe(200);
    expect((await rest('POST', `/projects/${paused.projectId}/pipeline`, { ref: 'main', content: 'job:\n  script: echo hi\n' })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pollStatuses(sim, paused.token)).not.toContain(201);
    expect((await rest('PUT', `/runners/${paused.runnerId}`, { paused: false })).status).toBe(200);
    await vi.waitFor(async () => expect((await sim.requestJob(paused.token)).statusCode).toBe(201), deadline);
  });

  it('hands out a queue of jobs exactly once each to runners polling through nginx at once', async () => {
    const group = await api.Groups.create('Scale Queue', 'scale-queue');
    const project = await api.Projects.create({ name: 'scale-queue-p', namespaceId: group.id });
    const tokens: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await rest('POST', '/user/runners', { runner_type: 'project_type', project_id: project.id, description: `q-${i}` });
      tokens.push(created.json.token);
    }
    const JOBS = 30;
    const content = Array.from({ length: JOBS }, (_, i) => `job-${i}:\n  script: echo ${i}\n`).join('');
    expect((await rest('POST', `/projects/${project.id}/pipeline`, { ref: 'main', content })).status).toBe(201);
    const handed: number[] = [];
    await Promise.all(
      tokens.map(async (token, i) => {
        const sim = RunnerSimulator.forUrl(stack.url, { systemId: `s_queuerunner${String(i).padStart(2, '0')}` });
        let empty = 0;
        while (empty < 3) {
          const res = await sim.requestJob(token);
          if (res.statusCode === 201) {
            const job = decodeJobResponse(res);
            handed.push(job.id);
            expect((await sim.updateJob(job.id, job.token, { state: 'success' })).statusCode).toBe(200);
            empty = 0;
          } else {
            expect(res.statusCode).toBe(204);
            empty++;
          }
        }
      }),
    );
    expect(handed).toHaveLength(JOBS);
    expect(new Set(handed).size).toBe(JOBS);
  });
});
