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
const REPORTER = 20;

const MEMBER_KEYS = ['id', 'username', 'name', 'state', 'locked', 'avatar_url', 'web_url', 'access_level', 'created_at', 'expires_at'];

describe('group members', () => {
  it('lets the Owner add a member and lists it with the member entity', async () => {
    const group = await t.fx.group({ path: 'team' });
    const owner = await t.fx.user();
    const newcomer = await t.fx.user();
    await t.fx.groupMember(group, owner.user, OWNER);
    const res = await t.api({ method: 'POST', url: '/api/v4/groups/team/members', payload: { user_id: newcomer.user.id, access_level: DEVELOPER }, token: owner.token });
    expect(res.statusCode).toBe(201);
    expect(Object.keys(res.json())).toEqual(MEMBER_KEYS);
    expect(res.json()).toMatchObject({ id: newcomer.user.id, username: newcomer.user.username, access_level: DEVELOPER, expires_at: null });

    const list = await t.api({ method: 'GET', url: '/api/v4/groups/team/members', token: newcomer.token });
    expect(list.statusCode).toBe(200);
    expect(list.json().map((m: { id: number; access_level: number }) => [m.id, m.access_level])).toEqual([
      [owner.user.id, OWNER],
      [newcomer.user.id, DEVELOPER],
    ]);
    expect(list.headers['x-total']).toBe('2');
    expect(list.headers.link).toContain('<http://gitlab.test/api/v4/groups/team/members?id=team&page=1&per_page=20>; rel="first"');
  });

  it('the added member now has that access (can see the private group)', async () => {
    const group = await t.fx.group();
    const user = await t.fx.user();
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: user.token })).statusCode).toBe(404);
    await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: { user_id: user.user.id, access_level: REPORTER } });
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: user.token })).statusCode).toBe(200);
  });

  it('accepts a username and form-encoded input', async () => {
    const group = await t.fx.group();
    const user = await t.fx.user();
    const res = await t.api({
      method: 'POST',
      url: `/api/v4/groups/${group.id}/members`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${user.user.username}&access_level=40`,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: user.user.id, access_level: MAINTAINER });
  });

  it('answers 409 Member already exists for a duplicate', async () => {
    const group = await t.fx.group();
    const user = await t.fx.user();
    await t.fx.groupMember(group, user.user, DEVELOPER);
    const res = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: { user_id: user.user.id, access_level: MAINTAINER } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ message: 'Member already exists' });
  });

  it('refuses Maintainers of the group (403) and hides the private group from strangers (404)', async () => {
    const group = await t.fx.group();
    const maintainer = await t.fx.user();
    const target = await t.fx.user();
    await t.fx.groupMember(group, maintainer.user, MAINTAINER);
    const res = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: { user_id: target.user.id, access_level: DEVELOPER }, token: maintainer.token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
    const stranger = await t.fx.user();
    const list = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}/members`, token: stranger.token });
    expect(list.statusCode).toBe(404);
    expect(list.json()).toEqual({ message: '404 Group Not Found' });
  });

  it('rejects bad input with 400 and adds nobody', async () => {
    const group = await t.fx.group();
    const user = await t.fx.user();
    const bad = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: { user_id: user.user.id, access_level: 35 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'access_level does not have a valid value' });
    const missing = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: {} });
    expect(missing.json()).toEqual({ error: 'access_level is missing, user_id, username are missing, at least one parameter must be provided' });
    const both = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: { user_id: user.user.id, username: 'x', access_level: 30 } });
    expect(both.json()).toEqual({ error: 'user_id, username are mutually exclusive' });
    const inherited = await t.fx.group({ parent: group });
    await t.fx.groupMember(group, user.user, MAINTAINER);
    const lower = await t.api({ method: 'POST', url: `/api/v4/groups/${inherited.id}/members`, payload: { user_id: user.user.id, access_level: DEVELOPER } });
    expect(lower.statusCode).toBe(400);
    expect(lower.json()).toEqual({ message: { access_level: [`should be greater than or equal to Maintainer inherited membership from group ${group.name}`] } });
    expect(await t.ctx.prisma.groupMember.count({ where: { group_id: inherited.id } })).toBe(0);
  });

  it('answers 404 User Not Found for an unknown user', async () => {
    const group = await t.fx.group();
    const res = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/members`, payload: { user_id: 999999, access_level: DEVELOPER } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: '404 User Not Found' });
  });

  it('needs a signed-in user', async () => {
    const group = await t.fx.group({ visibility: 'public' });
    const res = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}/members`, token: null });
    expect(res.statusCode).toBe(401);
  });
});

describe('project members', () => {
  it('lets a Maintainer add a Developer, who then sees the project but not its runners_token', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const maintainer = await t.fx.user();
    const dev = await t.fx.user();
    await t.fx.projectMember(project, maintainer.user, MAINTAINER);
    const res = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/members`, payload: { user_id: dev.user.id, access_level: DEVELOPER }, token: maintainer.token });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: dev.user.id, access_level: DEVELOPER });
    const seen = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}`, token: dev.token });
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).not.toHaveProperty('runners_token');
  });

  it('lets only Owners grant Owner', async () => {
    const owner = await t.fx.user();
    const ownerNs = await t.ctx.prisma.namespace.findUnique({ where: { owner_id: owner.user.id } });
    const project = await t.fx.project({ namespace: ownerNs! });
    const maintainer = await t.fx.user();
    const target = await t.fx.user();
    await t.fx.projectMember(project, maintainer.user, MAINTAINER);
    const denied = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/members`, payload: { user_id: target.user.id, access_level: OWNER }, token: maintainer.token });
    expect(denied.statusCode).toBe(403);
    expect(await t.ctx.prisma.projectMember.count({ where: { project_id: project.id, user_id: target.user.id } })).toBe(0);
    const granted = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/members`, payload: { user_id: target.user.id, access_level: OWNER }, token: owner.token });
    expect(granted.statusCode).toBe(201);
    expect(granted.json().access_level).toBe(OWNER);
  });

  it('refuses Developers (403) and lists members by full path with filters', async () => {
    const group = await t.fx.group({ path: 'mem-group' });
    const project = await t.fx.project({ namespace: group, path: 'mem-proj' });
    const dev = await t.fx.user({ username: 'dev_member_x' });
    const other = await t.fx.user();
    await t.fx.projectMember(project, dev.user, DEVELOPER);
    await t.fx.projectMember(project, other.user, REPORTER);
    const denied = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/members`, payload: { user_id: other.user.id, access_level: DEVELOPER }, token: dev.token });
    expect(denied.statusCode).toBe(403);
    const list = await t.api({ method: 'GET', url: '/api/v4/projects/mem-group%2Fmem-proj/members', token: dev.token });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toHaveLength(2);
    const filtered = await t.api({ method: 'GET', url: '/api/v4/projects/mem-group%2Fmem-proj/members?query=member_x', token: dev.token });
    expect(filtered.json().map((m: { id: number }) => m.id)).toEqual([dev.user.id]);
    const byIds = await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}/members?user_ids=${other.user.id}`, token: dev.token });
    expect(byIds.json().map((m: { id: number }) => m.id)).toEqual([other.user.id]);
  });

  it('hides a private project from strangers (404)', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const stranger = await t.fx.user();
    const res = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/members`, payload: { user_id: stranger.user.id, access_level: DEVELOPER }, token: stranger.token });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: '404 Project Not Found' });
  });
});
