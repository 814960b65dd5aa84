import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { AccessLevel } from '../../src/policies/access-levels.js';
import { protectDefaultBranch } from '../../src/services/pipelines/protected-branches-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, jobsOf, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, RunnerSimulator, traceChecksum } from '../helpers/runner-simulator.js';

let t: TestApp;
let group: Namespace;
let project: Project;

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group();
  project = await t.fx.project({ namespace: group });
});
afterAll(async () => {
  await t?.close();
});

const THREE_STAGES = `
stages: [build, test, deploy]
compile:
  stage: build
  script: make
unit:
  stage: test
  script: make test
lint:
  stage: test
  script: make lint
  allow_failure: true
ship:
  stage: deploy
  script: make deploy
`;

/** A member of `project` with the given role and an api-scoped token. */
async function member(level: number) {
  const { user, token } = await t.fx.user();
  await t.fx.projectMember(project, user, level);
  return token;
}

/** A project runner that takes and finishes the project's jobs. */
async function projectRunner(p: Project) {
  const { token } = await t.fx.runner({ projects: [p] });
  const sim = RunnerSimulator.forApp(t.app);
  return {
    async take() {
      const job = decodeJobResponse(await sim.requestJob(token));
      return job as { id: number; token: string; job_info: { name: string } };
    },
    async finish(job: { id: number; token: string }, state: 'success' | 'failed') {
      const res = await sim.updateJob(job.id, job.token, {
        state,
        ...(state === 'failed' ? { failureReason: 'script_failure', exitCode: 1 } : {}),
        output: { checksum: traceChecksum(Buffer.alloc(0)) },
      });
      expect(res.statusCode).toBe(200);
    },
    poll: () => sim.requestJob(token),
  };
}

describe('POST /projects/:id/pipeline', () => {
  it('creates a pipeline in GitLab Pipeline shape, queues the first stage and holds the others', async () => {
    const res = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/pipeline`, payload: { ref: 'main', content: THREE_STAGES } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body)).toEqual([
      'id', 'iid', 'project_id', 'sha', 'ref', 'status', 'source', 'created_at', 'updated_at', 'web_url',
      'before_sha', 'tag', 'yaml_errors', 'user', 'started_at', 'finished_at', 'committed_at', 'duration',
      'queued_duration', 'coverage', 'detailed_status',
    ]);
    expect(body).toMatchObject({
      project_id: project.id,
      ref: 'main',
      status: 'pending',
      source: 'api',
      tag: false,
      yaml_errors: null,
      before_sha: '0'.repeat(40),
      web_url: `http://gitlab.test/${project.path_with_namespace}/-/pipelines/${body.id}`,
      user: { username: 'root' },
      started_at: null,
      detailed_status: { group: 'pending', label: 'pending' },
    });
    expect(body.sha).toMatch(/^[0-9a-f]{40}$/);

    const jobs = await jobsOf(t, body.id);
    expect(jobs.map((j) => [j.name, j.stage, j.status])).toEqual([
      ['compile', 'build', 'pending'],
      ['unit', 'test', 'created'],
      ['lint', 'test', 'created'],
      ['ship', 'deploy', 'created'],
    ]);
    expect(jobs[0]!.queued_at).toBeInstanceOf(Date);
    expect(jobs[1]!.queued_at).toBeNull();
    expect(jobs.every((j) => j.protected)).toBe(true); // main is protected from the start
  });

  it('numbers pipelines per project (iid) and marks refs that are not protected', async () => {
    const other = await t.fx.project({ namespace: group });
    const first = await createPipeline(t, other, singleJob(), { ref: 'feature/x' });
    const second = await createPipeline(t, other, singleJob());
    expect([first.iid, second.iid]).toEqual([1, 2]);
    const [p1, p2] = await Promise.all([first.id, second.id].map((id) => t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id } })));
    expect([p1!.protected, p2!.protected]).toEqual([false, true]);
  });

  it('accepts a url-encoded body, as curl --data-urlencode sends it', async () => {
    const res = await t.api({
      method: 'POST',
      url: `/api/v4/projects/${encodeURIComponent(project.path_with_namespace)}/pipeline`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `ref=main&content=${encodeURIComponent('job:\n  script: echo form\n')}&variables[][key]=A&variables[][value]=1`,
    });
    expect(res.statusCode).toBe(201);
    const pipeline = await t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(pipeline.config).toMatchObject({ pipeline_variables: [{ key: 'A', value: '1' }] });
  });

  it('rejects invalid YAML and unsupported keywords with 400 {"message":{"base":[…]}} and creates nothing', async () => {
    const before = await t.ctx.prisma.pipeline.count();
    const bad = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/pipeline`, payload: { ref: 'main', content: 'job: [' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message.base[0]).toMatch(/^\(<unknown>\): /);
    const unsupported = await t.api({
      method: 'POST',
      url: `/api/v4/projects/${project.id}/pipeline`,
      payload: { ref: 'main', content: 'job:\n  script: x\n  needs: [other]\n' },
    });
    expect(unsupported.statusCode).toBe(400);
    expect(unsupported.json()).toEqual({ message: { base: ['jobs:job config contains keys this server does not support: needs'] } });
    expect(await t.ctx.prisma.pipeline.count()).toBe(before);
  });

  it('answers Grape errors for missing parameters', async () => {
    const noContent = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/pipeline`, payload: { ref: 'main' } });
    expect(noContent.statusCode).toBe(400);
    expect(noContent.json()).toEqual({ error: 'content is missing' });
    const noRef = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/pipeline`, payload: { content: singleJob() } });
    expect(noRef.json()).toEqual({ error: 'ref is missing' });
    const emptyRef = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/pipeline`, payload: { ref: '', content: singleJob() } });
    expect(emptyRef.statusCode).toBe(400);
    expect(emptyRef.json()).toEqual({ message: { base: ['Reference not found'] } });
  });

  it('needs Developer: Reporter gets 403, a non-member of a private project 404, anonymous 401', async () => {
    const developer = await member(AccessLevel.DEVELOPER);
    const reporter = await member(AccessLevel.REPORTER);
    const { token: stranger } = await t.fx.user();
    const url = `/api/v4/projects/${project.id}/pipeline`;
    const payload = { ref: 'main', content: singleJob() };
    expect((await t.api({ method: 'POST', url, payload, token: developer })).statusCode).toBe(201);
    const forbidden = await t.api({ method: 'POST', url, payload, token: reporter });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toEqual({ message: '403 Forbidden' });
    const hidden = await t.api({ method: 'POST', url, payload, token: stranger });
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json()).toEqual({ message: '404 Project Not Found' });
    expect((await t.api({ method: 'POST', url, payload, token: null })).statusCode).toBe(401);
  });
});

describe('pipeline processing', () => {
  it('queues the next stage when a stage succeeds, and lets an allowed failure pass with warnings', async () => {
    const p = await t.fx.project({ namespace: group });
    const runner = await projectRunner(p);
    const pipeline = await createPipeline(t, p, THREE_STAGES);

    await runner.finish(await runner.take(), 'success'); // compile
    let jobs = await jobsOf(t, pipeline.id);
    expect(jobs.map((j) => j.status)).toEqual(['success', 'pending', 'pending', 'created']);

    const unit = await runner.take();
    const lint = await runner.take();
    expect([unit.job_info.name, lint.job_info.name]).toEqual(['unit', 'lint']);
    expect((await t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: pipeline.id } })).status).toBe('running');
    await runner.finish(lint, 'failed');
    jobs = await jobsOf(t, pipeline.id);
    expect(jobs.map((j) => j.status)).toEqual(['success', 'running', 'failed', 'created']); // stage not complete yet
    await runner.finish(unit, 'success');
    jobs = await jobsOf(t, pipeline.id);
    expect(jobs.map((j) => j.status)).toEqual(['success', 'success', 'failed', 'pending']);

    await runner.finish(await runner.take(), 'success'); // ship
    const res = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/pipelines/${pipeline.id}` });
    expect(res.json()).toMatchObject({
      status: 'success',
      detailed_status: { group: 'success-with-warnings', label: 'passed with warnings' },
    });
    expect(res.json().finished_at).not.toBeNull();
    expect(res.json().duration).toEqual(expect.any(Number));
  });

  it('skips the later stages after a failure and fails the pipeline', async () => {
    const p = await t.fx.project({ namespace: group });
    const runner = await projectRunner(p);
    const pipeline = await createPipeline(t, p, THREE_STAGES);
    await runner.finish(await runner.take(), 'failed');
    const jobs = await jobsOf(t, pipeline.id);
    expect(jobs.map((j) => j.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
    expect(jobs[0]).toMatchObject({ failure_reason: 'script_failure', exit_code: 1 });
    const stored = await t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: pipeline.id } });
    expect(stored.status).toBe('failed');
    expect(stored.finished_at).toBeInstanceOf(Date);
    expect((await runner.poll()).statusCode).toBe(204);
  });
});

describe('GET pipelines and jobs', () => {
  it('shows a pipeline to a Reporter and a Guest (GitLab\'s default "Public pipelines"), hides another project pipeline with 404', async () => {
    const pipeline = await createPipeline(t, project, singleJob());
    const reporter = await member(AccessLevel.REPORTER);
    const guest = await member(AccessLevel.GUEST);
    const url = `/api/v4/projects/${project.id}/pipelines/${pipeline.id}`;
    const shown = await t.api({ method: 'GET', url, token: reporter });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ id: pipeline.id, iid: pipeline.iid, status: 'pending' });
    expect((await t.api({ method: 'GET', url, token: guest })).statusCode).toBe(200);
    expect((await t.api({ method: 'GET', url, token: (await t.fx.user()).token })).json()).toEqual({ message: '404 Project Not Found' });

    const other = await t.fx.project({ namespace: group });
    const elsewhere = await t.api({ method: 'GET', url: `/api/v4/projects/${other.id}/pipelines/${pipeline.id}` });
    expect(elsewhere.statusCode).toBe(404);
    expect(elsewhere.json()).toEqual({ message: '404 Not found' });
  });

  it('lists pipelines newest first with PipelineBasic items and filters by status and ref', async () => {
    const p = await t.fx.project({ namespace: group });
    const a = await createPipeline(t, p, singleJob(), { ref: 'main' });
    const b = await createPipeline(t, p, singleJob(), { ref: 'dev' });
    const all = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/pipelines` });
    expect(all.statusCode).toBe(200);
    expect(all.headers['x-total']).toBe('2');
    expect(all.json().map((x: { id: number }) => x.id)).toEqual([b.id, a.id]);
    expect(Object.keys(all.json()[0])).toEqual(['id', 'iid', 'project_id', 'sha', 'ref', 'status', 'source', 'created_at', 'updated_at', 'web_url']);
    const dev = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/pipelines?ref=dev&status=pending` });
    expect(dev.json().map((x: { id: number }) => x.id)).toEqual([b.id]);
    const bad = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/pipelines?status=bogus` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'status does not have a valid value' });
  });

  it('lists jobs in GitLab Job shape, newest first, without counting, filtered by scope', async () => {
    const p = await t.fx.project({ namespace: group });
    const runner = await projectRunner(p);
    const pipeline = await createPipeline(t, p, THREE_STAGES);
    const taken = await runner.take();

    const res = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/jobs?per_page=2` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-total']).toBeUndefined();
    expect(res.headers['x-next-page']).toBe('2');
    const items = res.json();
    expect(items.map((j: { name: string }) => j.name)).toEqual(['ship', 'lint']);
    expect(Object.keys(items[0])).toEqual([
      'id', 'status', 'stage', 'name', 'ref', 'tag', 'coverage', 'allow_failure', 'created_at', 'started_at', 'finished_at',
      'erased_at', 'duration', 'queued_duration', 'user', 'commit', 'pipeline', 'web_url', 'project', 'artifacts', 'runner',
      'runner_manager', 'artifacts_expire_at', 'archived', 'tag_list',
    ]);

    const running = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/jobs?scope[]=running&scope[]=success` });
    expect(running.json()).toHaveLength(1);
    expect(running.json()[0]).toMatchObject({
      id: taken.id,
      status: 'running',
      pipeline: { id: pipeline.id, status: 'running' },
      runner: { runner_type: 'project_type', job_execution_status: 'active' },
      runner_manager: { system_id: 's_0123456789ab', version: '19.4.0', job_execution_status: 'active' },
    });
    const single = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/jobs?scope=created` });
    expect(single.json().map((j: { name: string }) => j.name)).toEqual(['ship', 'lint', 'unit']);
    const invalid = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/jobs?scope=bogus` });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({ error: 'scope does not have a valid value' });

    const pipelineJobs = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/pipelines/${pipeline.id}/jobs` });
    expect(pipelineJobs.headers['x-total']).toBe('4');
  });

  it('shows one job and its log, and answers 404 "Not found" for a job of another project', async () => {
    const p = await t.fx.project({ namespace: group });
    const runner = await projectRunner(p);
    await createPipeline(t, p, singleJob());
    const job = await runner.take();
    const sim = RunnerSimulator.forApp(t.app);
    await sim.patchTrace(job.id, job.token, Buffer.from('line one\nline two\n'), 0);

    const res = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/jobs/${job.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: job.id, name: 'job', status: 'running', web_url: `http://gitlab.test/${p.path_with_namespace}/-/jobs/${job.id}` });

    const trace = await t.api({ method: 'GET', url: `/api/v4/projects/${p.id}/jobs/${job.id}/trace` });
    expect(trace.statusCode).toBe(200);
    expect(trace.headers['content-type']).toMatch(/^text\/plain/);
    expect(trace.headers['content-disposition']).toBe(`infile; filename="${job.id}.log"`);
    expect(trace.body).toBe('line one\nline two\n');
    // Someone watches the log now: the runner is asked to send it every 3 s.
    const next = await sim.patchTrace(job.id, job.token, Buffer.from('line three\n'), 18);
    expect(next.headers['x-gitlab-trace-update-interval']).toBe('3');

    const elsewhere = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}/jobs/${job.id}` });
    expect(elsewhere.statusCode).toBe(404);
    expect(elsewhere.json()).toEqual({ message: '404 Not found' });
    const guest = await member(AccessLevel.GUEST);
    expect((await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}/jobs`, token: guest })).statusCode).toBe(200);
  });
});

describe('protected branches', () => {
  it('starts with the default branch protected, and protects, lists and unprotects branches (Maintainer+)', async () => {
    const p = await t.fx.project({ namespace: group });
    const url = `/api/v4/projects/${p.id}/protected_branches`;
    const initial = await t.api({ method: 'GET', url });
    expect(initial.statusCode).toBe(200);
    expect(initial.json()).toEqual([
      {
        id: expect.any(Number),
        name: 'main',
        push_access_levels: [{ id: expect.any(Number), access_level: 40, access_level_description: 'Maintainers', deploy_key_id: null, user_id: null, group_id: null }],
        merge_access_levels: [{ id: expect.any(Number), access_level: 40, access_level_description: 'Maintainers', deploy_key_id: null, user_id: null, group_id: null }],
        allow_force_push: false,
        code_owner_approval_required: false,
      },
    ]);

    const created = await t.api({ method: 'POST', url, payload: { name: 'release/*', push_access_level: 40 } });
    expect(created.statusCode).toBe(201);
    expect(created.json().name).toBe('release/*');
    const duplicate = await t.api({ method: 'POST', url, payload: { name: 'release/*' } });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toEqual({ message: "Protected branch 'release/*' already exists" });

    // A wildcard protects every matching ref.
    const release = await createPipeline(t, p, singleJob(), { ref: 'release/1.0' });
    expect((await jobsOf(t, release.id))[0]!.protected).toBe(true);

    const one = await t.api({ method: 'GET', url: `${url}/${encodeURIComponent('release/*')}` });
    expect(one.json().name).toBe('release/*');
    expect((await t.api({ method: 'DELETE', url: `${url}/${encodeURIComponent('release/*')}` })).statusCode).toBe(204);
    const gone = await t.api({ method: 'DELETE', url: `${url}/${encodeURIComponent('release/*')}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toEqual({ message: '404 Not found' });
    const afterwards = await createPipeline(t, p, singleJob(), { ref: 'release/1.1' });
    expect((await jobsOf(t, afterwards.id))[0]!.protected).toBe(false);
  });

  it('refuses Developers with 403', async () => {
    const developer = await member(AccessLevel.DEVELOPER);
    const res = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/protected_branches`, payload: { name: 'x' }, token: developer });
    expect(res.statusCode).toBe(403);
    expect((await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}/protected_branches`, token: developer })).statusCode).toBe(403);
  });

  it('protects the default branch of a project created through the API', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'made-by-api', namespace_id: group.id } });
    expect(res.statusCode).toBe(201);
    const branches = await t.api({ method: 'GET', url: `/api/v4/projects/${res.json().id}/protected_branches` });
    expect(branches.json().map((b: { name: string }) => b.name)).toEqual([res.json().default_branch ?? 'main']);
  });

  it('protectDefaultBranch is idempotent, for project creation to call', async () => {
    const p = await t.fx.project({ namespace: group });
    await protectDefaultBranch(t.ctx, undefined, p.id, 'main');
    await protectDefaultBranch(t.ctx, t.ctx.prisma, p.id, 'develop');
    const names = (await t.ctx.prisma.protectedBranch.findMany({ where: { project_id: p.id }, orderBy: { id: 'asc' } })).map((b) => b.name);
    expect(names).toEqual(['main', 'develop']);
  });
});
