import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, jobsOf, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, decodeTokenResponse, DEFAULT_SYSTEM_ID, RunnerSimulator, traceChecksum } from '../helpers/runner-simulator.js';
import { FAILURE_REASONS } from '../../src/domain/failure-reasons.js';
import { GITLAB_VERSION } from '../../src/domain/gitlab-version.js';

// gitlab-runner's protocol (GitLab's lib/api/ci/runner.rb) end to end, over real HTTP with the requests
// gitlab-runner 19.4.0 sends, plus the details of jobs/request.

let t: TestApp;
let url: string;
let group: Namespace;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('server is not listening');
  url = `http://127.0.0.1:${address.port}`;
  group = await t.fx.group();
});
afterAll(async () => {
  await t?.close();
});

/** A runner created the way `gitlab-runner register --token glrt-…` expects: POST /user/runners. */
async function createRunner(project: Project, params: Record<string, unknown> = {}) {
  const res = await t.api({ method: 'POST', url: '/api/v4/user/runners', payload: { runner_type: 'project_type', project_id: project.id, ...params } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: number; token: string };
}

const variable = (job: { variables: { key: string; value: string }[] }, key: string) => job.variables.find((v) => v.key === key);

describe('gitlab-runner end to end', () => {
  it('registers, polls, runs a job with a streamed log, fails another, resets its token and unregisters', async () => {
    const project = await t.fx.project({ namespace: group });
    const { id: runnerId, token } = await createRunner(project, { description: 'e2e' });
    const sim = RunnerSimulator.forUrl(url);

    // Step 1/2: register --token glrt-… → verify.
    const verified = await sim.verify(token);
    expect(verified.statusCode).toBe(200);
    expect(decodeTokenResponse(verified).id).toBe(runnerId);

    // Step 3: poll with nothing queued → 204 with the queue value, which the runner sends back.
    const empty = await sim.requestJob(token);
    expect(empty.statusCode).toBe(204);
    expect(empty.body).toBe('');
    expect(empty.headers['x-gitlab-last-update']).toMatch(/^[0-9a-f]{32}$/);
    expect(sim.lastRequest!.headers).toMatchObject({ 'Runner-Token': token, Accept: 'application/json', 'Content-Type': 'application/json' });
    const firstValue = sim.lastUpdate;
    const cached = await sim.requestJob(token);
    expect(cached.statusCode).toBe(204);
    expect(JSON.parse(sim.lastRequest!.body as string).last_update).toBe(firstValue);
    expect(cached.headers['x-gitlab-last-update']).toBe(firstValue);

    // Polling heartbeats the runner and its manager and finishes the runner's creation.
    const stored = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runnerId }, include: { managers: true } });
    expect(stored.creation_state).toBe(100);
    expect(stored.contacted_at!.getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(stored.managers).toHaveLength(1);
    expect(stored.managers[0]).toMatchObject({ system_xid: DEFAULT_SYSTEM_ID, version: '19.4.0', executor_type: 'shell', ip_address: '127.0.0.1' });
    const shown = await t.api({ method: 'GET', url: `/api/v4/runners/${runnerId}` });
    expect(shown.json()).toMatchObject({ id: runnerId, status: 'online', online: true });
    const managers = await t.api({ method: 'GET', url: `/api/v4/runners/${runnerId}/managers` });
    expect(managers.json()).toEqual([expect.objectContaining({ system_id: DEFAULT_SYSTEM_ID, version: '19.4.0', status: 'online' })]);

    // A pipeline is created: the queue value changes and the next poll gets the job.
    const pipeline = await createPipeline(t, project, 'stages: [build, test]\nbuild:\n  stage: build\n  script: make\ntest:\n  stage: test\n  script: make test\n');
    const given = await sim.requestJob(token);
    const job = decodeJobResponse(given);
    expect(job).toMatchObject({ job_info: { name: 'build', pipeline_id: pipeline.id, project_id: project.id } });
    expect(job.token).toMatch(/^glcbt-/);

    // Step 4: accept.
    const accepted = await sim.updateJob(job.id, job.token, { state: 'running' });
    expect(sim.lastRequest!.headers).toMatchObject({ 'Job-Token': job.token, 'Content-Type': 'application/json' });
    expect(sim.lastRequest!.headers.Accept).toBeUndefined();
    expect(accepted.statusCode).toBe(200);
    expect(accepted.headers['job-status']).toBe('running');

    // Step 5: stream the log in chunks; a stale offset is answered 416 and the runner resyncs.
    const chunks = ['Running with gitlab-runner 19.4.0\n', '$ make\n', 'built ✓\n'].map((s) => Buffer.from(s));
    let sent = 0;
    const first = await sim.patchTrace(job.id, job.token, chunks[0]!, sent);
    expect(sim.lastRequest!.headers).toMatchObject({ 'Content-Type': 'text/plain', 'Content-Range': `0-${chunks[0]!.length - 1}` });
    expect(sim.lastRequest!.path).toBe(`/api/v4/jobs/${job.id}/trace?debug_trace=false`);
    expect(first.statusCode).toBe(202);
    expect(first.headers).toMatchObject({ 'job-status': 'running', range: `0-${chunks[0]!.length}`, 'x-gitlab-trace-update-interval': '60' });
    sent += chunks[0]!.length;

    const stale = await sim.patchTrace(job.id, job.token, Buffer.concat([chunks[0]!, chunks[1]!]), 3);
    expect(stale.statusCode).toBe(416);
    expect(stale.headers.range).toBe(`0-${sent}`);
    sent = Number(String(stale.headers.range).split('-')[1]);
    const resent = await sim.patchTrace(job.id, job.token, chunks[1]!, sent);
    expect(resent.statusCode).toBe(202);
    sent += chunks[1]!.length;
    expect(resent.headers.range).toBe(`0-${sent}`);

    const soFar = Buffer.concat(chunks.slice(0, 2));
    const touch = await sim.updateJob(job.id, job.token, { state: 'running', output: { checksum: traceChecksum(soFar), bytesize: soFar.length } });
    expect(touch.statusCode).toBe(200);
    expect((await sim.patchTrace(job.id, job.token, chunks[2]!, sent)).statusCode).toBe(202);

    // Step 6: finish with success; the stored log is exactly what was sent.
    const log = Buffer.concat(chunks);
    const done = await sim.updateJob(job.id, job.token, { state: 'success', checksum: traceChecksum(log), output: { checksum: traceChecksum(log), bytesize: log.length } });
    expect(done.statusCode).toBe(200);
    expect(done.body).toBe('200');
    expect(done.headers['job-status']).toBe('success');
    const finished = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(finished).toMatchObject({ status: 'success', runner_id: runnerId, runner_manager_id: stored.managers[0]!.id });
    expect(finished.finished_at).toBeInstanceOf(Date);
    expect(Buffer.from(finished.trace!).equals(log)).toBe(true);
    expect(zlib.crc32(Buffer.from(finished.trace!))).toBe(zlib.crc32(log));
    for (const late of [await sim.updateJob(job.id, job.token, { state: 'running' }), await sim.patchTrace(job.id, job.token, Buffer.from('x'), log.length)]) {
      expect(late.statusCode).toBe(403);
      expect(late.headers['job-status']).toBe('success');
      expect(late.json()).toEqual({ message: '403 Forbidden - Job is not processing on runner' });
    }

    // The next stage was queued by the success; this job fails.
    const second = decodeJobResponse(await sim.requestJob(token));
    expect(second.job_info.name).toBe('test');
    expect((await sim.updateJob(second.id, second.token, { state: 'running' })).statusCode).toBe(200);
    const failLog = Buffer.from('$ make test\nFAIL\n');
    expect((await sim.patchTrace(second.id, second.token, failLog, 0)).statusCode).toBe(202);
    const failed = await sim.updateJob(second.id, second.token, {
      state: 'failed',
      failureReason: 'script_failure',
      exitCode: 1,
      checksum: traceChecksum(failLog),
      output: { checksum: traceChecksum(failLog), bytesize: failLog.length },
    });
    expect(failed.statusCode).toBe(200);
    expect(failed.headers['job-status']).toBe('failed');
    expect(await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: second.id } })).toMatchObject({ status: 'failed', failure_reason: 'script_failure', exit_code: 1 });
    expect((await t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: pipeline.id } })).status).toBe('failed');
    expect((await sim.requestJob(token)).statusCode).toBe(204);

    // Step 7: reset the token; the old one stops working everywhere.
    const reset = await sim.resetToken(token);
    expect(reset.statusCode).toBe(201);
    const newToken = decodeTokenResponse(reset).token;
    expect(newToken).not.toBe(token);
    expect((await sim.verify(token)).statusCode).toBe(403);
    expect((await sim.requestJob(token)).statusCode).toBe(403);
    expect((await sim.requestJob(newToken)).statusCode).toBe(204);

    // Step 8: unregister the manager; the runner stays.
    expect((await sim.unregisterManager(newToken)).statusCode).toBe(204);
    // (reset_authentication_token carries no system_id, so it heartbeated a '<legacy>' manager, as GitLab does.)
    expect(await t.ctx.prisma.runnerManager.count({ where: { runner_id: runnerId, system_xid: DEFAULT_SYSTEM_ID } })).toBe(0);
    expect(await t.ctx.prisma.runner.count({ where: { id: runnerId } })).toBe(1);
  });
});

describe('POST /jobs/request', () => {
  it('hands out a payload whose every field decodes into the runner Go types', async () => {
    const project = await t.fx.project({ namespace: group });
    const { token } = await t.fx.runner({ projects: [project], tags: ['docker'] });
    await createPipeline(
      t,
      project,
      `variables:
  GLOBAL: "1"
  SHARED: from-global
job:
  image: { name: "alpine:3", entrypoint: [""] }
  services:
    - name: postgres:16
      alias: db
  before_script: [echo before]
  script: [echo one, echo two]
  after_script: [echo after]
  tags: [docker]
  timeout: 30m
  variables:
    SHARED: from-job
    NUMBER: 7
    LITERAL: { value: "$HOME", expand: false }
`,
      { variables: [{ key: 'FROM_API', value: 'yes' }, { key: 'SHARED', value: 'from-api' }] },
    );
    const res = await RunnerSimulator.forApp(t.app).requestJob(token);
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    const job = decodeJobResponse(res);
    expect(Object.keys(job)).toEqual([
      'id', 'token', 'allow_git_fetch', 'job_info', 'git_info', 'runner_info', 'variables', 'steps', 'hooks', 'image',
      'services', 'artifacts', 'cache', 'credentials', 'features', 'dependencies',
    ]);
    expect(job).not.toHaveProperty('run');
    expect(job.job_info.project_jobs_running_on_instance_runners_count).toBe('+Inf');
    expect(job.git_info).toMatchObject({
      repo_url: `http://gitlab-ci-token:${job.token}@gitlab.test/${project.path_with_namespace}.git`,
      ref: 'main',
      ref_type: 'branch',
      depth: 20,
      protected: true,
    });
    expect(job.runner_info).toEqual({ timeout: 1800, runner_session_url: null });
    expect(job.steps).toEqual([
      { name: 'script', script: ['echo before', 'echo one', 'echo two'], timeout: 1800, when: 'on_success', allow_failure: false },
      { name: 'after_script', script: ['echo after'], timeout: 1800, when: 'always', allow_failure: true },
    ]);
    expect(job.image).toEqual({ name: 'alpine:3', entrypoint: [''], ports: [], pull_policy: null });
    expect(job.services).toEqual([{ name: 'postgres:16', entrypoint: null, ports: [], alias: 'db', command: null, variables: [], pull_policy: null }]);
    expect(job.features.trace_sections).toBe(true);
    expect(job.features.failure_reasons).toEqual(expect.arrayContaining(['script_failure', 'runner_system_failure', 'job_execution_timeout', 'unknown_failure']));

    expect(job.variables.every((v: { value: unknown }) => typeof v.value === 'string')).toBe(true);
    expect(new Set(job.variables.map((v: { key: string }) => v.key)).size).toBe(job.variables.length);
    expect(variable(job, 'GIT_STRATEGY')).toEqual({ key: 'GIT_STRATEGY', value: 'none', public: true });
    expect(variable(job, 'CI_JOB_TOKEN')).toEqual({ key: 'CI_JOB_TOKEN', value: job.token, public: false, masked: true });
    expect(variable(job, 'CI_JOB_ID')!.value).toBe(String(job.id));
    expect(variable(job, 'CI_PROJECT_PATH')!.value).toBe(project.path_with_namespace);
    expect(variable(job, 'CI_COMMIT_REF_NAME')!.value).toBe('main');
    expect(variable(job, 'CI_SERVER_URL')!.value).toBe('http://gitlab.test');
    expect(variable(job, 'CI_RUNNER_TAGS')!.value).toBe('["docker"]');
    expect(variable(job, 'GLOBAL')!.value).toBe('1');
    expect(variable(job, 'NUMBER')!.value).toBe('7');
    expect(variable(job, 'LITERAL')).toEqual({ key: 'LITERAL', value: '$HOME', public: true, raw: true });
    expect(variable(job, 'FROM_API')).toEqual({ key: 'FROM_API', value: 'yes', public: false });
    expect(variable(job, 'SHARED')!.value).toBe('from-api'); // pipeline variables win over YAML

    // The job token is kept only as a digest.
    const stored = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(stored.token_digest).toBe(t.ctx.secrets.digest(job.token));
    expect(JSON.stringify(stored)).not.toContain(job.token);
    expect(stored).toMatchObject({ status: 'running', timeout: 1800 });
    expect(stored.started_at).toBeInstanceOf(Date);
  });

  it('hands out the whole payload, field by field and in order, for a job of a project in a subgroup', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const top = await t.fx.group({ path: `payload-${suffix}` });
    const sub = await t.fx.group({ path: 'team', parent: top });
    const project = await t.fx.project({ namespace: sub, path: 'app', visibility: 'internal' });
    await t.ctx.prisma.project.update({ where: { id: project.id }, data: { name: 'The App', description: 'An app', build_timeout: 4000 } });
    const { runner, token } = await t.fx.runner({ projects: [project], tags: ['docker', 'linux'], description: 'payload runner' });
    const pipeline = await createPipeline(
      t,
      project,
      `stages: [build, test]
variables:
  GLOBAL: g
build:
  stage: build
  image: { name: "ruby:3.3", entrypoint: ["/bin/sh", "-c"], pull_policy: [always, if-not-present] }
  services:
    - name: redis:7
      alias: cache
      command: [redis-server, --appendonly, "yes"]
      variables: { REDIS_ARGS: "--save 60" }
  script: [bundle exec rake]
  tags: [docker]
  variables:
    RAILS_ENV: test
test:
  stage: test
  script: [echo later]
`,
      { variables: [{ key: 'DEPLOY_KEY', value: 'k', variable_type: 'file' }] },
    );
    const root = await t.ctx.prisma.user.findFirstOrThrow({ where: { username: 'root' } });
    const res = await RunnerSimulator.forApp(t.app).requestJob(token);
    expect(res.statusCode).toBe(201);
    const job = decodeJobResponse(res);
    const stored = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    const storedPipeline = await t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: pipeline.id } });
    const seconds = (d: Date | null) => d!.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const path = `payload-${suffix}/team/app`;
    const sha = storedPipeline.sha;
    const v = (key: string, value: string, extra: Record<string, unknown> = {}) => ({ key, value, public: true, ...extra });
    // The exact bytes: keys and variables in this order.
    expect(res.body).toBe(
      JSON.stringify({
        id: job.id,
        token: job.token,
        allow_git_fetch: true,
        job_info: {
          id: job.id,
          name: 'build',
          stage: 'build',
          pipeline_id: pipeline.id,
          project_id: project.id,
          project_name: 'The App',
          project_full_path: path,
          namespace_id: sub.id,
          root_namespace_id: top.id,
          organization_id: 1,
          user_id: root.id,
          scoped_user_id: null,
          time_in_queue_seconds: (stored.started_at!.getTime() - stored.queued_at!.getTime()) / 1000,
          project_jobs_running_on_instance_runners_count: '+Inf',
          queue_size: 1,
          queue_depth: 1,
        },
        git_info: {
          repo_url: `http://gitlab-ci-token:${job.token}@gitlab.test/${path}.git`,
          ref: 'main',
          sha,
          before_sha: '0000000000000000000000000000000000000000',
          ref_type: 'branch',
          refspecs: [`+refs/pipelines/${pipeline.id}:refs/pipelines/${pipeline.id}`, '+refs/heads/main:refs/remotes/origin/main'],
          depth: 20,
          repo_object_format: 'sha1',
          protected: true,
        },
        runner_info: { timeout: 4000, runner_session_url: null },
        variables: [
          v('CI_PIPELINE_ID', String(pipeline.id)),
          v('CI_PIPELINE_URL', `http://gitlab.test/${path}/-/pipelines/${pipeline.id}`),
          v('CI_JOB_ID', String(job.id)),
          v('CI_JOB_URL', `http://gitlab.test/${path}/-/jobs/${job.id}`),
          { key: 'CI_JOB_TOKEN', value: job.token, public: false, masked: true },
          v('CI_JOB_STARTED_AT', seconds(stored.started_at)),
          v('CI_JOB_NAME', 'build'),
          v('CI_JOB_NAME_SLUG', 'build'),
          v('CI_JOB_STAGE', 'build'),
          v('CI_JOB_TIMEOUT', '4000'),
          v('CI_NODE_TOTAL', '1'),
          v('CI_COMMIT_SHA', sha),
          v('CI_COMMIT_SHORT_SHA', sha.slice(0, 8)),
          v('CI_COMMIT_BEFORE_SHA', '0000000000000000000000000000000000000000'),
          v('CI_COMMIT_REF_NAME', 'main'),
          v('CI_COMMIT_REF_SLUG', 'main'),
          v('CI_COMMIT_BRANCH', 'main'),
          v('CI_COMMIT_REF_PROTECTED', 'true'),
          v('CI_DEFAULT_BRANCH', 'main'),
          v('CI_RUNNER_ID', String(runner.id)),
          v('CI_RUNNER_DESCRIPTION', 'payload runner'),
          v('CI_RUNNER_TAGS', '["docker","linux"]'),
          v('CI', 'true'),
          v('GITLAB_CI', 'true'),
          v('CI_SERVER_FQDN', 'gitlab.test'),
          v('CI_SERVER_URL', 'http://gitlab.test'),
          v('CI_SERVER_HOST', 'gitlab.test'),
          v('CI_SERVER_PORT', '80'),
          v('CI_SERVER_PROTOCOL', 'http'),
          v('CI_SERVER_NAME', 'GitLab'),
          v('CI_SERVER_VERSION', GITLAB_VERSION.version),
          v('CI_SERVER_VERSION_MAJOR', GITLAB_VERSION.version.split('.')[0]!),
          v('CI_SERVER_VERSION_MINOR', GITLAB_VERSION.version.split('.')[1]!),
          v('CI_SERVER_VERSION_PATCH', GITLAB_VERSION.version.split('.')[2]!),
          v('CI_SERVER_REVISION', GITLAB_VERSION.revision),
          v('GITLAB_FEATURES', ''),
          v('CI_API_V4_URL', 'http://gitlab.test/api/v4'),
          v('CI_CONFIG_PATH', '.gitlab-ci.yml'),
          v('CI_PROJECT_ID', String(project.id)),
          v('CI_PROJECT_NAME', 'app'),
          v('CI_PROJECT_TITLE', 'The App'),
          v('CI_PROJECT_DESCRIPTION', 'An app'),
          v('CI_PROJECT_PATH', path),
          v('CI_PROJECT_PATH_SLUG', `payload-${suffix}-team-app`),
          v('CI_PROJECT_NAMESPACE', `payload-${suffix}/team`),
          v('CI_PROJECT_NAMESPACE_ID', String(sub.id)),
          v('CI_PROJECT_ROOT_NAMESPACE', `payload-${suffix}`),
          v('CI_PROJECT_URL', `http://gitlab.test/${path}`),
          v('CI_PROJECT_VISIBILITY', 'internal'),
          { key: 'CI_REPOSITORY_URL', value: `http://gitlab-ci-token:${job.token}@gitlab.test/${path}.git`, public: false },
          v('CI_PIPELINE_IID', String(storedPipeline.iid)),
          v('CI_PIPELINE_SOURCE', 'api'),
          v('CI_PIPELINE_CREATED_AT', seconds(storedPipeline.created_at)),
          v('GITLAB_USER_ID', String(root.id)),
          v('GITLAB_USER_EMAIL', root.email),
          v('GITLAB_USER_LOGIN', 'root'),
          v('GITLAB_USER_NAME', root.name),
          v('GIT_STRATEGY', 'none'),
          v('GLOBAL', 'g'),
          v('RAILS_ENV', 'test'),
          { key: 'DEPLOY_KEY', value: 'k', public: false, file: true },
        ],
        steps: [{ name: 'script', script: ['bundle exec rake'], timeout: 4000, when: 'on_success', allow_failure: false }],
        hooks: [],
        image: { name: 'ruby:3.3', entrypoint: ['/bin/sh', '-c'], ports: [], pull_policy: ['always', 'if-not-present'] },
        services: [
          {
            name: 'redis:7',
            entrypoint: null,
            ports: [],
            alias: 'cache',
            command: ['redis-server', '--appendonly', 'yes'],
            variables: [v('REDIS_ARGS', '--save 60')],
            pull_policy: null,
          },
        ],
        artifacts: null,
        cache: [],
        credentials: [],
        features: { trace_sections: true, failure_reasons: FAILURE_REASONS },
        dependencies: [],
      }),
    );
  });

  it('marks the pipeline running with its first job’s start, and leaves it as it is when a second job starts', async () => {
    const project = await t.fx.project({ namespace: group });
    const { token } = await t.fx.runner({ projects: [project] });
    const pipeline = await createPipeline(t, project, 'one:\n  script: [a]\ntwo:\n  script: [b]\n');
    const sim = RunnerSimulator.forApp(t.app);
    const read = () => t.ctx.prisma.pipeline.findUniqueOrThrow({ where: { id: pipeline.id } });
    expect(await read()).toMatchObject({ status: 'pending', started_at: null, finished_at: null });
    const first = decodeJobResponse(await sim.requestJob(token));
    const started = await read();
    const firstJob = await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: first.id } });
    expect(started).toMatchObject({ status: 'running', started_at: firstJob.started_at, finished_at: null });
    const second = decodeJobResponse(await sim.requestJob(token));
    expect(second.id).not.toBe(first.id);
    expect(await read()).toEqual(started);
  });

  it('limits the timeout to the runner maximum_timeout and falls back to the project build timeout', async () => {
    const project = await t.fx.project({ namespace: group });
    await t.ctx.prisma.project.update({ where: { id: project.id }, data: { build_timeout: 5400 } });
    const { runner, token } = await t.fx.runner({ projects: [project] });
    const sim = RunnerSimulator.forApp(t.app);
    await createPipeline(t, project, singleJob());
    expect(decodeJobResponse(await sim.requestJob(token)).runner_info.timeout).toBe(5400);
    await t.ctx.prisma.runner.update({ where: { id: runner.id }, data: { maximum_timeout: 900 } });
    await createPipeline(t, project, singleJob('long', { timeout: '2h' }));
    const limited = decodeJobResponse(await sim.requestJob(token));
    expect(limited.runner_info.timeout).toBe(900);
    expect(limited.steps[0].timeout).toBe(900);
  });

  it('answers 204 with X-GitLab-Last-Update to a paused runner, even with jobs pending', async () => {
    const project = await t.fx.project({ namespace: group });
    const { runner, token } = await t.fx.runner({ projects: [project], active: false });
    const pipeline = await createPipeline(t, project, singleJob());
    const sim = RunnerSimulator.forApp(t.app);
    const res = await sim.requestJob(token);
    expect(res.statusCode).toBe(204);
    expect(res.headers['x-gitlab-last-update']).toMatch(/^[0-9a-f]{32}$/);
    expect((await jobsOf(t, pipeline.id))[0]!.status).toBe('pending');
    // Unpaused, the runner gets the job on its next poll although it sends the value it got while paused.
    expect((await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { paused: false } })).statusCode).toBe(200);
    expect((await sim.requestJob(token)).statusCode).toBe(201);
  });

  it('refuses an unknown token with 403 and a missing one with 400', async () => {
    const sim = RunnerSimulator.forApp(t.app);
    const res = await sim.requestJob('glrt-t3_not-a-real-token-xxxx');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
    const missing = await t.api({ method: 'POST', url: '/api/v4/jobs/request', payload: {}, token: null });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'token is missing' });
  });

  it('authenticates every poll, also one whose body is byte for byte a body it answered before', async () => {
    const project = await t.fx.project({ namespace: group });
    const { runner, token } = await t.fx.runner({ projects: [project] });
    const body = JSON.stringify({ token, info: { name: 'gitlab-runner', version: '17.1.0' } });
    const poll = () => t.app.inject({ method: 'POST', url: '/api/v4/jobs/request', payload: body, headers: { 'content-type': 'application/json' } });
    expect((await poll()).statusCode).toBe(204);
    expect((await poll()).statusCode).toBe(204);
    const reset = await t.api({ method: 'POST', url: `/api/v4/runners/${runner.id}/reset_authentication_token` });
    expect(reset.statusCode).toBe(201);
    const refused = await poll();
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ message: '403 Forbidden' });
  });

  it('reads the poll body as JSON, url-encoded form or multipart, and answers 400 to broken JSON', async () => {
    const project = await t.fx.project({ namespace: group });
    const { token } = await t.fx.runner({ projects: [project] });
    const post = (payload: string, type: string) => t.app.inject({ method: 'POST', url: '/api/v4/jobs/request', payload, headers: { 'content-type': type } });
    expect((await post(`{"token":"${token}"}`, 'application/json')).statusCode).toBe(204);
    expect((await post(`  {"token":"${token}"}\n`, 'application/json; charset=utf-8')).statusCode).toBe(204);
    expect((await post(`token=${encodeURIComponent(token)}&info[name]=x`, 'application/x-www-form-urlencoded')).statusCode).toBe(204);
    const boundary = 'b0undary';
    const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="token"\r\n\r\n${token}\r\n--${boundary}--\r\n`;
    expect((await post(multipart, `multipart/form-data; boundary=${boundary}`)).statusCode).toBe(204);
    const broken = await post(`{"token":"${token}"`, 'application/json');
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toEqual({ message: '400 Bad request - Invalid JSON body' });
    const empty = await post('', 'application/json');
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toEqual({ error: 'token is missing' });
  });

  it('holds a poll whose last_update is current and hands out a job queued meanwhile (long polling)', async () => {
    const lp = await createTestApp({ JOB_REQUEST_LONG_POLL_SECONDS: '10' });
    try {
      const g = await lp.fx.group();
      const project = await lp.fx.project({ namespace: g });
      const { token } = await lp.fx.runner({ projects: [project] });
      const sim = RunnerSimulator.forApp(lp.app);
      expect((await sim.requestJob(token)).statusCode).toBe(204); // obtains the value without holding
      const started = Date.now();
      const held = sim.requestJob(token);
      await new Promise((r) => setTimeout(r, 300));
      await createPipeline(lp, project, singleJob());
      const res = await held;
      expect(res.statusCode).toBe(201);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await lp.close();
    }
  });
});
