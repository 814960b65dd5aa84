import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { jobsMayBeAvailable } from '../../src/services/runner-cache/runner-cache.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, jobsOf } from '../helpers/ci.js';
import { createTestDatabase } from '../helpers/database.js';
import { decodeJobResponse, RunnerSimulator } from '../helpers/runner-simulator.js';

// The job queue (ci_pending_builds, ci_running_builds, ci_instance_queues,
// kept in step with jobs by triggers): GitLab's matching and fair order, the
// copied facts following the project, any writer of a job's status, many
// runners at once, and the migration of jobs already pending.
//
// Instance runners take every shared project's jobs, so each test tags its
// jobs with a tag of its own and its runners take only that tag.

let t: TestApp;
let group: Namespace;

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group();
});
afterAll(async () => {
  await t?.close();
});

let tagSeq = 0;
const newTag = () => `q${++tagSeq}-${Date.now().toString(36)}`;

const project = (opts: { shared?: boolean; groupRunners?: boolean; namespace?: Namespace } = {}) =>
  t.fx.project({ namespace: opts.namespace ?? group, sharedRunnersEnabled: opts.shared ?? true, groupRunnersEnabled: opts.groupRunners ?? true });

/** Jobs named `names`, each with `tags`, in one pipeline (one stage: all pending at once). */
function jobs(names: string[], tags: string[]): string {
  return names.map((n) => `${n}:\n  script: echo ${n}\n  tags: ${JSON.stringify(tags)}\n`).join('');
}

interface Taken {
  id: number;
  name: string;
  token: string;
}

async function take(token: string, sim = RunnerSimulator.forApp(t.app)): Promise<Taken | null> {
  const res = await sim.requestJob(token);
  if (res.statusCode === 204) return null;
  const job = decodeJobResponse(res);
  return { id: job.id, name: job.job_info.name, token: job.token };
}

async function takeAll(token: string, max = 20): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < max; i++) {
    const job = await take(token);
    if (!job) break;
    names.push(job.name);
  }
  return names;
}

const instanceRunner = (tag: string, extra: { tags?: string[] } = {}) =>
  t.fx.runner({ type: 'instance_type', tags: extra.tags ?? [tag], runUntagged: false });

async function queueRows(projectIds: number[]) {
  const { rows } = await t.ctx.pool.query<{ project_id: number; instance_running: number; instance_head: number | null }>(
    'SELECT project_id, instance_running, instance_head FROM ci_instance_queues WHERE project_id = ANY($1::int[]) ORDER BY project_id',
    [projectIds],
  );
  return rows;
}

describe('fair order for instance runners', () => {
  it('gives the next job to the project with the fewest jobs running on instance runners, then the oldest', async () => {
    const tag = newTag();
    const a = await project();
    const b = await project();
    await createPipeline(t, a, jobs(['a1', 'a2', 'a3'], [tag]));
    await createPipeline(t, b, jobs(['b1'], [tag]));
    const { token } = await instanceRunner(tag);
    // a1: both at 0, a1 oldest. b1: b at 0 beats a at 1, though a2 is older.
    expect(await takeAll(token)).toEqual(['a1', 'b1', 'a2', 'a3']);
  });

  it('counts only jobs running on instance runners, not on project runners', async () => {
    const tag = newTag();
    const c = await project();
    const d = await project();
    await createPipeline(t, c, jobs(['c1', 'c2'], [tag]));
    await createPipeline(t, d, jobs(['d1'], [tag]));
    const projectRunner = await t.fx.runner({ projects: [c], tags: [tag], runUntagged: false });
    expect((await take(projectRunner.token))!.name).toBe('c1');
    const { token } = await instanceRunner(tag);
    expect(await takeAll(token)).toEqual(['c2', 'd1']);
  });

  it('takes the oldest job the runner can run at the fewest-running level, even when its project’s oldest job is not for it', async () => {
    const tag = newTag();
    const e = await project();
    const f = await project();
    await createPipeline(t, e, jobs(['e-gpu'], [tag, 'gpu']));
    await createPipeline(t, f, jobs(['f1'], [tag]));
    await createPipeline(t, e, jobs(['e2'], [tag]));
    const { token } = await instanceRunner(tag);
    // e's oldest job needs gpu: f1 is the oldest job this runner can take at level 0.
    expect(await takeAll(token)).toEqual(['f1', 'e2']);
    const gpu = await instanceRunner(tag, { tags: [tag, 'gpu'] });
    expect(await takeAll(gpu.token)).toEqual(['e-gpu']);
  });

  it('moves a project forward again when its job on an instance runner finishes', async () => {
    const tag = newTag();
    const a = await project();
    const b = await project();
    await createPipeline(t, b, jobs(['b1', 'b2'], [tag]));
    await createPipeline(t, a, jobs(['a1', 'a2'], [tag]));
    const { token } = await instanceRunner(tag);
    const sim = RunnerSimulator.forApp(t.app);
    expect((await take(token, sim))!.name).toBe('b1');
    const a1 = (await take(token, sim))!;
    expect(a1.name).toBe('a1');
    // Both projects have one job running; a1 finishing puts a back at 0, ahead of b's older job.
    expect((await sim.updateJob(a1.id, a1.token, { state: 'success' })).statusCode).toBe(200);
    expect(await takeAll(token)).toEqual(['a2', 'b2']);
    expect(await queueRows([a.id, b.id])).toEqual([
      { project_id: a.id, instance_running: 1, instance_head: null },
      { project_id: b.id, instance_running: 2, instance_head: null },
    ]);
  });
});

describe('facts copied into the queue follow the project', () => {
  it('an instance runner stops seeing a queued job when its project turns shared runners off, and sees it again when they are back on', async () => {
    const tag = newTag();
    const p = await project();
    await createPipeline(t, p, jobs(['shared-job'], [tag]));
    const { token } = await instanceRunner(tag);
    const put = (shared: boolean) => t.api({ method: 'PUT', url: `/api/v4/projects/${p.id}`, payload: { shared_runners_enabled: shared } });
    expect((await put(false)).statusCode).toBe(200);
    expect(await take(token)).toBeNull();
    expect((await put(true)).statusCode).toBe(200);
    expect((await take(token))!.name).toBe('shared-job');
  });

  it('a group runner stops seeing a queued job when its project turns group runners off', async () => {
    const tag = newTag();
    const g = await t.fx.group();
    const p = await project({ namespace: g, shared: false });
    await createPipeline(t, p, jobs(['group-job'], [tag]));
    const { token } = await t.fx.runner({ group: g, tags: [tag], runUntagged: false });
    expect((await t.api({ method: 'PUT', url: `/api/v4/projects/${p.id}`, payload: { group_runners_enabled: false } })).statusCode).toBe(200);
    expect(await take(token)).toBeNull();
    expect((await t.api({ method: 'PUT', url: `/api/v4/projects/${p.id}`, payload: { group_runners_enabled: true } })).statusCode).toBe(200);
    expect((await take(token))!.name).toBe('group-job');
  });

  it('protected and tagged jobs keep their rules in the queue: ref_protected runners take protected jobs only, tags must be a subset', async () => {
    const tag = newTag();
    const p = await project({ shared: false });
    await createPipeline(t, p, jobs(['unprotected'], [tag]), { ref: 'feature/x' });
    await createPipeline(t, p, jobs(['protected-docker'], [tag, 'docker']), { ref: 'main' });
    const protectedOnly = await t.fx.runner({ projects: [p], tags: [tag], runUntagged: false, accessLevel: 1 });
    const protectedDocker = await t.fx.runner({ projects: [p], tags: [tag, 'docker'], runUntagged: false, accessLevel: 1 });
    expect(await take(protectedOnly.token)).toBeNull();
    expect(await takeAll(protectedDocker.token)).toEqual(['protected-docker']);
    const any = await t.fx.runner({ projects: [p], tags: [tag], runUntagged: false });
    expect(await takeAll(any.token)).toEqual(['unprotected']);
  });
});

describe('locked and paused runners', () => {
  it('gives a paused instance runner nothing and leaves the job queued; a locked project runner still takes its own project’s jobs', async () => {
    const tag = newTag();
    const p = await project();
    const pipeline = await createPipeline(t, p, jobs(['wait'], [tag]));
    const paused = await t.fx.runner({ type: 'instance_type', tags: [tag], runUntagged: false, active: false });
    expect(await take(paused.token)).toBeNull();
    const { rows } = await t.ctx.pool.query('SELECT build_id FROM ci_pending_builds WHERE project_id = $1', [p.id]);
    expect(rows).toHaveLength(1);
    const locked = await t.fx.runner({ projects: [p], tags: [tag], runUntagged: false, locked: true });
    expect(await takeAll(locked.token)).toEqual(['wait']);
    expect((await jobsOf(t, pipeline.id))[0]).toMatchObject({ status: 'running', runner_id: locked.runner.id });
  });
});

describe('a runner changed in the database behind the runner cache', () => {
  it('is matched as stored: with fewer tags, paused or with a new token it gets no job it no longer may take', async () => {
    const tag = newTag();
    const p = await project({ shared: false });
    const runner = await t.fx.runner({ projects: [p], tags: [tag, 'gpu'], runUntagged: false });
    expect(await take(runner.token)).toBeNull(); // cached, with its tags
    await t.ctx.pool.query(`UPDATE runners SET tag_list = $2 WHERE id = $1`, [runner.runner.id, [tag]]);
    await createPipeline(t, p, jobs(['needs-gpu'], [tag, 'gpu']));
    expect(await take(runner.token)).toBeNull();
    await createPipeline(t, p, jobs(['plain'], [tag]));
    await t.ctx.pool.query(`UPDATE runners SET active = false WHERE id = $1`, [runner.runner.id]);
    expect(await take(runner.token)).toBeNull();
    // Unpausing is announced (the cache keeps a paused runner's answer until then); the token change is not.
    expect((await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.runner.id}`, payload: { paused: false } })).statusCode).toBe(200);
    expect(await take(runner.token)).not.toBeNull();
    await createPipeline(t, p, jobs(['plain'], [tag]));
    await t.ctx.pool.query(`UPDATE runners SET token_digest = 'changed' WHERE id = $1`, [runner.runner.id]);
    expect((await RunnerSimulator.forApp(t.app).requestJob(runner.token)).statusCode).toBe(403);
    await t.ctx.pool.query(`UPDATE runners SET token_digest = $2 WHERE id = $1`, [runner.runner.id, t.ctx.secrets.digest(runner.token)]);
    expect(await takeAll(runner.token)).toEqual(['plain']);
    const { rows } = await t.ctx.pool.query(`SELECT j.name FROM ci_pending_builds pb JOIN jobs j ON j.id = pb.build_id WHERE pb.project_id = $1`, [p.id]);
    expect(rows).toEqual([{ name: 'needs-gpu' }]);
  });
});

describe('any writer of a job’s status keeps the queue right', () => {
  it('a job canceled by a plain SQL update leaves the queue; one set back to pending re-enters it', async () => {
    const tag = newTag();
    const p = await project({ shared: false });
    const pipeline = await createPipeline(t, p, jobs(['flaky'], [tag]));
    const [job] = await jobsOf(t, pipeline.id);
    await t.ctx.pool.query(`UPDATE jobs SET status = 'canceled' WHERE id = $1`, [job!.id]);
    const { token } = await t.fx.runner({ projects: [p], tags: [tag], runUntagged: false });
    expect(await take(token)).toBeNull();
    await t.ctx.pool.query(`UPDATE jobs SET status = 'pending' WHERE id = $1`, [job!.id]);
    await jobsMayBeAvailable(t.ctx); // what a writer queuing a job announces (the runner cache remembered "nothing")
    expect((await take(token))!.name).toBe('flaky');
  });

  it('deleting a runner that runs a job keeps the project’s count until the job leaves running', async () => {
    const tag = newTag();
    const p = await project();
    const pipeline = await createPipeline(t, p, jobs(['long'], [tag]));
    const runner = await instanceRunner(tag);
    expect((await take(runner.token))!.name).toBe('long');
    await t.ctx.prisma.runner.delete({ where: { id: runner.runner.id } });
    expect(await queueRows([p.id])).toEqual([{ project_id: p.id, instance_running: 1, instance_head: null }]);
    await t.ctx.pool.query(`UPDATE jobs SET status = 'failed', failure_reason = 'runner_system_failure' WHERE pipeline_id = $1`, [pipeline.id]);
    expect(await queueRows([p.id])).toEqual([{ project_id: p.id, instance_running: 0, instance_head: null }]);
  });
});

describe('concurrency', () => {
  it('many instance runners polling at once over many projects: every job handed out once, the queue tables end empty and counted', async () => {
    const tag = newTag();
    const projects: Project[] = await Promise.all(Array.from({ length: 6 }, () => project()));
    for (const p of projects) await createPipeline(t, p, jobs(['j1', 'j2', 'j3', 'j4', 'j5'], [tag]));
    const runners = await Promise.all(Array.from({ length: 8 }, () => instanceRunner(tag)));
    const taken: number[] = [];
    await Promise.all(
      runners.map(async ({ token }, i) => {
        const sim = RunnerSimulator.forApp(t.app, { systemId: `s_${String(i).padStart(12, '0')}` });
        for (;;) {
          const job = await take(token, sim);
          if (!job) break;
          taken.push(job.id);
        }
      }),
    );
    expect(taken).toHaveLength(30);
    expect(new Set(taken).size).toBe(30);
    const ids = projects.map((p) => p.id);
    const pending = await t.ctx.pool.query('SELECT 1 FROM ci_pending_builds WHERE project_id = ANY($1::int[])', [ids]);
    expect(pending.rowCount).toBe(0);
    const running = await t.ctx.pool.query('SELECT 1 FROM ci_running_builds WHERE project_id = ANY($1::int[]) AND runner_type = 1', [ids]);
    expect(running.rowCount).toBe(30);
    expect((await queueRows(ids)).map((r) => [r.instance_running, r.instance_head])).toEqual(ids.map(() => [5, null]));
  });
});

describe('migration of jobs queued before the queue tables existed', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('copies pending jobs with their facts, running jobs with their runner type, and each project’s count and oldest job', async () => {
    const db = await createTestDatabase({ migrated: false });
    cleanups.push(db.drop);
    const before = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-before-queue-'));
    cleanups.push(async () => fs.rmSync(before, { recursive: true, force: true }));
    for (const name of fs.readdirSync(MIGRATIONS_DIR)) {
      if (name < '20261203100000') fs.cpSync(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    }
    await migrate(db.url, before);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`
        INSERT INTO namespaces (id, kind, name, path, full_path, traversal_ids) VALUES
          (10, 'group', 'top', 'top', 'top', '{10}'), (11, 'group', 'sub', 'sub', 'top/sub', '{10,11}');
        INSERT INTO projects (id, namespace_id, name, path, path_with_namespace, shared_runners_enabled, group_runners_enabled) VALUES
          (20, 11, 'web', 'web', 'top/sub/web', true, true),
          (21, 10, 'api', 'api', 'top/api', false, false);
        INSERT INTO runners (id, runner_type, token_digest) VALUES (30, 1, 'd30'), (31, 3, 'd31');
        INSERT INTO pipelines (id, iid, project_id, ref, sha, before_sha) VALUES (40, 1, 20, 'main', 's', 'b'), (41, 1, 21, 'main', 's', 'b');
        INSERT INTO jobs (id, project_id, pipeline_id, name, stage, status, ref, protected, tag_list, runner_id) VALUES
          (50, 20, 40, 'pending-protected', 'test', 'pending', 'main', true, '{docker}', NULL),
          (51, 20, 40, 'pending-plain', 'test', 'pending', 'main', false, '{}', NULL),
          (52, 20, 40, 'running-instance', 'test', 'running', 'main', false, '{}', 30),
          (53, 21, 41, 'pending-private', 'test', 'pending', 'main', false, '{linux,x86}', NULL),
          (54, 21, 41, 'running-project', 'test', 'running', 'main', false, '{}', 31),
          (55, 21, 41, 'created', 'test', 'created', 'main', false, '{}', NULL),
          (56, 20, 40, 'done', 'test', 'success', 'main', false, '{}', 30);`);
      await migrate(db.url);
      const pending = await c.query(
        `SELECT build_id, project_id, protected, tag_list, namespace_id, namespace_traversal_ids, instance_runners_enabled FROM ci_pending_builds ORDER BY build_id`,
      );
      expect(pending.rows).toEqual([
        { build_id: 50, project_id: 20, protected: true, tag_list: ['docker'], namespace_id: 11, namespace_traversal_ids: [10, 11], instance_runners_enabled: true },
        { build_id: 51, project_id: 20, protected: false, tag_list: [], namespace_id: 11, namespace_traversal_ids: [10, 11], instance_runners_enabled: true },
        { build_id: 53, project_id: 21, protected: false, tag_list: ['linux', 'x86'], namespace_id: 10, namespace_traversal_ids: [], instance_runners_enabled: false },
      ]);
      const running = await c.query('SELECT build_id, project_id, runner_type FROM ci_running_builds ORDER BY build_id');
      expect(running.rows).toEqual([
        { build_id: 52, project_id: 20, runner_type: 1 },
        { build_id: 54, project_id: 21, runner_type: 3 },
      ]);
      const queues = await c.query('SELECT project_id, instance_running, instance_head FROM ci_instance_queues ORDER BY project_id');
      expect(queues.rows).toEqual([
        { project_id: 20, instance_running: 1, instance_head: 50 },
        { project_id: 21, instance_running: 0, instance_head: null },
      ]);
      // And the triggers carry on from there.
      await c.query(`UPDATE jobs SET status = 'running', runner_id = 30 WHERE id = 50`);
      const after = await c.query('SELECT project_id, instance_running, instance_head FROM ci_instance_queues WHERE project_id = 20');
      expect(after.rows).toEqual([{ project_id: 20, instance_running: 2, instance_head: 51 }]);
    } finally {
      await c.end();
    }
  });
});
