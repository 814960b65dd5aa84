import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Namespace, Project, Runner, User } from '../../src/generated/prisma/client.js';
import type { Scope } from '../../src/plugins/auth.js';

// The four runner lists (docs.gitlab.com/api/runners): which
// runners each returns, every filter and every invalid filter value,
// pagination headers and Link URLs, roles and token scopes.

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);

let t: TestApp;
let group: Namespace;
let subgroup: Namespace;
let project: Project;
let subProject: Project;
/** Runners by name; see beforeAll for what each one is. */
const r: Record<string, Runner> = {};
const users: Record<string, { user: User; token: string }> = {};

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'acme' });
  subgroup = await t.fx.group({ path: 'tools', parent: group });
  project = await t.fx.project({ namespace: group, path: 'web' });
  subProject = await t.fx.project({ namespace: subgroup, path: 'cli' });

  // i1 instance, online, tags linux+docker, manager 16.2.1
  r.i1 = (await t.fx.runner({ type: 'instance_type', tags: ['linux', 'docker'], contactedAt: ago(60_000) })).runner;
  // i2 instance, offline and paused, tag linux
  r.i2 = (await t.fx.runner({ type: 'instance_type', tags: ['linux'], contactedAt: ago(3 * HOUR), active: false })).runner;
  // g1 group runner of acme, never contacted, tag docker
  r.g1 = (await t.fx.runner({ group, tags: ['docker'] })).runner;
  // p1 project runner of web, stale (created 10 days ago, contacted 8 days ago), manager 15.0.3-rc1
  r.p1 = (await t.fx.runner({ projects: [project], createdAt: ago(10 * DAY), contactedAt: ago(8 * DAY) })).runner;
  // p2 project runner of web, created 10 days ago and never contacted (stale and never_contacted), paused
  r.p2 = (await t.fx.runner({ projects: [project], createdAt: ago(10 * DAY), active: false })).runner;
  // g2 group runner of acme/tools, online but paused, managers 1.6.0 and 160.0.0
  r.g2 = (await t.fx.runner({ group: subgroup, contactedAt: ago(60_000), active: false })).runner;

  const manager = (runner: Runner, system_xid: string, version: string) =>
    t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid, version, contacted_at: new Date(), creation_state: 100 } });
  await manager(r.i1!, 's1', '16.2.1');
  await manager(r.p1!, 's1', '15.0.3-rc1');
  await manager(r.g2!, 's1', '1.6.0');
  await manager(r.g2!, 's2', '160.0.0');

  users.admin = await t.fx.user({ admin: true });
  users.owner = await t.fx.user();
  users.maintainer = await t.fx.user();
  users.developer = await t.fx.user();
  users.reporter = await t.fx.user();
  users.guest = await t.fx.user();
  users.nonMember = await t.fx.user();
  users.projectMaintainer = await t.fx.user();
  await t.fx.groupMember(group, users.owner.user, 50);
  await t.fx.groupMember(group, users.maintainer.user, 40);
  await t.fx.groupMember(group, users.developer.user, 30);
  await t.fx.groupMember(group, users.reporter.user, 20);
  await t.fx.groupMember(group, users.guest.user, 10);
  await t.fx.projectMember(project, users.projectMaintainer.user, 40);
});
afterAll(async () => {
  await t?.close();
});

const get = (url: string, token?: string | null) => t.api({ method: 'GET', url, token });
const ids = (body: unknown) => (body as { id: number }[]).map((x) => x.id);
const idsOf = (...names: string[]) => names.map((n) => r[n]!.id).sort((a, b) => a - b);

describe('GET /runners/all', () => {
  it('lists every runner, id ascending, as Runner entities with keys in GitLab order', async () => {
    const res = await get('/api/v4/runners/all');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(ids(res.json())).toEqual(idsOf('i1', 'i2', 'g1', 'p1', 'p2', 'g2'));
    const first = res.json()[0];
    expect(Object.keys(first)).toEqual([
      'id', 'description', 'ip_address', 'active', 'paused', 'is_shared', 'runner_type', 'name', 'online', 'created_at', 'status', 'job_execution_status',
    ]);
    expect(first).toMatchObject({ ip_address: null, active: true, paused: false, is_shared: true, runner_type: 'instance_type', online: true, status: 'online', job_execution_status: 'idle' });
  });

  it('reports status and online per runner (online, offline, never_contacted with null online, stale, paused)', async () => {
    const body = (await get('/api/v4/runners/all')).json() as { id: number; status: string; online: boolean | null }[];
    const byId = new Map(body.map((x) => [x.id, x]));
    expect(byId.get(r.i1!.id)).toMatchObject({ status: 'online', online: true });
    expect(byId.get(r.i2!.id)).toMatchObject({ status: 'paused', online: false });
    expect(byId.get(r.g1!.id)).toMatchObject({ status: 'never_contacted', online: null });
    expect(byId.get(r.p1!.id)).toMatchObject({ status: 'stale', online: false });
    expect(byId.get(r.p2!.id)).toMatchObject({ status: 'stale', online: null });
    expect(byId.get(r.g2!.id)).toMatchObject({ status: 'paused', online: true });
  });

  it.each([
    ['type=instance_type', ['i1', 'i2']],
    ['type=group_type', ['g1', 'g2']],
    ['type=project_type', ['p1', 'p2']],
    ['status=online', ['i1', 'g2']],
    ['status=offline', ['i2', 'p1']],
    ['status=never_contacted', ['g1', 'p2']],
    ['status=stale', ['p1', 'p2']],
    ['status=active', ['i1', 'g1', 'p1']],
    ['status=paused', ['i2', 'p2', 'g2']],
    ['paused=true', ['i2', 'p2', 'g2']],
    ['paused=False', ['i1', 'g1', 'p1']],
    ['paused=0', ['i1', 'g1', 'p1']],
    ['tag_list=linux', ['i1', 'i2']],
    ['tag_list=linux,docker', ['i1']],
    ['tag_list=docker%2C+linux', ['i1']],
    ['tag_list[]=linux&tag_list[]=docker', ['i1']],
    ['tag_list%5B%5D=docker', ['i1', 'g1']],
    ['tag_list=linux&tag_list=docker', ['i1']],
    ['tag_list=nope', []],
    ['version_prefix=16', ['i1']],
    ['version_prefix=16.2', ['i1']],
    ['version_prefix=16.2.', ['i1']],
    ['version_prefix=1', ['g2']],
    ['version_prefix=160', ['g2']],
    ['version_prefix=15.0', ['p1']],
    ['version_prefix=15.0.3', ['p1']],
    ['version_prefix=15.1', []],
    ['scope=specific', ['g1', 'p1', 'p2', 'g2']],
    ['scope=shared', ['i1', 'i2']],
    ['scope=group_type', ['g1', 'g2']],
    ['scope=online', ['i1', 'g2']],
    ['scope=active', ['i1', 'g1', 'p1']],
    ['type=instance_type&status=online', ['i1']],
    ['scope=specific&paused=true&status=stale', ['p2']],
    ['type=group_type&version_prefix=1.6&tag_list=', ['g2']],
  ])('filters with %s', async (query, expected) => {
    const res = await get(`/api/v4/runners/all?${query}`);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(idsOf(...expected));
  });

  it('lists a runner with two matching managers once', async () => {
    await t.ctx.prisma.runnerManager.create({ data: { runner_id: r.i1!.id, system_xid: 's2', version: '16.3.0', creation_state: 100 } });
    const res = await get('/api/v4/runners/all?version_prefix=16');
    expect(ids(res.json())).toEqual(idsOf('i1'));
    expect(res.headers['x-total']).toBe('1');
    await t.ctx.prisma.runnerManager.deleteMany({ where: { runner_id: r.i1!.id, system_xid: 's2' } });
  });

  it.each([
    ['type=foo', { error: 'type does not have a valid value' }],
    ['status=not_connected', { error: 'status does not have a valid value' }],
    ['status=bogus', { error: 'status does not have a valid value' }],
    ['paused=maybe', { error: 'paused is invalid' }],
    ['version_prefix=V15', { error: 'version_prefix is invalid' }],
    ['version_prefix=', { error: 'version_prefix is invalid' }],
    ['version_prefix=abc', { error: 'version_prefix is invalid' }],
    ['scope=bogus', { error: 'scope does not have a valid value' }],
    ['page=abc', { error: 'page is invalid' }],
    ['per_page=x', { error: 'per_page is invalid' }],
    ['type=foo&paused=maybe', { error: 'type does not have a valid value, paused is invalid' }],
  ])('rejects %s with 400 and Grape error body', async (query, body) => {
    const res = await get(`/api/v4/runners/all?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(body);
  });

  it.each([
    ['owner', 403],
    ['maintainer', 403],
    ['developer', 403],
    ['nonMember', 403],
    ['admin', 200],
  ])('as %s answers %i', async (role, status) => {
    const res = await get('/api/v4/runners/all', users[role]!.token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual({ message: '403 Forbidden' });
  });

  it('answers 401 to an anonymous request', async () => {
    const res = await get('/api/v4/runners/all', null);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: '401 Unauthorized' });
  });

  it('validates parameters before it checks admin rights (400 for a non-admin)', async () => {
    const res = await get('/api/v4/runners/all?type=foo', users.developer!.token);
    expect(res.statusCode).toBe(400);
  });
});

describe('GET /runners (runners the user manages)', () => {
  it.each([
    ['owner', ['g1', 'p1', 'p2', 'g2']],
    ['maintainer', ['p1', 'p2']],
    ['projectMaintainer', ['p1', 'p2']],
    ['developer', []],
    ['reporter', []],
    ['guest', []],
    ['nonMember', []],
    ['admin', []],
  ])('for %s lists the project and group runners they manage, never instance runners', async (role, expected) => {
    const res = await get('/api/v4/runners', users[role]!.token);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(idsOf(...expected));
  });

  it('applies the filters within the set', async () => {
    const res = await get('/api/v4/runners?type=group_type&paused=true', users.owner!.token);
    expect(ids(res.json())).toEqual(idsOf('g2'));
  });

  it.each(['active', 'paused', 'online', 'offline', 'never_contacted', 'stale'])('accepts scope=%s', async (scope) => {
    const res = await get(`/api/v4/runners?scope=${scope}`, users.owner!.token);
    expect(res.statusCode).toBe(200);
  });

  it.each(['specific', 'shared', 'instance_type', 'group_type', 'project_type'])('refuses scope=%s with "Scope contains invalid value"', async (scope) => {
    const res = await get(`/api/v4/runners?scope=${scope}`, users.owner!.token);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ message: 'Scope contains invalid value' });
  });

  it('answers 401 to an anonymous request', async () => {
    expect((await get('/api/v4/runners', null)).statusCode).toBe(401);
  });
});

describe('GET /projects/:id/runners', () => {
  it('lists the project runners, the group runners of its group and ancestors, and instance runners', async () => {
    const res = await get(`/api/v4/projects/${project.id}/runners`);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(idsOf('i1', 'i2', 'g1', 'p1', 'p2'));
  });

  it('includes runners of every ancestor group for a project in a subgroup', async () => {
    const res = await get(`/api/v4/projects/${subProject.id}/runners`);
    expect(ids(res.json())).toEqual(idsOf('i1', 'i2', 'g1', 'g2'));
  });

  it('finds the project by URL-encoded full path', async () => {
    const res = await get(`/api/v4/projects/${encodeURIComponent('acme/tools/cli')}/runners?type=group_type`);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(idsOf('g1', 'g2'));
  });

  it('leaves out instance runners when shared runners are off and group runners when group runners are off', async () => {
    const p = await t.fx.project({ namespace: group, sharedRunnersEnabled: false, groupRunnersEnabled: false });
    const res = await get(`/api/v4/projects/${p.id}/runners`);
    expect(ids(res.json())).toEqual([]);
    const q = await t.fx.project({ namespace: group, sharedRunnersEnabled: false });
    expect(ids((await get(`/api/v4/projects/${q.id}/runners`)).json())).toEqual(idsOf('g1'));
  });

  it.each([
    ['scope=specific', ['g1', 'p1', 'p2']],
    ['scope=shared', ['i1', 'i2']],
    ['type=project_type&status=never_contacted', ['p2']],
    ['tag_list=docker', ['i1', 'g1']],
  ])('filters with %s', async (query, expected) => {
    const res = await get(`/api/v4/projects/${project.id}/runners?${query}`);
    expect(ids(res.json())).toEqual(idsOf(...expected));
  });

  it.each([
    ['admin', 200],
    ['owner', 200],
    ['maintainer', 200],
    ['projectMaintainer', 200],
    ['developer', 403],
    ['reporter', 403],
    ['guest', 403],
    ['nonMember', 404],
  ])('as %s answers %i', async (role, status) => {
    const res = await get(`/api/v4/projects/${project.id}/runners`, users[role]!.token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual({ message: '403 Forbidden' });
    if (status === 404) expect(res.json()).toEqual({ message: '404 Project Not Found' });
  });

  it('checks access before parameters: a reporter with a bad filter gets 403, a stranger 404', async () => {
    expect((await get(`/api/v4/projects/${project.id}/runners?type=foo`, users.reporter!.token)).statusCode).toBe(403);
    expect((await get(`/api/v4/projects/${project.id}/runners?type=foo`, users.nonMember!.token)).statusCode).toBe(404);
    const res = await get(`/api/v4/projects/${project.id}/runners?type=foo`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'type does not have a valid value' });
  });

  it('answers 404 Project Not Found for an unknown project and 401 to anonymous', async () => {
    const res = await get('/api/v4/projects/999999/runners');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: '404 Project Not Found' });
    expect((await get(`/api/v4/projects/${project.id}/runners`, null)).statusCode).toBe(401);
  });
});

describe('GET /groups/:id/runners', () => {
  it('lists the group runners of the group and its ancestors plus instance runners, not descendants', async () => {
    expect(ids((await get(`/api/v4/groups/${group.id}/runners`)).json())).toEqual(idsOf('i1', 'i2', 'g1'));
    expect(ids((await get(`/api/v4/groups/${subgroup.id}/runners`)).json())).toEqual(idsOf('i1', 'i2', 'g1', 'g2'));
    expect(ids((await get(`/api/v4/groups/${encodeURIComponent('acme/tools')}/runners?type=group_type`)).json())).toEqual(idsOf('g1', 'g2'));
  });

  it('returns [] for type=project_type and ignores scope, which it does not declare', async () => {
    expect((await get(`/api/v4/groups/${group.id}/runners?type=project_type`)).json()).toEqual([]);
    const res = await get(`/api/v4/groups/${group.id}/runners?scope=bogus`);
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(idsOf('i1', 'i2', 'g1'));
  });

  it('leaves out instance runners when the group disables shared runners', async () => {
    const g = await t.fx.group();
    await t.ctx.prisma.namespace.update({ where: { id: g.id }, data: { shared_runners_enabled: false } });
    expect((await get(`/api/v4/groups/${g.id}/runners`)).json()).toEqual([]);
  });

  it.each([
    ['admin', 200],
    ['owner', 200],
    ['maintainer', 200],
    ['developer', 403],
    ['reporter', 403],
    ['guest', 403],
    ['nonMember', 404],
  ])('as %s answers %i', async (role, status) => {
    const res = await get(`/api/v4/groups/${group.id}/runners`, users[role]!.token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual({ message: '403 Forbidden' });
    if (status === 404) expect(res.json()).toEqual({ message: '404 Group Not Found' });
  });

  it('rejects invalid filters with 400', async () => {
    const res = await get(`/api/v4/groups/${group.id}/runners?status=not_connected`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'status does not have a valid value' });
  });
});

describe('pagination', () => {
  it('sets the offset headers and a Link carrying every parameter, sorted, with tag_list[]', async () => {
    const res = await get('/api/v4/runners/all?type=instance_type&tag_list=linux&paused=false&per_page=1');
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toEqual(idsOf('i1'));
    expect(res.headers['x-per-page']).toBe('1');
    expect(res.headers['x-page']).toBe('1');
    expect(res.headers['x-next-page']).toBe('');
    expect(res.headers['x-prev-page']).toBe('');
    expect(res.headers['x-total']).toBe('1');
    expect(res.headers['x-total-pages']).toBe('1');
    const q = 'paused=false&per_page=1&tag_list%5B%5D=linux&type=instance_type';
    expect(res.headers.link).toBe(
      `<http://gitlab.test/api/v4/runners/all?page=1&${q}>; rel="first", <http://gitlab.test/api/v4/runners/all?page=1&${q}>; rel="last"`,
    );
  });

  it('links prev, next, first and last in the middle of a list', async () => {
    const res = await get('/api/v4/runners/all?per_page=1&page=2&scope=specific');
    expect(ids(res.json())).toEqual(idsOf('p1'));
    expect(res.headers['x-next-page']).toBe('3');
    expect(res.headers['x-prev-page']).toBe('1');
    expect(res.headers['x-total']).toBe('4');
    expect(res.headers['x-total-pages']).toBe('4');
    const url = (page: number) => `http://gitlab.test/api/v4/runners/all?page=${page}&per_page=1&scope=specific`;
    expect(res.headers.link).toBe(`<${url(1)}>; rel="prev", <${url(3)}>; rel="next", <${url(1)}>; rel="first", <${url(4)}>; rel="last"`);
  });

  it('puts the route id into the Link of project and group lists, as GitLab', async () => {
    const res = await get(`/api/v4/projects/${project.id}/runners?per_page=2`);
    expect(res.headers['x-total']).toBe('5');
    expect(res.headers.link).toContain(`<http://gitlab.test/api/v4/projects/${project.id}/runners?id=${project.id}&page=2&per_page=2>; rel="next"`);
    const byPath = await get(`/api/v4/groups/${encodeURIComponent('acme/tools')}/runners?per_page=1`);
    expect(byPath.headers.link).toContain('runners?id=acme%2Ftools&page=2&per_page=1>; rel="next"');
  });

  it('clamps per_page to 100 and treats page 0 as 1; per_page=0 gives an empty page', async () => {
    const res = await get('/api/v4/runners/all?per_page=500&page=0');
    expect(res.headers['x-per-page']).toBe('100');
    expect(res.headers['x-page']).toBe('1');
    expect(ids(res.json())).toHaveLength(6);
    const empty = await get('/api/v4/runners/all?per_page=0');
    expect(empty.json()).toEqual([]);
  });

  it('omits X-Total, X-Total-Pages and the last link beyond 10,000 runners', async () => {
    await t.ctx.pool.query(
      `INSERT INTO runners (runner_type, token_digest, tag_list) SELECT 1, 'bulk-' || g, ARRAY['bulk'] FROM generate_series(1, 10001) g`,
    );
    const res = await get('/api/v4/runners/all?tag_list=bulk&per_page=100&page=3');
    expect(res.statusCode).toBe(200);
    expect(ids(res.json())).toHaveLength(100);
    expect(res.headers['x-total']).toBeUndefined();
    expect(res.headers['x-total-pages']).toBeUndefined();
    expect(res.headers['x-next-page']).toBe('4');
    expect(res.headers.link).not.toContain('rel="last"');
    expect(res.headers.link).toContain('rel="next"');
    const small = await get('/api/v4/runners/all?tag_list=linux');
    expect(small.headers['x-total']).toBe('2');
  });
});

describe('token scopes on the lists', () => {
  const cases: [string, Scope, number][] = [
    ['/api/v4/runners', 'api', 200],
    ['/api/v4/runners', 'read_api', 200],
    ['/api/v4/runners', 'manage_runner', 403],
    ['/api/v4/runners', 'create_runner', 403],
    ['/api/v4/runners/all', 'read_api', 200],
    ['/api/v4/runners/all', 'manage_runner', 403],
    ['/api/v4/runners/all', 'create_runner', 403],
    ['/api/v4/projects/:project/runners', 'read_api', 200],
    ['/api/v4/projects/:project/runners', 'manage_runner', 403],
    ['/api/v4/projects/:project/runners', 'create_runner', 403],
    ['/api/v4/groups/:group/runners', 'read_api', 200],
    ['/api/v4/groups/:group/runners', 'manage_runner', 403],
    ['/api/v4/groups/:group/runners', 'create_runner', 403],
  ];
  it.each(cases)('GET %s with a %s token answers %i', async (path, scope, status) => {
    const token = await t.fx.token(users.admin!.user, [scope]);
    const url = path.replace(':project', String(project.id)).replace(':group', String(group.id));
    const res = await get(url, token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toMatchObject({ error: 'insufficient_scope' });
  });
});
