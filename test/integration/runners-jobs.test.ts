import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Job, Namespace, Pipeline, Project, Runner, RunnerManager, User } from '../../src/generated/prisma/client.js';

// GET /runners/:id/jobs (docs.gitlab.com/api/runners): filters, ordering, offset
// and keyset pagination, the Reporter visibility filter and the
// JobBasicWithProject entity. Jobs are inserted directly.

let t: TestApp;
let group: Namespace;
let project: Project;
let foreign: Project;
let runner: Runner;
let m1: RunnerManager;
let m2: RunnerManager;
let pipeline: Pipeline;
let foreignPipeline: Pipeline;
let owner: { user: User; token: string };
const jobs: Job[] = [];

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'acme' });
  const other = await t.fx.group({ path: 'other' });
  project = await t.fx.project({ namespace: group, path: 'web' });
  foreign = await t.fx.project({ namespace: other, path: 'secret' });
  owner = await t.fx.user({ username: 'owner' });
  await t.fx.groupMember(group, owner.user, 50);
  runner = (await t.fx.runner({ group })).runner;
  m1 = await t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid: 'm1' } });
  m2 = await t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid: 'm2' } });
  pipeline = await t.ctx.prisma.pipeline.create({
    data: { iid: 1, project_id: project.id, ref: 'main', sha: 'c'.repeat(40), before_sha: '0'.repeat(40), status: 'running', user_id: owner.user.id },
  });
  foreignPipeline = await t.ctx.prisma.pipeline.create({ data: { iid: 1, project_id: foreign.id, ref: 'main', sha: 'd'.repeat(40), before_sha: '0'.repeat(40) } });
  const base = { ref: 'main', stage: 'test', runner_id: runner.id };
  const t0 = new Date('2026-01-01T10:00:00.000Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  // 0: success on m1 (queued 10s, ran 90s); 1: failed on m2; 2: running on m1; 3: success in a project the owner cannot see
  jobs.push(
    await t.ctx.prisma.job.create({
      data: { ...base, project_id: project.id, pipeline_id: pipeline.id, name: 'build', status: 'success', runner_manager_id: m1.id, user_id: owner.user.id, coverage: 87.5, queued_at: at(0), started_at: at(10), finished_at: at(100) },
    }),
    await t.ctx.prisma.job.create({
      data: { ...base, project_id: project.id, pipeline_id: pipeline.id, name: 'lint', status: 'failed', failure_reason: 'script_failure', runner_manager_id: m2.id, allow_failure: true },
    }),
    await t.ctx.prisma.job.create({ data: { ...base, project_id: project.id, pipeline_id: pipeline.id, name: 'deploy', status: 'running', runner_manager_id: m1.id } }),
    await t.ctx.prisma.job.create({ data: { ...base, project_id: foreign.id, pipeline_id: foreignPipeline.id, name: 'hidden', status: 'success' } }),
  );
});
afterAll(async () => {
  await t?.close();
});

const get = (query = '', token?: string | null) => t.api({ method: 'GET', url: `/api/v4/runners/${runner.id}/jobs${query}`, token });
const ids = (body: unknown) => (body as { id: number }[]).map((j) => j.id);
const jobIds = (...idx: number[]) => idx.map((i) => jobs[i]!.id);

describe('GET /runners/:id/jobs', () => {
  it('lists the jobs id ascending by default as JobBasicWithProject', async () => {
    const res = await get();
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(jobIds(0, 1, 2, 3));
    const first = res.json()[0];
    expect(Object.keys(first)).toEqual([
      'id', 'status', 'stage', 'name', 'ref', 'tag', 'coverage', 'allow_failure', 'created_at', 'started_at', 'finished_at', 'erased_at',
      'duration', 'queued_duration', 'user', 'commit', 'pipeline', 'web_url', 'project',
    ]);
    expect(first).toMatchObject({
      id: jobs[0]!.id,
      status: 'success',
      stage: 'test',
      name: 'build',
      ref: 'main',
      tag: false,
      coverage: 87.5,
      allow_failure: false,
      started_at: '2026-01-01T10:00:10.000Z',
      finished_at: '2026-01-01T10:01:40.000Z',
      erased_at: null,
      duration: 90,
      queued_duration: 10,
      commit: null,
      web_url: `http://gitlab.test/acme/web/-/jobs/${jobs[0]!.id}`,
      project: { id: project.id, name: 'web', name_with_namespace: 'acme / web', path: 'web', path_with_namespace: 'acme/web' },
    });
    expect(Object.keys(first.project)).toEqual(['id', 'description', 'name', 'name_with_namespace', 'path', 'path_with_namespace', 'created_at']);
    expect(first.user).toMatchObject({ id: owner.user.id, username: 'owner', web_url: 'http://gitlab.test/owner' });
    expect(first.pipeline).toEqual({
      id: pipeline.id,
      iid: 1,
      project_id: project.id,
      sha: 'c'.repeat(40),
      ref: 'main',
      status: 'running',
      source: 'api',
      created_at: pipeline.created_at.toISOString(),
      updated_at: pipeline.updated_at.toISOString(),
      web_url: `http://gitlab.test/acme/web/-/pipelines/${pipeline.id}`,
    });
    const failed = res.json()[1];
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'script_failure', allow_failure: true, user: null, duration: null });
    expect(Object.keys(failed).slice(-3)).toEqual(['failure_reason', 'web_url', 'project']);
  });

  it.each([
    ['?status=failed', [1]],
    ['?status=running', [2]],
    ['?status=pending', []],
    ['?order_by=id', [3, 2, 1, 0]],
    ['?order_by=id&sort=desc', [3, 2, 1, 0]],
    ['?order_by=id&sort=asc', [0, 1, 2, 3]],
    ['?sort=desc', [0, 1, 2, 3]],
    ['?system_id=m1', [0, 2]],
    ['?system_id=m2&status=failed', [1]],
    ['?system_id=unknown', []],
    ['?system_id=', [0, 1, 2, 3]],
  ])('filters and orders with %s', async (query, expected) => {
    const res = await get(query);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(jobIds(...expected));
  });

  it.each([
    ['?status=bogus', 'status does not have a valid value'],
    ['?order_by=name', 'order_by does not have a valid value'],
    ['?sort=up', 'sort does not have a valid value'],
    ['?pagination=cursor', 'pagination does not have a valid value'],
    ['?per_page=many', 'per_page is invalid'],
  ])('rejects %s with 400', async (query, error) => {
    const res = await get(query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error });
  });

  it('shows non-admins only jobs of projects where they are Reporter or more', async () => {
    const res = await get('', owner.token);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(jobIds(0, 1, 2));
    expect(res.headers['x-total']).toBe('3');
  });

  it('paginates with totals and a Link carrying id and the defaulted sort', async () => {
    const res = await get('?per_page=1&page=2&status=success');
    expect(ids(res.json())).toEqual(jobIds(3));
    expect(res.headers['x-total']).toBe('2');
    expect(res.headers['x-total-pages']).toBe('2');
    const url = (page: number) => `http://gitlab.test/api/v4/runners/${runner.id}/jobs?id=${runner.id}&page=${page}&per_page=1&sort=desc&status=success`;
    expect(res.headers.link).toBe(`<${url(1)}>; rel="prev", <${url(1)}>; rel="first", <${url(2)}>; rel="last"`);
  });

  it('skips the count when filtering by system_id', async () => {
    const res = await get('?system_id=m1&per_page=1');
    expect(ids(res.json())).toEqual(jobIds(0));
    expect(res.headers['x-total']).toBeUndefined();
    expect(res.headers['x-total-pages']).toBeUndefined();
    expect(res.headers['x-next-page']).toBe('2');
    expect(res.headers.link).toContain('rel="next"');
    expect(res.headers.link).not.toContain('rel="last"');
  });

  it('pages with keyset cursors, newest first, following Link rel="next"', async () => {
    const first = await get('?pagination=keyset&per_page=3');
    expect(first.statusCode).toBe(200);
    expect(ids(first.json())).toEqual(jobIds(3, 2, 1));
    expect(first.headers['x-total']).toBeUndefined();
    const link = first.headers.link as string;
    const m = /^<([^>]+)>; rel="next"$/.exec(link);
    expect(m).not.toBeNull();
    const next = new URL(m![1]!);
    expect(next.searchParams.get('pagination')).toBe('keyset');
    expect(next.searchParams.get('per_page')).toBe('3');
    const second = await get(`?${next.searchParams.toString()}`);
    expect(ids(second.json())).toEqual(jobIds(0));
    expect(second.headers.link).toBeUndefined();
  });

  it('refuses keyset pagination in ascending order with 405 and a bad cursor with 400', async () => {
    const res = await get('?pagination=keyset&order_by=id&sort=asc');
    expect(res.statusCode).toBe(405);
    expect(res.json()).toEqual({ error: 'Keyset pagination is not yet available for this type of request' });
    const bad = await get('?pagination=keyset&cursor=%%%');
    expect(bad.statusCode).toBe(400);
  });

  it('answers 404 for an unknown runner and 400 for a non-integer id', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/runners/999999/jobs' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: '404 Runner Not Found' });
    expect((await t.api({ method: 'GET', url: '/api/v4/runners/x/jobs' })).json()).toEqual({ error: 'id is invalid' });
  });

  it('keeps the job history of a runner whose manager is gone', async () => {
    const gone = await t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid: 'gone' } });
    const job = await t.ctx.prisma.job.create({
      data: { ref: 'main', stage: 'test', runner_id: runner.id, project_id: project.id, pipeline_id: pipeline.id, name: 'old', status: 'success', runner_manager_id: gone.id },
    });
    await t.ctx.prisma.runnerManager.delete({ where: { id: gone.id } });
    expect(ids((await get()).json())).toContain(job.id);
    expect(ids((await get('?system_id=gone')).json())).toEqual([]);
    await t.ctx.prisma.job.delete({ where: { id: job.id } });
  });
});
