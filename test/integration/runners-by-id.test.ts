import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Namespace, Project, Runner, User } from '../../src/generated/prisma/client.js';
import type { RunnerTypeName } from '../../src/lib/tokens.js';
import type { Scope } from '../../src/plugins/auth.js';

// One runner by id (docs.gitlab.com/api/runners): details, update, delete,
// managers, projects and token reset, for every role and runner type.

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);

let t: TestApp;
let group: Namespace;
let project: Project;
let otherProject: Project;
const users: Record<string, { user: User; token: string }> = {};

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'acme' });
  project = await t.fx.project({ namespace: group, path: 'web' });
  otherProject = await t.fx.project({ namespace: group, path: 'api' });
  users.admin = await t.fx.user({ admin: true });
  for (const role of ['owner', 'maintainer', 'developer', 'reporter', 'guest', 'nonMember', 'projectMaintainer', 'otherMaintainer']) {
    users[role] = await t.fx.user({ username: `u_${role.toLowerCase()}` });
  }
  await t.fx.groupMember(group, users.owner!.user, 50);
  await t.fx.groupMember(group, users.maintainer!.user, 40);
  await t.fx.groupMember(group, users.developer!.user, 30);
  await t.fx.groupMember(group, users.reporter!.user, 20);
  await t.fx.groupMember(group, users.guest!.user, 10);
  await t.fx.projectMember(project, users.projectMaintainer!.user, 40);
  await t.fx.projectMember(otherProject, users.otherMaintainer!.user, 40);
});
afterAll(async () => {
  await t?.close();
});

type Method = 'GET' | 'PUT' | 'DELETE' | 'POST';
const call = (method: Method, url: string, opts: { token?: string | null; payload?: unknown; headers?: Record<string, string> } = {}) =>
  t.api({ method, url, token: opts.token, payload: opts.payload as never, headers: opts.headers });

async function makeRunner(type: RunnerTypeName, extra: Parameters<TestApp['fx']['runner']>[0] = {}): Promise<Runner> {
  const where = type === 'group_type' ? { group } : type === 'project_type' ? { projects: [project] } : {};
  return (await t.fx.runner({ type, ...where, ...extra })).runner;
}

const TYPES: RunnerTypeName[] = ['instance_type', 'group_type', 'project_type'];

/** Expected statuses per role, for [instance, group, project] runners. */
const READ: Record<string, [number, number, number]> = {
  admin: [200, 200, 200],
  owner: [200, 200, 200],
  maintainer: [200, 200, 200],
  projectMaintainer: [200, 200, 200],
  developer: [200, 403, 403],
  reporter: [200, 403, 403],
  guest: [200, 403, 403],
  nonMember: [200, 403, 403],
  anonymous: [401, 401, 401],
};
const UPDATE: Record<string, [number, number, number]> = {
  admin: [200, 200, 200],
  owner: [403, 200, 200],
  maintainer: [403, 403, 200],
  projectMaintainer: [403, 403, 200],
  developer: [403, 403, 403],
  reporter: [403, 403, 403],
  guest: [403, 403, 403],
  nonMember: [403, 403, 403],
  anonymous: [401, 401, 401],
};
const JOBS: Record<string, [number, number, number]> = {
  admin: [200, 200, 200],
  owner: [403, 200, 200],
  maintainer: [403, 200, 200],
  projectMaintainer: [403, 403, 200],
  developer: [403, 403, 403],
  reporter: [403, 403, 403],
  guest: [403, 403, 403],
  nonMember: [403, 403, 403],
  anonymous: [401, 401, 401],
};
const matrix = (table: Record<string, [number, number, number]>) =>
  Object.entries(table).flatMap(([role, codes]) => TYPES.map((type, i) => [role, type, codes[i]!] as [string, RunnerTypeName, number]));

/** The role's token; anonymous requests carry none. */
const tokenOf = (role: string) => (role === 'anonymous' ? null : users[role]!.token);

const NO_ACCESS = { message: '403 Forbidden - No access granted' };
const NOT_FOUND = { message: '404 Runner Not Found' };

describe('GET /runners/:id', () => {
  it('shows RunnerDetails with keys in GitLab order, the latest manager, projects and groups', async () => {
    const creator = users.owner!.user;
    const runner = await makeRunner('project_type', {
      creator,
      tags: ['b', 'a'],
      maintenanceNote: 'rack 4',
      contactedAt: ago(60_000),
      description: 'web runner',
    });
    await t.ctx.prisma.runner.update({ where: { id: runner.id }, data: { maximum_timeout: 3600, access_level: 1, name: 'gitlab-runner' } });
    await t.ctx.prisma.runnerManager.create({
      data: { runner_id: runner.id, system_xid: 'old', version: '15.0.0', revision: 'aaa', platform: 'darwin', architecture: 'arm64', contacted_at: ago(DAY), creation_state: 100 },
    });
    await t.ctx.prisma.runnerManager.create({
      data: { runner_id: runner.id, system_xid: 'new', version: '17.1.0', revision: 'bbb', platform: 'linux', architecture: 'amd64', contacted_at: ago(1000), creation_state: 100 },
    });
    const res = await call('GET', `/api/v4/runners/${runner.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body)).toEqual([
      'id', 'description', 'ip_address', 'active', 'paused', 'is_shared', 'runner_type', 'name', 'online', 'created_by', 'created_at', 'status',
      'job_execution_status', 'tag_list', 'run_untagged', 'locked', 'maximum_timeout', 'access_level', 'version', 'revision', 'platform',
      'architecture', 'contacted_at', 'maintenance_note', 'projects', 'groups',
    ]);
    expect(body).toMatchObject({
      id: runner.id,
      description: 'web runner',
      ip_address: null,
      active: true,
      paused: false,
      is_shared: false,
      runner_type: 'project_type',
      name: 'gitlab-runner',
      online: true,
      status: 'online',
      job_execution_status: 'idle',
      tag_list: ['b', 'a'],
      run_untagged: true,
      locked: false,
      maximum_timeout: 3600,
      access_level: 'ref_protected',
      version: '17.1.0',
      revision: 'bbb',
      platform: 'linux',
      architecture: 'amd64',
      maintenance_note: 'rack 4',
      groups: [],
    });
    expect(body.created_at).toBe(runner.created_at.toISOString());
    expect(body.contacted_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.created_by).toEqual({
      id: creator.id, username: creator.username, name: creator.name, state: 'active', locked: false, avatar_url: null, web_url: `http://gitlab.test/${creator.username}`,
    });
    expect(body.projects).toHaveLength(1);
    expect(body.projects[0]).toMatchObject({
      id: project.id,
      name: 'web',
      name_with_namespace: 'acme / web',
      path: 'web',
      path_with_namespace: 'acme/web',
      default_branch: 'main',
      http_url_to_repo: 'http://gitlab.test/acme/web.git',
      web_url: 'http://gitlab.test/acme/web',
      namespace: { id: group.id, kind: 'group', full_path: 'acme', web_url: 'http://gitlab.test/groups/acme' },
    });
    expect(body).not.toHaveProperty('token');
  });

  it('omits created_by without a creator, and projects with include_projects=false', async () => {
    const runner = await makeRunner('group_type');
    const body = (await call('GET', `/api/v4/runners/${runner.id}?include_projects=false`)).json();
    expect(body).not.toHaveProperty('created_by');
    expect(body).not.toHaveProperty('projects');
    expect(body.groups).toEqual([{ id: group.id, web_url: 'http://gitlab.test/groups/acme', name: 'acme' }]);
    expect(body).toMatchObject({ version: null, revision: null, platform: null, architecture: null, contacted_at: null, status: 'never_contacted', online: null });
  });

  it('shows maintenance_note only to users who may update the runner', async () => {
    const runner = await makeRunner('group_type', { maintenanceNote: 'secret-ish' });
    expect((await call('GET', `/api/v4/runners/${runner.id}`, { token: users.owner!.token })).json().maintenance_note).toBe('secret-ish');
    expect((await call('GET', `/api/v4/runners/${runner.id}`, { token: users.maintainer!.token })).json().maintenance_note).toBeNull();
  });

  it('lists only the assigned projects the reader is a member of; admins see all', async () => {
    const runner = await makeRunner('project_type', { projects: [project, otherProject] });
    const own = (await call('GET', `/api/v4/runners/${runner.id}`, { token: users.projectMaintainer!.token })).json();
    expect(own.projects.map((p: { id: number }) => p.id)).toEqual([project.id]);
    const admin = (await call('GET', `/api/v4/runners/${runner.id}`, { token: users.admin!.token })).json();
    expect(admin.projects.map((p: { id: number }) => p.id)).toEqual([project.id, otherProject.id]);
  });

  it('names projects in subgroups by their whole chain and hides read_code fields from a guest of a private project', async () => {
    const sub = await t.fx.group({ parent: group, path: 'platform' });
    const deep = await t.fx.project({ namespace: sub, path: 'deploy' });
    const guest = await t.fx.user({ username: 'u_deploy_guest' });
    await t.fx.projectMember(deep, guest.user, 10);
    const runner = await makeRunner('project_type', { projects: [deep, project] });

    const admin = (await call('GET', `/api/v4/runners/${runner.id}`)).json();
    expect(admin.projects.map((p: { id: number }) => p.id)).toEqual([project.id, deep.id].sort((a, b) => a - b));
    const shown = admin.projects.find((p: { id: number }) => p.id === deep.id);
    expect(shown).toMatchObject({
      name_with_namespace: 'acme / platform / deploy',
      path_with_namespace: 'acme/platform/deploy',
      default_branch: 'main',
      readme_url: null,
      forks_count: 0,
      created_at: deep.created_at.toISOString(),
      last_activity_at: deep.last_activity_at.toISOString(),
      namespace: { id: sub.id, name: 'platform', path: 'platform', kind: 'group', full_path: 'acme/platform', parent_id: group.id },
    });

    // A guest may not read the runner itself (403), so the per-reader filter is seen through a maintainer of both.
    const both = await t.fx.user({ username: 'u_deploy_maint' });
    await t.fx.projectMember(deep, both.user, 40);
    const view = (await call('GET', `/api/v4/runners/${runner.id}`, { token: both.token })).json();
    expect(view.projects.map((p: { id: number }) => p.id)).toEqual([deep.id]);
    expect(view.projects[0]).toHaveProperty('default_branch', 'main');
    expect((await call('GET', `/api/v4/runners/${runner.id}`, { token: guest.token })).statusCode).toBe(403);
  });

  it('shows a group runner its group only to readers who are members of it', async () => {
    const runner = await makeRunner('group_type');
    const owner = (await call('GET', `/api/v4/runners/${runner.id}`, { token: users.owner!.token })).json();
    expect(owner.groups).toEqual([{ id: group.id, web_url: 'http://gitlab.test/groups/acme', name: 'acme' }]);
    // A Maintainer of a project that uses the group's runners may read the runner, but is no member of the group.
    const viaProject = await call('GET', `/api/v4/runners/${runner.id}`, { token: users.projectMaintainer!.token });
    expect(viaProject.statusCode).toBe(200);
    expect(viaProject.json().groups).toEqual([]);
  });

  it('falls back to the first-assigned project as owner once the owning project is gone', async () => {
    const doomed = await t.fx.project({ namespace: group, path: 'doomed' });
    const runner = await makeRunner('project_type', { projects: [doomed, project], maintenanceNote: 'moved' });
    await t.ctx.prisma.runner.update({ where: { id: runner.id }, data: { sharding_key_id: doomed.id } });
    await t.ctx.prisma.project.delete({ where: { id: doomed.id } });
    const res = await call('GET', `/api/v4/runners/${runner.id}`, { token: users.projectMaintainer!.token });
    expect(res.statusCode).toBe(200);
    expect(res.json().projects.map((p: { id: number }) => p.id)).toEqual([project.id]);
    // The remaining project owns it now: its Maintainer may update the runner, so maintenance_note is shown.
    expect(res.json().maintenance_note).toBe('moved');
  });

  it('reports job_execution_status active while a job runs', async () => {
    const runner = await makeRunner('project_type');
    const pipeline = await t.ctx.prisma.pipeline.create({ data: { iid: 1000 + runner.id, project_id: project.id, ref: 'main', sha: 'a'.repeat(40), before_sha: '0'.repeat(40) } });
    await t.ctx.prisma.job.create({ data: { project_id: project.id, pipeline_id: pipeline.id, name: 'build', stage: 'build', ref: 'main', status: 'running', runner_id: runner.id } });
    expect((await call('GET', `/api/v4/runners/${runner.id}`)).json().job_execution_status).toBe('active');
    const list = (await call('GET', `/api/v4/projects/${project.id}/runners?type=project_type`)).json() as { id: number; job_execution_status: string }[];
    expect(list.find((x) => x.id === runner.id)?.job_execution_status).toBe('active');
  });

  it.each(matrix(READ))('as %s on a %s runner answers %i', async (role, type, status) => {
    const runner = await makeRunner(type);
    const res = await call('GET', `/api/v4/runners/${runner.id}`, { token: tokenOf(role) });
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual(NO_ACCESS);
  });

  it('answers 404 Runner Not Found, 400 for a non-integer id or bad include_projects, 401 to anonymous', async () => {
    expect((await call('GET', '/api/v4/runners/999999')).json()).toEqual(NOT_FOUND);
    expect((await call('GET', '/api/v4/runners/999999')).statusCode).toBe(404);
    const bad = await call('GET', '/api/v4/runners/abc');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'id is invalid' });
    const runner = await makeRunner('instance_type');
    const flag = await call('GET', `/api/v4/runners/${runner.id}?include_projects=maybe`);
    expect(flag.statusCode).toBe(400);
    expect(flag.json()).toEqual({ error: 'include_projects is invalid' });
    const anon = await call('GET', `/api/v4/runners/${runner.id}`, { token: null });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toEqual({ message: '401 Unauthorized' });
  });
});

describe('PUT /runners/:id', () => {
  it('updates every attribute and answers RunnerDetails', async () => {
    const runner = await makeRunner('project_type');
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, {
      payload: {
        description: 'new', paused: true, tag_list: ['x', 'y'], run_untagged: false, locked: true, access_level: 'ref_protected',
        maximum_timeout: 600, maintenance_note: 'note',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: runner.id, description: 'new', active: false, paused: true, status: 'never_contacted', tag_list: ['x', 'y'], run_untagged: false, locked: true,
      access_level: 'ref_protected', maximum_timeout: 600, maintenance_note: 'note',
    });
    const row = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
    expect(row).toMatchObject({ description: 'new', active: false, tag_list: ['x', 'y'], locked: true, access_level: 1, maximum_timeout: 600 });
  });

  it('accepts the deprecated active, comma-separated tags and a form body', async () => {
    const runner = await makeRunner('instance_type');
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, {
      payload: 'active=false&tag_list=a%2C+b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ active: false, paused: true, tag_list: ['a', 'b'] });
  });

  it.each([
    [{}, 'description, active, paused, tag_list, run_untagged, locked, access_level, maximum_timeout, maintenance_note are missing, at least one parameter must be provided'],
    [{ maintainer_note: 'ignored' }, 'description, active, paused, tag_list, run_untagged, locked, access_level, maximum_timeout, maintenance_note are missing, at least one parameter must be provided'],
    [{ active: true, paused: true }, 'active, paused are mutually exclusive'],
    [{ access_level: 'public' }, 'access_level does not have a valid value'],
    [{ maximum_timeout: 'long' }, 'maximum_timeout is invalid'],
    [{ locked: 'perhaps' }, 'locked is invalid'],
  ])('rejects %j with 400 %s', async (payload, error) => {
    const runner = await makeRunner('instance_type', { description: 'before' });
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, { payload });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error });
    expect((await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } })).description).toBe('before');
  });

  it.each([
    [{ maximum_timeout: 100 }, { maximum_timeout: ['needs to be at least 10 minutes'] }],
    [{ run_untagged: false }, { tags_list: ['can not be empty when runner is not allowed to pick untagged jobs'] }],
    [{ tag_list: Array.from({ length: 51 }, (_, i) => `t${i}`) }, { tags_list: ['Too many tags specified. Please limit the number of tags to 50'] }],
    [{ description: 'x'.repeat(1025) }, { description: ['is too long (maximum is 1024 characters)'] }],
    [{ maintenance_note: 'x'.repeat(1025) }, { maintenance_note: ['is too long (maximum is 1024 characters)'] }],
  ])('answers model validation errors for %j as {"message":{attr:[…]}} and changes nothing', async (payload, message) => {
    const runner = await makeRunner('instance_type', { description: 'before' });
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, { payload });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ message });
    const row = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
    expect(row).toMatchObject({ description: 'before', tag_list: [], run_untagged: true, maximum_timeout: null });
  });

  it('still updates other attributes of a runner that already has more than 50 tags', async () => {
    const runner = await makeRunner('instance_type', { tags: Array.from({ length: 55 }, (_, i) => `t${i}`) });
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, { payload: { description: 'fine' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().tag_list).toHaveLength(55);
  });

  it('lets a maintainer of any assigned project update a runner shared by several projects', async () => {
    const runner = await makeRunner('project_type', { projects: [project, otherProject] });
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, { token: users.otherMaintainer!.token, payload: { description: 'shared' } });
    expect(res.statusCode).toBe(200);
    const single = await makeRunner('project_type');
    const denied = await call('PUT', `/api/v4/runners/${single.id}`, { token: users.otherMaintainer!.token, payload: { description: 'x' } });
    expect(denied.statusCode).toBe(403);
  });

  it.each(matrix(UPDATE))('as %s on a %s runner answers %i', async (role, type, status) => {
    const runner = await makeRunner(type, { description: 'before' });
    const res = await call('PUT', `/api/v4/runners/${runner.id}`, { token: tokenOf(role), payload: { description: 'after' } });
    expect(res.statusCode).toBe(status);
    const row = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
    expect(row.description).toBe(status === 200 ? 'after' : 'before');
    if (status === 403) expect(res.json()).toEqual(NO_ACCESS);
  });

  it('answers 404 for an unknown runner, after validating parameters', async () => {
    expect((await call('PUT', '/api/v4/runners/999999', { payload: { description: 'x' } })).json()).toEqual(NOT_FOUND);
    expect((await call('PUT', '/api/v4/runners/999999', { payload: {} })).statusCode).toBe(400);
  });
});

describe('DELETE /runners/:id', () => {
  it('deletes the runner with its managers and links, and keeps its jobs', async () => {
    const runner = await makeRunner('project_type');
    await t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid: 'm' } });
    const pipeline = await t.ctx.prisma.pipeline.create({ data: { iid: 5000 + runner.id, project_id: project.id, ref: 'main', sha: 'a'.repeat(40), before_sha: '0'.repeat(40) } });
    const job = await t.ctx.prisma.job.create({ data: { project_id: project.id, pipeline_id: pipeline.id, name: 'b', stage: 'build', ref: 'main', status: 'success', runner_id: runner.id } });
    const res = await call('DELETE', `/api/v4/runners/${runner.id}`, { headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
    expect(await t.ctx.prisma.runnerManager.count({ where: { runner_id: runner.id } })).toBe(0);
    expect(await t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id } })).toBe(0);
    expect((await t.ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).runner_id).toBeNull();
  });

  it('refuses a runner of several projects to non-admins before checking their access', async () => {
    for (const role of ['projectMaintainer', 'nonMember']) {
      const runner = await makeRunner('project_type', { projects: [project, otherProject] });
      const res = await call('DELETE', `/api/v4/runners/${runner.id}`, { token: tokenOf(role) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: '403 Forbidden - Runner associated with more than one project' });
    }
    const runner = await makeRunner('project_type', { projects: [project, otherProject] });
    expect((await call('DELETE', `/api/v4/runners/${runner.id}`, { token: users.admin!.token })).statusCode).toBe(204);
  });

  it('answers 412 when If-Unmodified-Since is older than the runner, and deletes when it is not', async () => {
    const runner = await makeRunner('instance_type');
    const old = await call('DELETE', `/api/v4/runners/${runner.id}`, { headers: { 'if-unmodified-since': new Date(Date.now() - DAY).toUTCString() } });
    expect(old.statusCode).toBe(412);
    expect(old.json()).toEqual({ message: '412 Precondition Failed' });
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).not.toBeNull();
    const fresh = await call('DELETE', `/api/v4/runners/${runner.id}`, { headers: { 'if-unmodified-since': new Date(Date.now() + DAY).toUTCString() } });
    expect(fresh.statusCode).toBe(204);
  });

  const DELETE_MATRIX = matrix(UPDATE).map(([role, type, status]) => [role, type, status === 200 ? 204 : status] as [string, RunnerTypeName, number]);
  it.each(DELETE_MATRIX)('as %s on a %s runner answers %i', async (role, type, status) => {
    const runner = await makeRunner(type);
    const res = await call('DELETE', `/api/v4/runners/${runner.id}`, { token: tokenOf(role) });
    expect(res.statusCode).toBe(status);
    const exists = (await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })) !== null;
    expect(exists).toBe(status !== 204);
    if (status === 403) expect(res.json()).toEqual(NO_ACCESS);
  });

  it('answers 404 for an unknown runner and 401 to anonymous', async () => {
    expect((await call('DELETE', '/api/v4/runners/999999')).json()).toEqual(NOT_FOUND);
    const runner = await makeRunner('instance_type');
    expect((await call('DELETE', `/api/v4/runners/${runner.id}`, { token: null })).statusCode).toBe(401);
  });
});

describe('GET /runners/:id/managers', () => {
  it('lists managers by id with their own status, IP and execution status', async () => {
    const runner = await makeRunner('instance_type');
    const online = await t.ctx.prisma.runnerManager.create({
      data: { runner_id: runner.id, system_xid: 'r-online', version: '17.0.0', revision: 'abc', platform: 'linux', architecture: 'amd64', ip_address: '10.0.0.1', contacted_at: ago(1000), creation_state: 100 },
    });
    const fresh = await t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid: 'r-new' } });
    const offline = await t.ctx.prisma.runnerManager.create({ data: { runner_id: runner.id, system_xid: 'r-off', contacted_at: ago(3 * HOUR), creation_state: 100 } });
    const stale = await t.ctx.prisma.runnerManager.create({
      data: { runner_id: runner.id, system_xid: 'r-stale', contacted_at: ago(8 * DAY), created_at: ago(9 * DAY), creation_state: 100 },
    });
    const pipeline = await t.ctx.prisma.pipeline.create({ data: { iid: 9000 + runner.id, project_id: project.id, ref: 'main', sha: 'a'.repeat(40), before_sha: '0'.repeat(40) } });
    await t.ctx.prisma.job.create({
      data: { project_id: project.id, pipeline_id: pipeline.id, name: 'b', stage: 'build', ref: 'main', status: 'running', runner_id: runner.id, runner_manager_id: online.id },
    });
    const res = await call('GET', `/api/v4/runners/${runner.id}/managers`, { token: users.nonMember!.token });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(res.headers.link).toBeUndefined();
    expect(body.map((m: { id: number }) => m.id)).toEqual([online.id, fresh.id, offline.id, stale.id]);
    expect(Object.keys(body[0])).toEqual([
      'id', 'system_id', 'version', 'revision', 'platform', 'architecture', 'created_at', 'contacted_at', 'ip_address', 'status', 'job_execution_status',
    ]);
    expect(body[0]).toMatchObject({ system_id: 'r-online', version: '17.0.0', ip_address: '10.0.0.1', status: 'online', job_execution_status: 'active' });
    expect(body.map((m: { status: string }) => m.status)).toEqual(['online', 'never_contacted', 'offline', 'stale']);
    expect(body[1].job_execution_status).toBe('idle');
  });

  it('answers [] without managers, 403 without read access and 404 for an unknown runner', async () => {
    const runner = await makeRunner('group_type');
    expect((await call('GET', `/api/v4/runners/${runner.id}/managers`)).json()).toEqual([]);
    const denied = await call('GET', `/api/v4/runners/${runner.id}/managers`, { token: users.developer!.token });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual(NO_ACCESS);
    expect((await call('GET', '/api/v4/runners/999999/managers')).json()).toEqual(NOT_FOUND);
  });
});

describe('GET /runners/:id/projects', () => {
  it('lists the assigned projects the reader can see, newest first, paginated', async () => {
    const third = await t.fx.project({ namespace: group, path: 'docs' });
    const runner = await makeRunner('project_type', { projects: [project, otherProject, third] });
    const res = await call('GET', `/api/v4/runners/${runner.id}/projects?per_page=2`);
    expect(res.statusCode).toBe(200);
    expect(res.json().map((p: { id: number }) => p.id)).toEqual([third.id, otherProject.id]);
    expect(res.headers['x-total']).toBe('3');
    expect(res.headers.link).toContain(`/api/v4/runners/${runner.id}/projects?id=${runner.id}&page=2&per_page=2>; rel="next"`);
    expect(Object.keys(res.json()[0]).slice(0, 8)).toEqual(['id', 'description', 'name', 'name_with_namespace', 'path', 'path_with_namespace', 'created_at', 'default_branch']);
    const mine = await call('GET', `/api/v4/runners/${runner.id}/projects`, { token: users.projectMaintainer!.token });
    expect(mine.json().map((p: { id: number }) => p.id)).toEqual([project.id]);
  });

  it('answers 403 to users who cannot read the runner', async () => {
    const runner = await makeRunner('project_type');
    expect((await call('GET', `/api/v4/runners/${runner.id}/projects`, { token: users.developer!.token })).json()).toEqual(NO_ACCESS);
  });
});

describe('POST /runners/:id/reset_authentication_token', () => {
  it('issues a new token of the same kind; the old one stops working at once', async () => {
    const { runner, token: oldToken } = await t.fx.runner({ projects: [project] });
    const res = await call('POST', `/api/v4/runners/${runner.id}/reset_authentication_token`);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['token', 'token_expires_at']);
    expect(body.token).toMatch(/^t3_[A-Za-z0-9_-]{20}$/);
    expect(body.token_expires_at).toBeNull();
    const row = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
    expect(row.token_digest).toBe(t.ctx.secrets.digest(body.token));
    expect((await t.api({ method: 'POST', url: '/api/v4/runners/verify', payload: { token: oldToken }, token: null })).statusCode).toBe(403);
    expect((await t.api({ method: 'POST', url: '/api/v4/runners/verify', payload: { token: body.token }, token: null })).statusCode).toBe(200);
  });

  it('keeps the glrt- prefix of created runners and recomputes the expiry from the group interval', async () => {
    const sub = await t.fx.group({ parent: group });
    await t.ctx.prisma.namespace.update({ where: { id: sub.id }, data: { runner_token_expiration_interval: 5 * 24 * 3600 } });
    const { runner } = await t.fx.runner({ group: sub, creator: users.owner!.user });
    const before = Date.now();
    const res = await call('POST', `/api/v4/runners/${runner.id}/reset_authentication_token`, { token: users.owner!.token });
    expect(res.statusCode).toBe(201);
    expect(res.json().token).toMatch(/^glrt-t2_[A-Za-z0-9_-]{20}$/);
    const expires = new Date(res.json().token_expires_at).getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 5 * DAY);
    expect(expires).toBeLessThanOrEqual(Date.now() + 5 * DAY);
  });

  it.each(matrix(UPDATE).map(([role, type, status]) => [role, type, status === 200 ? 201 : status] as [string, RunnerTypeName, number]))(
    'as %s on a %s runner answers %i',
    async (role, type, status) => {
      const runner = await makeRunner(type);
      const res = await call('POST', `/api/v4/runners/${runner.id}/reset_authentication_token`, { token: tokenOf(role) });
      expect(res.statusCode).toBe(status);
      const row = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
      expect(row.token_digest !== runner.token_digest).toBe(status === 201);
      if (status === 403) expect(res.json()).toEqual(NO_ACCESS);
    },
  );

  it('answers 404 for an unknown runner', async () => {
    expect((await call('POST', '/api/v4/runners/999999/reset_authentication_token')).json()).toEqual(NOT_FOUND);
  });
});

describe('GET /runners/:id/jobs permissions', () => {
  it.each(matrix(JOBS))('as %s on a %s runner answers %i', async (role, type, status) => {
    const runner = await makeRunner(type);
    const res = await call('GET', `/api/v4/runners/${runner.id}/jobs`, { token: tokenOf(role) });
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual(NO_ACCESS);
  });
});

describe('token scopes on /runners/:id routes', () => {
  const cases: [Method, string, Scope, number][] = [
    ['GET', '', 'read_api', 200],
    ['GET', '', 'manage_runner', 200],
    ['GET', '', 'create_runner', 403],
    ['PUT', '', 'manage_runner', 200],
    ['PUT', '', 'read_api', 403],
    ['PUT', '', 'create_runner', 403],
    ['DELETE', '', 'manage_runner', 204],
    ['DELETE', '', 'read_api', 403],
    ['DELETE', '', 'create_runner', 403],
    ['POST', '/reset_authentication_token', 'manage_runner', 201],
    ['POST', '/reset_authentication_token', 'read_api', 403],
    ['POST', '/reset_authentication_token', 'create_runner', 403],
    ['GET', '/jobs', 'manage_runner', 200],
    ['GET', '/jobs', 'read_api', 200],
    ['GET', '/jobs', 'create_runner', 403],
    ['GET', '/managers', 'manage_runner', 200],
    ['GET', '/projects', 'manage_runner', 200],
  ];
  it.each(cases)('%s /runners/:id%s with a %s token answers %i', async (method, suffix, scope, status) => {
    const runner = await makeRunner('instance_type');
    const token = await t.fx.token(users.admin!.user, [scope]);
    const res = await call(method, `/api/v4/runners/${runner.id}${suffix}`, { token, payload: method === 'PUT' ? { description: 'x' } : undefined });
    expect(res.statusCode).toBe(status);
    if (status === 403) {
      expect(res.json()).toMatchObject({
        error: 'insufficient_scope',
        error_description: 'The request requires higher privileges than provided by the access token.',
      });
    }
  });
});
