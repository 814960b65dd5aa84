import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace } from '../../src/generated/prisma/client.js';
import { openSessionConnection } from '../../src/db/session-connection.js';
import { runAsLeader } from '../../src/services/background/leader.js';
import { sweepStuckJobs } from '../../src/services/jobs/stuck-job-sweeper.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, RunnerSimulator } from '../helpers/runner-simulator.js';

// Jobs that cannot hang: the cancel API (pending → canceled, running →
// canceling → canceled as the runner acknowledges), the stuck-job sweeper
// (runner gone, job past its timeout, pending too long) and its one leader
// across instances, each driven with the runner protocol.

let t: TestApp;
let group: Namespace;
beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group();
});
afterAll(async () => t?.close());

async function pendingJob(content = singleJob()) {
  const project = await t.fx.project({ namespace: group });
  const { runner, token } = await t.fx.runner({ projects: [project] });
  const pipeline = await createPipeline(t, project, content);
  const sim = RunnerSimulator.forApp(t.app);
  const job = await t.ctx.prisma.job.findFirstOrThrow({ where: { pipeline_id: pipeline.id } });
  return { project, runner, token, pipeline, sim, jobId: job.id };
}

async function runningJob(content = singleJob()) {
  const p = await pendingJob(content);
  const job = decodeJobResponse(await p.sim.requestJob(p.token));
  expect((await p.sim.updateJob(job.id, job.token, { state: 'running' })).statusCode).toBe(200);
  return { ...p, job: job as { id: number; token: string } };
}

const status = async (jobId: number) => {
  const j = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
  return [j.status, j.failure_reason];
};
const pipelineStatus = async (id: number) => (await t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id } })).status;
const executionStatus = async (runnerId: number) =>
  (await t.api({ method: 'GET', url: `/api/v4/runners/${runnerId}` })).json<{ job_execution_status: string }>().job_execution_status;
const cancel = (projectId: number, jobId: number, token?: string) =>
  t.api({ method: 'POST', url: `/api/v4/projects/${projectId}/jobs/${jobId}/cancel`, token });

describe('POST /projects/:id/jobs/:job_id/cancel', () => {
  it('cancels a pending job at once: 201 with the job, pipeline canceled, no runner gets it', async () => {
    const p = await pendingJob();
    const res = await cancel(p.project.id, p.jobId);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: p.jobId, status: 'canceled' });
    expect(await status(p.jobId)).toEqual(['canceled', null]);
    expect(await pipelineStatus(p.pipeline.id)).toBe('canceled');
    expect((await p.sim.requestJob(p.token)).statusCode).toBe(204);
  });

  it('moves a running job to canceling; the runner reads Job-Status: canceling on PATCH and PUT, and its final PUT makes it canceled', async () => {
    const r = await runningJob();
    const res = await cancel(r.project.id, r.job.id);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'canceling' });
    expect(await executionStatus(r.runner.id)).toBe('active');

    const patch = await r.sim.patchTrace(r.job.id, r.job.token, Buffer.from('after_script output\n'), 0);
    expect([patch.statusCode, patch.headers['job-status']]).toEqual([202, 'canceling']);
    const touch = await r.sim.updateJob(r.job.id, r.job.token, { state: 'running' });
    expect([touch.statusCode, touch.headers['job-status']]).toEqual([200, 'canceling']);
    // gitlab-runner reports a gracefully canceled job as failed.
    const final = await r.sim.updateJob(r.job.id, r.job.token, { state: 'failed', failureReason: 'script_failure', exitCode: 1 });
    expect([final.statusCode, final.headers['job-status']]).toEqual([200, 'canceled']);
    expect(await status(r.job.id)).toEqual(['canceled', null]);
    expect(await pipelineStatus(r.pipeline.id)).toBe('canceled');
    expect(await executionStatus(r.runner.id)).toBe('idle');
    // Afterwards the job token no longer works, with the status for the runner.
    const late = await r.sim.updateJob(r.job.id, r.job.token, { state: 'running' });
    expect([late.statusCode, late.headers['job-status']]).toEqual([403, 'canceled']);
  });

  it('leaves a finished job as it is', async () => {
    const r = await runningJob();
    await r.sim.updateJob(r.job.id, r.job.token, { state: 'success' });
    const res = await cancel(r.project.id, r.job.id);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'success' });
  });

  it('needs Developer: Reporter 403, Developer 201, unknown job 404 as GET answers it', async () => {
    const p = await pendingJob();
    const reporter = await t.fx.user();
    const developer = await t.fx.user();
    await t.fx.projectMember(p.project, reporter.user, 20);
    await t.fx.projectMember(p.project, developer.user, 30);
    const refused = await cancel(p.project.id, p.jobId, reporter.token);
    expect([refused.statusCode, refused.json()]).toEqual([403, { message: '403 Forbidden' }]);
    expect(await status(p.jobId)).toEqual(['pending', null]);
    expect((await cancel(p.project.id, p.jobId, developer.token)).statusCode).toBe(201);
    expect((await cancel(p.project.id, 999_999_999, developer.token)).statusCode).toBe(404);
  });
});

describe('stuck-job sweeper', () => {
  it('fails a running job whose runner went silent for STUCK_JOB_TIMEOUT_SECONDS; the runner then reads Job-Status: failed', async () => {
    const r = await runningJob();
    const fresh = await runningJob();
    await t.ctx.pool.query(`UPDATE jobs SET updated_at = now() - interval '3601 seconds' WHERE id = $1`, [r.job.id]);
    await sweepStuckJobs(t.ctx);
    expect(await status(r.job.id)).toEqual(['failed', 'stuck_or_timeout_failure']);
    expect(await status(fresh.job.id)).toEqual(['running', null]);
    expect(await pipelineStatus(r.pipeline.id)).toBe('failed');
    expect(await executionStatus(r.runner.id)).toBe('idle');
    const put = await r.sim.updateJob(r.job.id, r.job.token, { state: 'success' });
    expect([put.statusCode, put.headers['job-status']]).toEqual([403, 'failed']);
    const patch = await r.sim.patchTrace(r.job.id, r.job.token, Buffer.from('late'), 0);
    expect([patch.statusCode, patch.headers['job-status']]).toEqual([403, 'failed']);
  });

  it('fails a running job past its own timeout with job_execution_timeout', async () => {
    const r = await runningJob(singleJob('job', { timeout: '10 minutes' }));
    expect((await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: r.job.id } })).timeout).toBe(600);
    await t.ctx.pool.query(`UPDATE jobs SET started_at = now() - interval '601 seconds' WHERE id = $1`, [r.job.id]);
    await sweepStuckJobs(t.ctx);
    expect(await status(r.job.id)).toEqual(['failed', 'job_execution_timeout']);
  });

  it('fails a job pending for more than 24 h with stuck_or_timeout_failure, and leaves a younger one', async () => {
    const old = await pendingJob();
    const young = await pendingJob();
    await t.ctx.pool.query(`UPDATE jobs SET queued_at = now() - interval '24 hours 1 second', created_at = now() - interval '25 hours' WHERE id = $1`, [old.jobId]);
    await t.ctx.pool.query(`UPDATE jobs SET queued_at = now() - interval '23 hours' WHERE id = $1`, [young.jobId]);
    await sweepStuckJobs(t.ctx);
    expect(await status(old.jobId)).toEqual(['failed', 'stuck_or_timeout_failure']);
    expect(await status(young.jobId)).toEqual(['pending', null]);
  });

  it('a canceling job whose runner went silent ends canceled', async () => {
    const r = await runningJob();
    await cancel(r.project.id, r.job.id);
    await t.ctx.pool.query(`UPDATE jobs SET updated_at = now() - interval '2 hours' WHERE id = $1`, [r.job.id]);
    await sweepStuckJobs(t.ctx);
    expect(await status(r.job.id)).toEqual(['canceled', null]);
  });

  it('runs in the background when JOB_SWEEP_INTERVAL_SECONDS is set', async () => {
    const swept = await createTestApp({ JOB_SWEEP_INTERVAL_SECONDS: '1', STUCK_JOB_TIMEOUT_SECONDS: '60' });
    try {
      const project = await swept.fx.project({ namespace: await swept.fx.group() });
      const { token } = await swept.fx.runner({ projects: [project] });
      await createPipeline(swept, project, singleJob());
      const sim = RunnerSimulator.forApp(swept.app);
      const job = decodeJobResponse(await sim.requestJob(token));
      await swept.ctx.pool.query(`UPDATE jobs SET updated_at = now() - interval '61 seconds' WHERE id = $1`, [job.id]);
      const deadline = Date.now() + 10_000;
      let seen = '';
      while (Date.now() < deadline && seen !== 'failed') {
        await new Promise((r) => setTimeout(r, 200));
        seen = (await swept.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status;
      }
      expect(seen).toBe('failed');
    } finally {
      await swept.close();
    }
  });
});

describe('runAsLeader', () => {
  it('runs the task on one instance at a time, and another takes over when the leader stops', async () => {
    const runs = { a: 0, b: 0 };
    const name = `leader-test-${Date.now()}`;
    const connect = () => openSessionConnection({ connectionString: t.dbUrl });
    const a = runAsLeader(name, 50, async () => void runs.a++, { connect });
    await new Promise((r) => setTimeout(r, 300));
    const b = runAsLeader(name, 50, async () => void runs.b++, { connect });
    await new Promise((r) => setTimeout(r, 400));
    expect(runs.a).toBeGreaterThan(0);
    expect(runs.b).toBe(0);
    await a.stop();
    const before = runs.a;
    const deadline = Date.now() + 5_000;
    while (runs.b === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(runs.b).toBeGreaterThan(0);
    expect(runs.a).toBe(before);
    await b.stop();
  });
});
