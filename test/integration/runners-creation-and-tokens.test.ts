import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { ApplicationSetting, Namespace, Project, User } from '../../src/generated/prisma/client.js';
import type { Scope } from '../../src/plugins/auth.js';

// POST /user/runners (docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user) and the registration-token
// resets.

const INSTANCE_TOKEN = 'instanceRegToken1234';

let t: TestApp;
let group: Namespace;
let project: Project;
const users: Record<string, { user: User; token: string }> = {};

beforeAll(async () => {
  t = await createTestApp({ GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: INSTANCE_TOKEN });
  group = await t.fx.group({ path: 'acme' });
  project = await t.fx.project({ namespace: group, path: 'web' });
  users.admin = await t.fx.user({ admin: true });
  for (const role of ['owner', 'maintainer', 'developer', 'reporter', 'guest', 'nonMember']) users[role] = await t.fx.user();
  await t.fx.groupMember(group, users.owner!.user, 50);
  await t.fx.groupMember(group, users.maintainer!.user, 40);
  await t.fx.groupMember(group, users.developer!.user, 30);
  await t.fx.groupMember(group, users.reporter!.user, 20);
  await t.fx.groupMember(group, users.guest!.user, 10);
});
afterAll(async () => {
  await t?.close();
});

async function withSettings(patch: Partial<ApplicationSetting>, fn: () => Promise<void>) {
  const before = await t.ctx.prisma.applicationSetting.findUniqueOrThrow({ where: { id: 1 } });
  await t.ctx.prisma.applicationSetting.update({ where: { id: 1 }, data: patch });
  try {
    await fn();
  } finally {
    const restore = Object.fromEntries(Object.keys(patch).map((k) => [k, before[k as keyof ApplicationSetting]]));
    await t.ctx.prisma.applicationSetting.update({ where: { id: 1 }, data: restore });
  }
}

const create = (payload: unknown, token?: string | null) => t.api({ method: 'POST', url: '/api/v4/user/runners', payload: payload as never, token });
const verify = (token: string) => t.api({ method: 'POST', url: '/api/v4/runners/verify', payload: { token }, token: null });

describe('POST /user/runners', () => {
  it('creates an instance runner for an admin: 201 {id, token, token_expires_at} with a glrt-t1_ token', async () => {
    const res = await create({ runner_type: 'instance_type', description: 'shared', tag_list: 'a, b', paused: true, locked: 'true', access_level: 'ref_protected', maximum_timeout: 3600, maintenance_note: 'n' }, users.admin!.token);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['id', 'token', 'token_expires_at']);
    expect(body.token).toMatch(/^glrt-t1_[A-Za-z0-9_-]{20}$/);
    expect(body.token_expires_at).toBeNull();
    const row = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: body.id } });
    expect(row).toMatchObject({
      runner_type: 1, registration_type: 1, creator_id: users.admin!.user.id, active: false, locked: true, run_untagged: true, access_level: 1,
      maximum_timeout: 3600, maintenance_note: 'n', description: 'shared', tag_list: ['a', 'b'], sharding_key_id: null, creation_state: 0,
    });
    expect(row.token_digest).toBe(t.ctx.secrets.digest(body.token));
    expect((await verify(body.token)).statusCode).toBe(200);
  });

  it('creates a group runner for the group Owner and a project runner for a Maintainer', async () => {
    const g = await create({ runner_type: 'group_type', group_id: group.id }, users.owner!.token);
    expect(g.statusCode).toBe(201);
    expect(g.json().token).toMatch(/^glrt-t2_/);
    const grow = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: g.json().id }, include: { runner_namespaces: true } });
    expect(grow).toMatchObject({ runner_type: 2, sharding_key_id: group.id, description: null });
    expect(grow.runner_namespaces.map((n) => n.namespace_id)).toEqual([group.id]);

    const p = await create({ runner_type: 'project_type', project_id: project.id, description: '' }, users.maintainer!.token);
    expect(p.statusCode).toBe(201);
    expect(p.json().token).toMatch(/^glrt-t3_/);
    const prow = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: p.json().id }, include: { runner_projects: true } });
    expect(prow).toMatchObject({ runner_type: 3, sharding_key_id: project.id, description: null });
    expect(prow.runner_projects.map((rp) => rp.project_id)).toEqual([project.id]);
    // The creator sees it in their runner details.
    const details = await t.api({ method: 'GET', url: `/api/v4/runners/${p.json().id}`, token: users.maintainer!.token });
    expect(details.json().created_by.id).toBe(users.maintainer!.user.id);
  });

  it('accepts url-encoded and multipart bodies as curl sends them', async () => {
    const form = await t.api({
      method: 'POST',
      url: '/api/v4/user/runners',
      token: users.owner!.token,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `runner_type=group_type&group_id=${group.id}&tag_list[]=x&tag_list[]=y&run_untagged=false`,
    });
    expect(form.statusCode).toBe(201);
    expect((await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: form.json().id } })).tag_list).toEqual(['x', 'y']);
    const boundary = 'XyZ123';
    const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const multipart = await t.api({
      method: 'POST',
      url: '/api/v4/user/runners',
      token: users.maintainer!.token,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `${part('runner_type', 'project_type')}${part('project_id', String(project.id))}${part('description', 'from curl')}${part('paused', 'true')}--${boundary}--\r\n`,
    });
    expect(multipart.statusCode).toBe(201);
    expect(await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: multipart.json().id } })).toMatchObject({ description: 'from curl', active: false, runner_type: 3 });
  });

  it('computes token_expires_at from the instance interval', async () => {
    await withSettings({ runner_token_expiration_interval: 3600 }, async () => {
      const before = Date.now();
      const res = await create({ runner_type: 'instance_type' }, users.admin!.token);
      const expires = new Date(res.json().token_expires_at).getTime();
      expect(expires).toBeGreaterThanOrEqual(before + 3600_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
    });
  });

  it.each([
    [{}, { error: 'runner_type is missing, runner_type does not have a valid value' }],
    [{ runner_type: 'shared' }, { error: 'runner_type does not have a valid value' }],
    [{ runner_type: 'group_type' }, { error: 'group_id is missing' }],
    [{ runner_type: 'project_type' }, { error: 'project_id is missing' }],
    [{ runner_type: 'group_type', group_id: 'abc' }, { error: 'group_id is invalid' }],
    [{ runner_type: 'instance_type', paused: 'perhaps' }, { error: 'paused is invalid' }],
    [{ runner_type: 'instance_type', access_level: 'public' }, { error: 'access_level does not have a valid value' }],
    [{ paused: 'perhaps' }, { error: 'runner_type is missing, runner_type does not have a valid value, paused is invalid' }],
    [{ runner_type: 'group_type', group_id: 999999 }, { message: '400 Bad request - Missing/invalid group' }],
    [{ runner_type: 'project_type', project_id: 999999 }, { message: '400 Bad request - Missing/invalid project' }],
    [{ runner_type: 'instance_type', run_untagged: false }, { message: '400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs' }],
    [{ runner_type: 'instance_type', maximum_timeout: 60 }, { message: '400 Bad request - Maximum timeout needs to be at least 10 minutes' }],
  ])('rejects %j with 400 %j and creates nothing', async (payload, body) => {
    const before = await t.ctx.prisma.runner.count();
    const res = await create(payload, users.admin!.token);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(body);
    expect(await t.ctx.prisma.runner.count()).toBe(before);
  });

  const INSUFFICIENT = { message: '403 Forbidden - Insufficient permissions' };
  it.each([
    ['instance_type', 'admin', 201],
    ['instance_type', 'owner', 403],
    ['instance_type', 'nonMember', 403],
    ['group_type', 'admin', 201],
    ['group_type', 'owner', 201],
    ['group_type', 'maintainer', 403],
    ['group_type', 'developer', 403],
    ['group_type', 'nonMember', 403],
    ['project_type', 'admin', 201],
    ['project_type', 'owner', 201],
    ['project_type', 'maintainer', 201],
    ['project_type', 'developer', 403],
    ['project_type', 'reporter', 403],
    ['project_type', 'guest', 403],
    ['project_type', 'nonMember', 403],
  ])('a %s runner by %s answers %i', async (type, role, status) => {
    const payload = { runner_type: type, ...(type === 'group_type' ? { group_id: group.id } : type === 'project_type' ? { project_id: project.id } : {}) };
    const res = await create(payload, users[role]!.token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual(INSUFFICIENT);
  });

  it('refuses group and project owners when runner registration is off there, but not admins', async () => {
    const g = await t.fx.group();
    await t.fx.groupMember(g, users.owner!.user, 50);
    const p = await t.fx.project({ namespace: g });
    await t.ctx.prisma.namespace.update({ where: { id: g.id }, data: { runner_registration_enabled: false } });
    await t.ctx.prisma.project.update({ where: { id: p.id }, data: { runner_registration_enabled: false } });
    expect((await create({ runner_type: 'group_type', group_id: g.id }, users.owner!.token)).json()).toEqual(INSUFFICIENT);
    expect((await create({ runner_type: 'project_type', project_id: p.id }, users.owner!.token)).json()).toEqual(INSUFFICIENT);
    expect((await create({ runner_type: 'group_type', group_id: g.id }, users.admin!.token)).statusCode).toBe(201);
  });

  it.each([
    ['create_runner', 201],
    ['api', 201],
    ['read_api', 403],
    ['manage_runner', 403],
  ] as [Scope, number][])('with a %s token answers %i', async (scope, status) => {
    const token = await t.fx.token(users.admin!.user, [scope]);
    const res = await create({ runner_type: 'instance_type' }, token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json().error).toContain('insufficient_scope');
  });

  it('answers 401 to anonymous requests', async () => {
    const res = await create({ runner_type: 'instance_type' }, null);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: '401 Unauthorized' });
  });
});

describe('POST /runners/reset_registration_token', () => {
  const reset = (token?: string | null) => t.api({ method: 'POST', url: '/api/v4/runners/reset_registration_token', token });
  const registerWith = (token: string) => t.api({ method: 'POST', url: '/api/v4/runners', payload: { token }, token: null });

  it('gives admins a new 20-character token and retires the old one', async () => {
    const res = await reset(users.admin!.token);
    expect(res.statusCode).toBe(201);
    expect(Object.keys(res.json())).toEqual(['token']);
    expect(res.json().token).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect((await registerWith(res.json().token)).statusCode).toBe(201);
    expect((await registerWith(INSTANCE_TOKEN)).statusCode).toBe(403);
  });

  it('answers 403 to non-admins, and to admins while registration tokens are disallowed; 401 to anonymous', async () => {
    const denied = await reset(users.owner!.token);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({ message: '403 Forbidden' });
    await withSettings({ allow_runner_registration_token: false }, async () => {
      const res = await reset(users.admin!.token);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: '403 Forbidden' });
    });
    expect((await reset(null)).statusCode).toBe(401);
  });
});

describe('POST /projects/:id/runners/reset_registration_token and /groups/:id/…', () => {
  const resetProject = (id: string | number, token?: string | null) => t.api({ method: 'POST', url: `/api/v4/projects/${id}/runners/reset_registration_token`, token });
  const resetGroup = (id: string | number, token?: string | null) => t.api({ method: 'POST', url: `/api/v4/groups/${id}/runners/reset_registration_token`, token });

  it('resets the project token to a new GR1348941 token that registers project runners', async () => {
    const res = await resetProject(project.id, users.maintainer!.token);
    expect(res.statusCode).toBe(201);
    expect(Object.keys(res.json())).toEqual(['token']);
    expect(res.json().token).toMatch(/^GR1348941[A-Za-z0-9_-]{20}$/);
    const row = await t.ctx.prisma.project.findUniqueOrThrow({ where: { id: project.id } });
    expect(row.runners_token_digest).toBe(t.ctx.secrets.digest(res.json().token));
    expect(t.ctx.secrets.decrypt(row.runners_token_encrypted!)).toBe(res.json().token);
    const reg = await t.api({ method: 'POST', url: '/api/v4/runners', payload: { token: res.json().token }, token: null });
    expect(reg.statusCode).toBe(201);
    expect((await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: reg.json().id } })).runner_type).toBe(3);
  });

  it('resets the group token for the group Owner', async () => {
    const res = await resetGroup(encodeURIComponent('acme'), users.owner!.token);
    expect(res.statusCode).toBe(201);
    expect(res.json().token).toMatch(/^GR1348941/);
    expect((await t.ctx.prisma.namespace.findUniqueOrThrow({ where: { id: group.id } })).runners_token_digest).toBe(t.ctx.secrets.digest(res.json().token));
  });

  it.each([
    ['admin', 201, 201],
    ['owner', 201, 201],
    ['maintainer', 201, 403],
    ['developer', 403, 403],
    ['reporter', 403, 403],
    ['guest', 403, 403],
    ['nonMember', 404, 404],
  ])('as %s: project %i, group %i', async (role, projectStatus, groupStatus) => {
    const p = await resetProject(project.id, users[role]!.token);
    expect(p.statusCode).toBe(projectStatus);
    if (projectStatus === 403) expect(p.json()).toEqual({ message: '403 Forbidden' });
    if (projectStatus === 404) expect(p.json()).toEqual({ message: '404 Project Not Found' });
    const g = await resetGroup(group.id, users[role]!.token);
    expect(g.statusCode).toBe(groupStatus);
    if (groupStatus === 403) expect(g.json()).toEqual({ message: '403 Forbidden' });
    if (groupStatus === 404) expect(g.json()).toEqual({ message: '404 Group Not Found' });
  });

  it('answers 404 for unknown or malformed ids and 401 to anonymous', async () => {
    expect((await resetProject('some%20string')).json()).toEqual({ message: '404 Project Not Found' });
    expect((await resetGroup(999999)).json()).toEqual({ message: '404 Group Not Found' });
    expect((await resetProject(project.id, null)).statusCode).toBe(401);
  });

  it('answers 403 while the root group disallows registration tokens', async () => {
    await t.ctx.prisma.namespace.update({ where: { id: group.id }, data: { allow_runner_registration_token: false } });
    try {
      expect((await resetProject(project.id, users.admin!.token)).statusCode).toBe(403);
      expect((await resetGroup(group.id, users.admin!.token)).statusCode).toBe(403);
    } finally {
      await t.ctx.prisma.namespace.update({ where: { id: group.id }, data: { allow_runner_registration_token: true } });
    }
  });
});
