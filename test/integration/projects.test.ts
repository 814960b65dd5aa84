import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const OWNER = 50;
const MAINTAINER = 40;
const DEVELOPER = 30;
const GUEST = 10;

describe('POST /projects', () => {
  it('creates a project in the caller\'s personal namespace when no namespace_id is given', async () => {
    const { user, token } = await t.fx.user();
    const res = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'My Tool', description: 'a tool' }, token });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body).slice(0, 8)).toEqual(['id', 'description', 'name', 'name_with_namespace', 'path', 'path_with_namespace', 'created_at', 'default_branch']);
    expect(body).toMatchObject({
      name: 'My Tool',
      path: 'my-tool',
      path_with_namespace: `${user.username}/my-tool`,
      name_with_namespace: `${user.name} / My Tool`,
      description: 'a tool',
      default_branch: 'main',
      visibility: 'private',
      shared_runners_enabled: true,
      group_runners_enabled: true,
      creator_id: user.id,
      web_url: `http://gitlab.test/${user.username}/my-tool`,
      namespace: { name: user.name, path: user.username, kind: 'user', full_path: user.username, parent_id: null, web_url: `http://gitlab.test/${user.username}` },
      owner: { id: user.id, username: user.username },
    });
    expect(body.runners_token).toMatch(/^GR1348941[A-Za-z0-9_-]{20}$/);
    const member = await t.ctx.prisma.projectMember.findFirst({ where: { project_id: body.id, user_id: user.id } });
    expect(member!.access_level).toBe(OWNER);
    const branch = await t.ctx.prisma.protectedBranch.findFirst({ where: { project_id: body.id } });
    expect(branch!.name).toBe('main');
    const row = await t.ctx.prisma.project.findUnique({ where: { id: body.id } });
    expect(row!.runners_token_digest).toBe(t.ctx.secrets.digest(body.runners_token));
  });

  it('lets a group Developer create a project and become its Maintainer', async () => {
    const group = await t.fx.group({ path: 'dev-group' });
    const { user, token } = await t.fx.user();
    await t.fx.groupMember(group, user, DEVELOPER);
    const res = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'svc', namespace_id: group.id, default_branch: 'trunk' }, token });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ path_with_namespace: 'dev-group/svc', default_branch: 'trunk', namespace: { id: group.id, kind: 'group' } });
    expect(res.json()).not.toHaveProperty('owner');
    expect(res.json().runners_token).toMatch(/^GR1348941/);
    const member = await t.ctx.prisma.projectMember.findFirst({ where: { project_id: res.json().id, user_id: user.id } });
    expect(member!.access_level).toBe(MAINTAINER);
  });

  it('refuses namespaces the caller cannot create in with "namespace is not valid"', async () => {
    const group = await t.fx.group();
    const guest = await t.fx.user();
    await t.fx.groupMember(group, guest.user, GUEST);
    const other = await t.fx.user();
    const otherNs = await t.ctx.prisma.namespace.findUnique({ where: { owner_id: other.user.id } });
    for (const namespaceId of [group.id, otherNs!.id, 999999]) {
      const res = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'nope', namespace_id: namespaceId }, token: guest.token });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ message: { namespace: ['is not valid'] } });
    }
  });

  it('rejects bad input with GitLab shapes and creates nothing', async () => {
    const group = await t.fx.group({ path: 'strict' });
    await t.fx.project({ namespace: group, path: 'taken' });
    const before = await t.ctx.prisma.project.count();
    const none = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { description: 'x' } });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toEqual({ error: 'name, path are missing, at least one parameter must be provided' });
    const types = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'x', shared_runners_enabled: 'maybe', namespace_id: 'abc' } });
    expect(types.json()).toEqual({ error: 'shared_runners_enabled is invalid, namespace_id is invalid' });
    const dup = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'taken', namespace_id: group.id } });
    expect(dup.json()).toEqual({ message: { name: ['has already been taken'], path: ['has already been taken'] } });
    const open = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'open', namespace_id: group.id, visibility: 'public' } });
    expect(open.json()).toEqual({ message: { visibility_level: ['public is not allowed in a private group.'] } });
    const badPath = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { path: 'x.git', namespace_id: group.id } });
    expect(badPath.json().message.path).toEqual(["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"]);
    expect(await t.ctx.prisma.project.count()).toBe(before);
  });

  it('follows the group shared-runner setting', async () => {
    const group = await t.fx.group();
    await t.ctx.prisma.namespace.update({ where: { id: group.id }, data: { shared_runners_enabled: false } });
    const inherited = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'inherits', namespace_id: group.id } });
    expect(inherited.json().shared_runners_enabled).toBe(false);
    const forced = await t.api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'forced', namespace_id: group.id, shared_runners_enabled: true } });
    expect(forced.statusCode).toBe(400);
    expect(forced.json()).toEqual({ message: { shared_runners_enabled: ['cannot be enabled because parent group does not allow it'] } });
  });
});

describe('GET /projects/:id', () => {
  it('finds a project by id and by URL-encoded full path', async () => {
    const group = await t.fx.group({ path: 'find-me' });
    const sub = await t.fx.group({ path: 'deeper', parent: group });
    const project = await t.fx.project({ namespace: sub, path: 'proj' });
    const byId = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}` });
    expect(byId.statusCode).toBe(200);
    expect(byId.json()).toMatchObject({ path_with_namespace: 'find-me/deeper/proj', name_with_namespace: 'find-me / deeper / proj' });
    const byPath = await t.api({ method: 'GET', url: '/api/v4/projects/find-me%2Fdeeper%2Fproj' });
    expect(byPath.statusCode).toBe(200);
    expect(byPath.json().id).toBe(project.id);
  });

  it('shows runners_token to a Maintainer and hides it from a Developer', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const maintainer = await t.fx.user();
    const developer = await t.fx.user();
    await t.fx.projectMember(project, maintainer.user, MAINTAINER);
    await t.fx.groupMember(group, developer.user, DEVELOPER);
    const asMaintainer = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}`, token: maintainer.token });
    expect(asMaintainer.json().runners_token).toBe(project.runnersToken);
    expect(asMaintainer.json().group_runners_enabled).toBe(true);
    expect(asMaintainer.json().permissions).toEqual({ project_access: { access_level: MAINTAINER, notification_level: 3 }, group_access: null });
    const asDeveloper = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}`, token: developer.token });
    expect(asDeveloper.statusCode).toBe(200);
    expect(asDeveloper.json()).not.toHaveProperty('runners_token');
    expect(asDeveloper.json().permissions).toEqual({ project_access: null, group_access: { access_level: DEVELOPER, notification_level: 3 } });
  });

  it('gives null runners_token when registration tokens are off for the instance', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    await t.ctx.prisma.applicationSetting.update({ where: { id: 1 }, data: { allow_runner_registration_token: false } });
    try {
      const res = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}` });
      expect(res.json()).toHaveProperty('runners_token', null);
    } finally {
      await t.ctx.prisma.applicationSetting.update({ where: { id: 1 }, data: { allow_runner_registration_token: true } });
    }
  });

  it('answers 404 Project Not Found for private projects of others, unknown ids and paths', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const { token } = await t.fx.user();
    for (const [url, who] of [
      [`/api/v4/projects/${project.id}`, token],
      [`/api/v4/projects/${project.id}`, null],
      ['/api/v4/projects/999999', undefined],
      ['/api/v4/projects/no%2Fsuch', undefined],
    ] as const) {
      const res = await t.api({ method: 'GET', url, token: who });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ message: '404 Project Not Found' });
    }
  });

  it('shows a public project to anonymous callers without permissions or CI settings', async () => {
    const group = await t.fx.group({ visibility: 'public' });
    const project = await t.fx.project({ namespace: group, visibility: 'public' });
    const res = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}`, token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: project.id, visibility: 'public', default_branch: 'main' });
    expect(res.json()).not.toHaveProperty('runners_token');
    expect(res.json()).not.toHaveProperty('permissions');
  });
});

describe('PUT /projects/:id', () => {
  it('lets a Maintainer change runner settings and details', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const { user, token } = await t.fx.user();
    await t.fx.projectMember(project, user, MAINTAINER);
    const res = await t.api({
      method: 'PUT',
      url: `/api/v4/projects/${encodeURIComponent(project.path_with_namespace)}`,
      payload: { shared_runners_enabled: false, group_runners_enabled: 'false', description: 'updated', name: 'Renamed', default_branch: 'develop' },
      token,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ shared_runners_enabled: false, group_runners_enabled: false, description: 'updated', name: 'Renamed', default_branch: 'develop' });
    const row = await t.ctx.prisma.project.findUnique({ where: { id: project.id } });
    expect(row).toMatchObject({ shared_runners_enabled: false, group_runners_enabled: false, name: 'Renamed' });
  });

  it('refuses a Developer (403) and a stranger (404)', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const dev = await t.fx.user();
    await t.fx.projectMember(project, dev.user, DEVELOPER);
    const asDev = await t.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: { shared_runners_enabled: false }, token: dev.token });
    expect(asDev.statusCode).toBe(403);
    expect(asDev.json()).toEqual({ message: '403 Forbidden' });
    const stranger = await t.fx.user();
    const asStranger = await t.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: { shared_runners_enabled: false }, token: stranger.token });
    expect(asStranger.statusCode).toBe(404);
    expect((await t.ctx.prisma.project.findUnique({ where: { id: project.id } }))!.shared_runners_enabled).toBe(true);
  });

  it('rejects bad input with 400 and changes nothing', async () => {
    const group = await t.fx.group();
    await t.ctx.prisma.namespace.update({ where: { id: group.id }, data: { shared_runners_enabled: false } });
    const project = await t.fx.project({ namespace: group, sharedRunnersEnabled: false });
    const empty = await t.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toEqual({
      error: 'default_branch, description, group_runners_enabled, name, shared_runners_enabled, visibility are missing, at least one parameter must be provided',
    });
    const notAllowed = await t.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: { shared_runners_enabled: true, description: 'changed' } });
    expect(notAllowed.statusCode).toBe(400);
    expect(notAllowed.json()).toEqual({ message: { shared_runners_enabled: ['cannot be enabled because parent group does not allow it'] } });
    const badBool = await t.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: { group_runners_enabled: 'sure' } });
    expect(badBool.json()).toEqual({ error: 'group_runners_enabled is invalid' });
    const row = await t.ctx.prisma.project.findUnique({ where: { id: project.id } });
    expect(row).toMatchObject({ shared_runners_enabled: false, description: null, group_runners_enabled: true });
  });
});
