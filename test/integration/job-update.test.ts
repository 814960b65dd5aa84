import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { runnerCache } from '../../src/services/runner-cache/runner-cache.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, jobsOf, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, RunnerSimulator, traceChecksum } from '../helpers/runner-simulator.js';

// PUT /jobs/:id and PATCH /jobs/:id/trace.

let t: TestApp;
let group: Namespace;

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group();
});
afterAll(async () => {
  await t?.close();
});

interface Running {
  project: Project;
  sim: RunnerSimulator;
  runnerId: number;
  runnerToken: string;
  pipelineId: number;
  job: { id: number; token: string };
}

/** A project with a one-job pipeline whose job a runner has taken and accepted. */
async function runningJob(content = singleJob(), app: TestApp = t): Promise<Running> {
  const g = app === t ? group : await app.fx.group();
  const project = await app.fx.project({ namespace: g });
  const { runner, token } = await app.fx.runner({ projects: [project] });
  const pipeline = await createPipeline(app, project, content);
  const sim = RunnerSimulator.forApp(app.app);
  const job = decodeJobResponse(await sim.requestJob(token));
  expect((await sim.updateJob(job.id, job.token, { state: 'running' })).statusCode).toBe(200);
  return { project, sim, runnerId: runner.id, runnerToken: token, pipelineId: pipeline.id, job };
}

const put = (id: number | string, payload: unknown, headers: Record<string, string> = {}) =>
  t.api({ method: 'PUT', url: `/api/v4/jobs/${id}`, payload: payload as object, headers, token: null });

describe('PUT /jobs/:id', () => {
  it('refuses an unknown job or a wrong token with a plain 403', async () => {
    const { job } = await runningJob();
    for (const res of [await put(job.id, { token: 'glcbt-wrong', state: 'running' }), await put(999999, { token: job.token, state: 'running' })]) {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: '403 Forbidden' });
      expect(res.headers['job-status']).toBeUndefined();
    }
    const missing = await put(job.id, { state: 'running' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'token is missing' });
    const badId = await put('abc', { token: job.token, state: 'running' });
    expect(badId.statusCode).toBe(400);
    expect(badId.json()).toEqual({ error: 'id is invalid' });
  });

  it('accepts the job token from the JOB-TOKEN header alone', async () => {
    const { job } = await runningJob();
    const res = await put(job.id, { state: 'running' }, { 'job-token': job.token });
    expect(res.statusCode).toBe(200);
    expect(res.headers['job-status']).toBe('running');
  });

  it('answers 400 to an unknown state and changes nothing', async () => {
    const { job } = await runningJob();
    const res = await put(job.id, { token: job.token, state: 'exploded' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toBe('400');
    expect(res.headers['job-status']).toBe('running');
    expect((await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('running');
  });

  it('stores failure_reason and exit_code, mapping a reason GitLab does not know to unknown_failure', async () => {
    const a = await runningJob();
    expect((await a.sim.updateJob(a.job.id, a.job.token, { state: 'failed', failureReason: 'runner_system_failure', exitCode: 2 })).statusCode).toBe(200);
    expect(await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: a.job.id } })).toMatchObject({ status: 'failed', failure_reason: 'runner_system_failure', exit_code: 2 });
    const b = await runningJob();
    expect((await b.sim.updateJob(b.job.id, b.job.token, { state: 'failed', failureReason: 'cosmic_rays' })).statusCode).toBe(200);
    expect(await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: b.job.id } })).toMatchObject({ failure_reason: 'unknown_failure', exit_code: null });
  });

  it('answers 412 to a checksum that does not match the stored log, then accepts the whole log again from offset 0', async () => {
    const { sim, job } = await runningJob();
    const partial = Buffer.from('hello ');
    expect((await sim.patchTrace(job.id, job.token, partial, 0)).statusCode).toBe(202);
    // The runner believes it sent more than the server stored (a lost PATCH).
    const full = Buffer.from('hello world\n');
    const mismatch = await sim.updateJob(job.id, job.token, { state: 'success', checksum: traceChecksum(full), output: { checksum: traceChecksum(full), bytesize: full.length } });
    expect(mismatch.statusCode).toBe(412);
    expect(mismatch.headers['job-status']).toBe('running');
    expect((await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('running');

    // 412 makes the runner reset its offset to 0 and re-send everything.
    const resent = await sim.patchTrace(job.id, job.token, full, 0);
    expect(resent.statusCode).toBe(202);
    expect(resent.headers.range).toBe(`0-${full.length}`);
    const done = await sim.updateJob(job.id, job.token, { state: 'success', checksum: traceChecksum(full), output: { checksum: traceChecksum(full), bytesize: full.length } });
    expect(done.statusCode).toBe(200);
    const stored = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(stored.status).toBe('success');
    expect(Buffer.from(stored.trace!).toString()).toBe('hello world\n');
    expect(stored.trace_checksum).toBe(traceChecksum(full));
  });

  it('does not ask for the log a second time, so a job never gets stuck on a bad checksum', async () => {
    const { sim, job } = await runningJob();
    const log = Buffer.from('log\n');
    await sim.patchTrace(job.id, job.token, log, 0);
    const wrong = 'crc32:deadbeef';
    expect((await sim.updateJob(job.id, job.token, { state: 'success', output: { checksum: wrong } })).statusCode).toBe(412);
    expect((await sim.patchTrace(job.id, job.token, log, 0)).statusCode).toBe(202);
    expect((await sim.updateJob(job.id, job.token, { state: 'success', output: { checksum: wrong } })).statusCode).toBe(200);
    expect((await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('success');
  });

  it('reads checksums of older runners, which did not pad to eight digits', async () => {
    const { sim, job } = await runningJob();
    let log = Buffer.alloc(0);
    for (let i = 0; ; i++) {
      log = Buffer.from(`line ${i}\n`);
      if (zlib.crc32(log) < 0x10000000) break;
    }
    await sim.patchTrace(job.id, job.token, log, 0);
    const unpadded = `crc32:${zlib.crc32(log).toString(16)}`;
    expect(unpadded.length).toBeLessThan(14);
    expect((await sim.updateJob(job.id, job.token, { state: 'success', checksum: unpadded })).statusCode).toBe(200);
  });

  it('promotes the next stage and wakes runners holding a cached queue value', async () => {
    const project = await t.fx.project({ namespace: group });
    const first = await t.fx.runner({ projects: [project] });
    const second = await t.fx.runner({ projects: [project] });
    const simA = RunnerSimulator.forApp(t.app);
    const simB = RunnerSimulator.forApp(t.app, { systemId: 's_bbbbbbbbbbbb' });
    expect((await simB.requestJob(second.token)).statusCode).toBe(204); // B now holds a queue value
    await createPipeline(t, project, 'stages: [a, b]\none:\n  stage: a\n  script: x\ntwo:\n  stage: b\n  script: y\n');
    const job = decodeJobResponse(await simA.requestJob(first.token));
    const cached = await simB.requestJob(second.token); // the pipeline's creation changed the value, but stage b is not queued yet
    expect(cached.statusCode).toBe(204);
    expect((await simB.requestJob(second.token)).statusCode).toBe(204);
    expect((await simA.updateJob(job.id, job.token, { state: 'success' })).statusCode).toBe(200);
    const woken = await simB.requestJob(second.token);
    expect(decodeJobResponse(woken).job_info.name).toBe('two');
  });

  it('heartbeats the runner and its manager', async () => {
    const { sim, job, runnerId } = await runningJob();
    const old = new Date(Date.now() - 3 * 60 * 60 * 1000);
    await t.ctx.prisma.runner.update({ where: { id: runnerId }, data: { contacted_at: old } });
    await t.ctx.prisma.runnerManager.updateMany({ where: { runner_id: runnerId }, data: { contacted_at: old } });
    expect((await sim.patchTrace(job.id, job.token, Buffer.from('x'), 0)).statusCode).toBe(202);
    const runner = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runnerId }, include: { managers: true } });
    expect(runner.contacted_at!.getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(runner.managers[0]!.contacted_at!.getTime()).toBeGreaterThan(Date.now() - 10_000);
    const shown = await t.api({ method: 'GET', url: `/api/v4/runners/${runnerId}` });
    expect(shown.json().status).toBe('online');
  });
});

describe('PATCH /jobs/:id/trace', () => {
  it('needs Content-Range (400) and a valid job token (403)', async () => {
    const { job } = await runningJob();
    const noRange = await t.api({
      method: 'PATCH',
      url: `/api/v4/jobs/${job.id}/trace`,
      headers: { 'job-token': job.token, 'content-type': 'text/plain' },
      payload: 'abc',
      token: null,
    });
    expect(noRange.statusCode).toBe(400);
    expect(noRange.json()).toEqual({ message: '400 Missing header Content-Range' });
    const wrongToken = await t.api({
      method: 'PATCH',
      url: `/api/v4/jobs/${job.id}/trace`,
      headers: { 'job-token': 'glcbt-nope', 'content-type': 'text/plain', 'content-range': '0-2' },
      payload: 'abc',
      token: null,
    });
    expect(wrongToken.statusCode).toBe(403);
  });

  it('keeps bytes exactly, including invalid UTF-8, across chunks', async () => {
    const { sim, job, project } = await runningJob();
    const a = Buffer.from([0x68, 0x69, 0xff, 0xfe]);
    const b = Buffer.from('\u00e9\n', 'utf8');
    expect((await sim.patchTrace(job.id, job.token, a, 0)).statusCode).toBe(202);
    expect((await sim.patchTrace(job.id, job.token, b, a.length)).headers.range).toBe(`0-${a.length + b.length}`);
    const stored = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(Buffer.from(stored.trace!).equals(Buffer.concat([a, b]))).toBe(true);
    const res = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}/jobs/${job.id}/trace` });
    expect(res.rawPayload.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('appends the raw body whatever its Content-Type (curl --data sends a form type)', async () => {
    const { job, project } = await runningJob();
    // GitLab's lib/api/ci/runner.rb appends `request.body.read`: the body is log text, never parameters.
    const chunks: [string | undefined, string][] = [
      ['application/x-www-form-urlencoded', 'step=1&name=build%20ok\n'],
      ['application/json', '{"a":[1,2]}\n'],
      ['multipart/form-data; boundary=xyz', '--xyz\r\nnot really multipart\n'],
      ['application/xml', '<log>\u00e9</log>\n'],
      [undefined, 'no content type\n'],
    ];
    let offset = 0;
    for (const [type, text] of chunks) {
      const bytes = Buffer.from(text, 'utf8');
      const res = await t.api({
        method: 'PATCH',
        url: `/api/v4/jobs/${job.id}/trace`,
        headers: { 'job-token': job.token, 'content-range': `${offset}-${offset + bytes.length - 1}`, ...(type ? { 'content-type': type } : {}) },
        payload: bytes,
        token: null,
      });
      expect({ type, status: res.statusCode, range: res.headers.range }).toEqual({ type, status: 202, range: `0-${offset + bytes.length}` });
      offset += bytes.length;
    }
    const log = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}/jobs/${job.id}/trace` });
    expect(log.body).toBe(chunks.map(([, text]) => text).join(''));
  });

  it('drops the job when the log outgrows the size limit', async () => {
    const small = await createTestApp({ JOB_TRACE_SIZE_LIMIT: '16' });
    try {
      const { sim, job, pipelineId } = await runningJob(singleJob(), small);
      expect((await sim.patchTrace(job.id, job.token, Buffer.from('0123456789'), 0)).statusCode).toBe(202);
      const over = await sim.patchTrace(job.id, job.token, Buffer.from('0123456789'), 10);
      expect(over.statusCode).toBe(403);
      expect(over.headers['job-status']).toBe('failed');
      const [stored] = await jobsOf(small, pipelineId);
      expect(stored).toMatchObject({ status: 'failed', failure_reason: 'trace_size_exceeded' });
      expect(Buffer.from(stored!.trace!).toString()).toBe('0123456789');
      expect((await small.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })).status).toBe('failed');
      const late = await sim.updateJob(job.id, job.token, { state: 'success' });
      expect(late.statusCode).toBe(403);
      expect(late.headers['job-status']).toBe('failed');
    } finally {
      await small.close();
    }
  });
});

describe('the runner manager’s address', () => {
  it('after a job update from another address, the next poll writes the polling address again', async () => {
    const project = await t.fx.project({ namespace: group });
    const { token } = await t.fx.runner({ projects: [project] });
    const poll = () =>
      t.app.inject({
        method: 'POST', url: '/api/v4/jobs/request', remoteAddress: '192.0.2.20',
        payload: { token, system_id: 's_address0001', info: { version: '18.6.0' } },
      });
    await createPipeline(t, project, singleJob());
    const first = await poll();
    expect(first.statusCode).toBe(201);
    const job = first.json() as { id: number; token: string };
    // The job's update comes from another address (127.0.0.1, inject's default) and is written as the manager's.
    expect((await RunnerSimulator.forApp(t.app).updateJob(job.id, job.token, { state: 'success' })).statusCode).toBe(200);
    const address = async () => (await t.ctx.pool.query(`SELECT ip_address FROM runner_managers WHERE system_xid = 's_address0001'`)).rows[0]?.ip_address;
    expect(await address()).toBe('127.0.0.1');
    await createPipeline(t, project, singleJob());
    expect((await poll()).statusCode).toBe(201);
    await runnerCache(t.ctx).heartbeats.flush();
    expect(await address()).toBe('192.0.2.20');
  });
});
