import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, jobsOf, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, RunnerSimulator } from '../helpers/runner-simulator.js';

// Which runner gets which job (GitLab's app/services/ci/register_job_service.rb).

let t: TestApp;
let group: Namespace;

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group();
});
afterAll(async () => {
  await t?.close();
});

/**
 * A project whose jobs instance runners do not take unless asked, so the
 * instance-runner tests see only their own jobs.
 */
const project = (opts: { namespace?: Namespace; shared?: boolean; groupRunners?: boolean } = {}) =>
  t.fx.project({ namespace: opts.namespace ?? group, sharedRunnersEnabled: opts.shared ?? false, groupRunnersEnabled: opts.groupRunners ?? true });

/** Polls once; the job name handed out, or null on 204. */
async function poll(token: string, sim = RunnerSimulator.forApp(t.app)): Promise<string | null> {
  const res = await sim.requestJob(token);
  if (res.statusCode === 204) return null;
  return decodeJobResponse(res).job_info.name;
}

describe('tags', () => {
  it('gives a tagged job only to a runner that has all its tags', async () => {
    const p = await project();
    const linuxOnly = await t.fx.runner({ projects: [p], tags: ['linux'] });
    const both = await t.fx.runner({ projects: [p], tags: ['docker', 'linux', 'x86'] });
    await createPipeline(t, p, singleJob('tagged', { tags: ['docker', 'linux'] }));
    expect(await poll(linuxOnly.token)).toBeNull();
    expect(await poll(both.token)).toBe('tagged');
  });

  it('gives an untagged job only to runners that run untagged jobs', async () => {
    const p = await project();
    const taggedOnly = await t.fx.runner({ projects: [p], tags: ['docker'], runUntagged: false });
    const any = await t.fx.runner({ projects: [p], tags: ['docker'], runUntagged: true });
    await createPipeline(t, p, singleJob('untagged'));
    expect(await poll(taggedOnly.token)).toBeNull();
    expect(await poll(any.token)).toBe('untagged');
  });
});

describe('protected refs', () => {
  it('lets a ref_protected runner take only jobs of protected refs', async () => {
    const p = await project();
    const protectedOnly = await t.fx.runner({ projects: [p], accessLevel: 1 });
    await createPipeline(t, p, singleJob('feature'), { ref: 'feature/x' });
    expect(await poll(protectedOnly.token)).toBeNull();
    await createPipeline(t, p, singleJob('main'), { ref: 'main' });
    expect(await poll(protectedOnly.token)).toBe('main');
    const unprotected = await t.fx.runner({ projects: [p] });
    expect(await poll(unprotected.token)).toBe('feature');
  });
});

describe('runner types', () => {
  it('gives a paused runner nothing', async () => {
    const p = await project();
    const paused = await t.fx.runner({ projects: [p], active: false });
    const pipeline = await createPipeline(t, p, singleJob());
    expect(await poll(paused.token)).toBeNull();
    expect((await jobsOf(t, pipeline.id))[0]!.status).toBe('pending');
  });

  it('gives a locked project runner the jobs of its projects and no others', async () => {
    const mine = await project();
    const other = await project();
    const second = await project();
    const locked = await t.fx.runner({ projects: [mine, second], locked: true });
    await createPipeline(t, other, singleJob('elsewhere'));
    expect(await poll(locked.token)).toBeNull();
    await createPipeline(t, second, singleJob('assigned'));
    expect(await poll(locked.token)).toBe('assigned');
  });

  it('gives a group runner the jobs of its group and subgroups that allow group runners', async () => {
    const parent = await t.fx.group();
    const child = await t.fx.group({ parent });
    const sibling = await t.fx.group();
    const groupRunner = await t.fx.runner({ group: parent });
    const childRunner = await t.fx.runner({ group: child });

    await createPipeline(t, await project({ namespace: sibling }), singleJob('sibling'));
    await createPipeline(t, await project({ namespace: child, groupRunners: false }), singleJob('opted-out'));
    expect(await poll(groupRunner.token)).toBeNull();

    await createPipeline(t, await project({ namespace: parent }), singleJob('in-parent'));
    expect(await poll(childRunner.token)).toBeNull(); // a subgroup runner does not reach up
    expect(await poll(groupRunner.token)).toBe('in-parent');
    await createPipeline(t, await project({ namespace: child }), singleJob('in-child'));
    expect(await poll(groupRunner.token)).toBe('in-child');
  });

  it('gives an instance runner only jobs of projects with shared runners enabled', async () => {
    const disabled = await project({ shared: false });
    const enabled = await project({ shared: true });
    const instance = await t.fx.runner({ type: 'instance_type' });
    await createPipeline(t, disabled, singleJob('private-runners-only'));
    expect(await poll(instance.token)).toBeNull();
    await createPipeline(t, enabled, singleJob('shared-ok'));
    const res = await RunnerSimulator.forApp(t.app).requestJob(instance.token);
    const job = decodeJobResponse(res);
    expect(job.job_info.name).toBe('shared-ok');
    // For instance runners the count is a bucket string, never a number.
    expect(job.job_info.project_jobs_running_on_instance_runners_count).toBe('0');
  });
});

describe('queue order and pre-assign checks', () => {
  it('hands out the oldest pending job first', async () => {
    const p = await project();
    const runner = await t.fx.runner({ projects: [p] });
    await createPipeline(t, p, singleJob('older'));
    await createPipeline(t, p, singleJob('newer'));
    expect(await poll(runner.token)).toBe('older');
    expect(await poll(runner.token)).toBe('newer');
    expect(await poll(runner.token)).toBeNull();
  });

  it('drops a job of an archived project instead of running it', async () => {
    const p = await project();
    const runner = await t.fx.runner({ projects: [p] });
    const pipeline = await createPipeline(t, p, singleJob());
    await t.ctx.prisma.project.update({ where: { id: p.id }, data: { archived: true } });
    expect(await poll(runner.token)).toBeNull();
    expect((await jobsOf(t, pipeline.id))[0]).toMatchObject({ status: 'failed', failure_reason: 'archived_failure', runner_id: null });
  });
});

describe('concurrency', () => {
  it('hands every job to exactly one of many runners polling at once', async () => {
    const p: Project = await project();
    const JOBS = 24;
    const RUNNERS = 8;
    const content = Array.from({ length: JOBS }, (_, i) => `job-${i}:\n  script: echo ${i}\n`).join('');
    const pipeline = await createPipeline(t, p, content);
    const runners = await Promise.all(Array.from({ length: RUNNERS }, () => t.fx.runner({ projects: [p] })));

    const taken = new Map<number, number[]>();
    await Promise.all(
      runners.map(async ({ runner, token }, i) => {
        const sim = RunnerSimulator.forApp(t.app, { systemId: `s_${String(i).padStart(12, '0')}` });
        const mine: number[] = [];
        for (;;) {
          const res = await sim.requestJob(token);
          if (res.statusCode === 204) break;
          mine.push(decodeJobResponse(res).id);
        }
        taken.set(runner.id, mine);
      }),
    );
    const all = [...taken.values()].flat();
    expect(all).toHaveLength(JOBS);
    expect(new Set(all).size).toBe(JOBS);
    const jobs = await jobsOf(t, pipeline.id);
    expect(jobs.every((j) => j.status === 'running')).toBe(true);
    for (const [runnerId, ids] of taken) {
      for (const id of ids) expect(jobs.find((j) => j.id === id)!.runner_id).toBe(runnerId);
    }
    // More than one runner got work: the jobs were really contended for.
    expect([...taken.values()].filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
  });
});
