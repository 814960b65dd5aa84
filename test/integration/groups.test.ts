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

describe('POST /groups', () => {
  it('creates a top-level group for any user, who becomes its Owner', async () => {
    const { user, token } = await t.fx.user();
    const res = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'Platform Team', description: 'runs things' }, token });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body).slice(0, 6)).toEqual(['id', 'web_url', 'name', 'path', 'description', 'visibility']);
    expect(body).toMatchObject({
      name: 'Platform Team',
      path: 'platform-team',
      full_path: 'platform-team',
      full_name: 'Platform Team',
      description: 'runs things',
      visibility: 'private',
      parent_id: null,
      shared_runners_setting: 'enabled',
      web_url: 'http://gitlab.test/groups/platform-team',
    });
    expect(body.runners_token).toMatch(/^GR1348941[A-Za-z0-9_-]{20}$/);
    const member = await t.ctx.prisma.groupMember.findFirst({ where: { group_id: body.id, user_id: user.id } });
    expect(member!.access_level).toBe(OWNER);
    const ns = await t.ctx.prisma.namespace.findUnique({ where: { id: body.id } });
    expect(ns!.traversal_ids).toEqual([body.id]);
    expect(ns!.runners_token_encrypted).not.toContain(body.runners_token);
    expect(ns!.runners_token_digest).toBe(t.ctx.secrets.digest(body.runners_token));
  });

  it('creates a subgroup under a parent where the caller is Maintainer, inheriting shared-runner settings', async () => {
    const { user, token } = await t.fx.user();
    const parent = await t.fx.group({ path: 'sub-parent' });
    await t.ctx.prisma.namespace.update({ where: { id: parent.id }, data: { shared_runners_enabled: false, allow_descendants_override_disabled_shared_runners: true } });
    await t.fx.groupMember(parent, user, MAINTAINER);
    const res = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'Child', path: 'child', parent_id: parent.id }, token });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ full_path: 'sub-parent/child', full_name: 'sub-parent / Child', parent_id: parent.id, shared_runners_setting: 'disabled_and_overridable' });
    expect(body).not.toHaveProperty('prevent_sharing_groups_outside_hierarchy');
    const ns = await t.ctx.prisma.namespace.findUnique({ where: { id: body.id } });
    expect(ns!.traversal_ids).toEqual([parent.id, body.id]);
  });

  it('refuses a subgroup to a Developer of the parent (403) and hides a private parent from others (404)', async () => {
    const { user, token } = await t.fx.user();
    const parent = await t.fx.group();
    await t.fx.groupMember(parent, user, DEVELOPER);
    const dev = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'x', parent_id: parent.id }, token });
    expect(dev.statusCode).toBe(403);
    expect(dev.json()).toEqual({ message: '403 Forbidden' });
    const stranger = await t.fx.user();
    const hidden = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'x', parent_id: parent.id }, token: stranger.token });
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json()).toEqual({ message: '404 Group Not Found' });
  });

  it('rejects bad input with GitLab shapes and creates nothing', async () => {
    const before = await t.ctx.prisma.namespace.count();
    const missing = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { path: 'nameless' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'name is missing' });
    const badVisibility = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'v', visibility: 'secret' } });
    expect(badVisibility.json()).toEqual({ error: 'visibility does not have a valid value' });
    await t.fx.group({ path: 'dup-path' });
    const dup = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'Dup', path: 'dup-path' } });
    expect(dup.statusCode).toBe(400);
    expect(dup.json()).toEqual({ message: 'Failed to save group {:path=>["has already been taken"]}' });
    const privateParent = await t.fx.group();
    const tooOpen = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'open', parent_id: privateParent.id, visibility: 'public' } });
    expect(tooOpen.json()).toEqual({ message: 'Failed to save group {:visibility_level=>["public is not allowed since the parent group has a private visibility."]}' });
    expect(await t.ctx.prisma.namespace.count()).toBe(before + 2);
  });

  it('answers anonymous callers with 401', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'anon' }, token: null });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /groups/:id', () => {
  it('finds a group by id and by URL-encoded full path', async () => {
    const parent = await t.fx.group({ path: 'lookup' });
    const child = await t.fx.group({ path: 'nested', parent });
    const byId = await t.api({ method: 'GET', url: `/api/v4/groups/${child.id}` });
    expect(byId.statusCode).toBe(200);
    const byPath = await t.api({ method: 'GET', url: '/api/v4/groups/lookup%2Fnested' });
    expect(byPath.statusCode).toBe(200);
    expect(byPath.json().id).toBe(child.id);
    expect(byPath.json().full_path).toBe('lookup/nested');
  });

  it('hides a private group from non-members and anonymous callers', async () => {
    const group = await t.fx.group();
    const { token } = await t.fx.user();
    for (const who of [token, null]) {
      const res = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: who });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ message: '404 Group Not Found' });
    }
  });

  it('shows public groups to anonymous callers and internal ones to signed-in users', async () => {
    const pub = await t.fx.group({ visibility: 'public' });
    const internal = await t.fx.group({ visibility: 'internal' });
    const { token } = await t.fx.user();
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${pub.id}`, token: null })).statusCode).toBe(200);
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${internal.id}`, token: null })).statusCode).toBe(404);
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${internal.id}`, token })).statusCode).toBe(200);
  });

  it('shows runners_token to the Owner only, and null when registration tokens are disallowed', async () => {
    const group = await t.fx.group();
    const owner = await t.fx.user();
    const maintainer = await t.fx.user();
    await t.fx.groupMember(group, owner.user, OWNER);
    await t.fx.groupMember(group, maintainer.user, MAINTAINER);
    const asOwner = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: owner.token });
    expect(asOwner.json().runners_token).toBe(group.runnersToken);
    const asMaintainer = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: maintainer.token });
    expect(asMaintainer.statusCode).toBe(200);
    expect(asMaintainer.json()).not.toHaveProperty('runners_token');

    await t.ctx.prisma.namespace.update({ where: { id: group.id }, data: { allow_runner_registration_token: false } });
    const disallowed = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: owner.token });
    expect(disallowed.json()).toHaveProperty('runners_token', null);
  });

  it('lists the group projects visible to the caller unless with_projects=false', async () => {
    const group = await t.fx.group({ visibility: 'public' });
    const pub = await t.fx.project({ namespace: group, visibility: 'public' });
    await t.fx.project({ namespace: group, visibility: 'private' });
    const anon = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}`, token: null });
    expect(anon.json().projects.map((p: { id: number }) => p.id)).toEqual([pub.id]);
    expect(anon.json().shared_projects).toEqual([]);
    const admin = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}` });
    expect(admin.json().projects).toHaveLength(2);
    const without = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}?with_projects=false` });
    expect(without.json()).not.toHaveProperty('projects');
  });
});

describe('GET /groups', () => {
  it('lists only the caller\'s groups by default, and every visible one with all_available', async () => {
    const mine = await t.fx.group({ path: 'list-mine' });
    const child = await t.fx.group({ path: 'list-child', parent: mine });
    const pub = await t.fx.group({ path: 'list-public', visibility: 'public' });
    const other = await t.fx.group({ path: 'list-other' });
    const { user, token } = await t.fx.user();
    await t.fx.groupMember(mine, user, DEVELOPER);
    const res = await t.api({ method: 'GET', url: '/api/v4/groups', token });
    expect(res.statusCode).toBe(200);
    expect(res.json().map((g: { id: number }) => g.id).sort()).toEqual([mine.id, child.id].sort());
    expect(res.json()[0]).not.toHaveProperty('runners_token');
    const all = await t.api({ method: 'GET', url: '/api/v4/groups?all_available=true&search=list-', token });
    const ids = all.json().map((g: { id: number }) => g.id);
    expect(ids).toEqual(expect.arrayContaining([mine.id, child.id, pub.id]));
    expect(ids).not.toContain(other.id);
  });

  it('shows anonymous callers public groups and admins every group', async () => {
    const priv = await t.fx.group({ path: 'anon-private' });
    const pub = await t.fx.group({ path: 'anon-public', visibility: 'public' });
    const anon = await t.api({ method: 'GET', url: '/api/v4/groups?search=anon-', token: null });
    expect(anon.json().map((g: { id: number }) => g.id)).toEqual([pub.id]);
    const admin = await t.api({ method: 'GET', url: '/api/v4/groups?search=anon-' });
    expect(admin.json().map((g: { id: number }) => g.id)).toEqual([priv.id, pub.id]);
  });

  it('paginates ordered by name with GitLab headers', async () => {
    for (const p of ['page-c', 'page-a', 'page-b']) await t.fx.group({ path: p });
    const res = await t.api({ method: 'GET', url: '/api/v4/groups?search=page-&per_page=2' });
    expect(res.json().map((g: { path: string }) => g.path)).toEqual(['page-a', 'page-b']);
    expect(res.headers['x-total']).toBe('3');
    expect(res.headers['x-total-pages']).toBe('2');
    expect(res.headers.link).toContain('search=page-');
    const page2 = await t.api({ method: 'GET', url: '/api/v4/groups?search=page-&per_page=2&page=2' });
    expect(page2.json().map((g: { path: string }) => g.path)).toEqual(['page-c']);
  });

  it('rejects an invalid min_access_level', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/groups?min_access_level=35' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'min_access_level does not have a valid value' });
  });
});

describe('PUT /groups/:id', () => {
  it('lets the Owner change name, description and visibility', async () => {
    const group = await t.fx.group({ path: 'editable' });
    const { user, token } = await t.fx.user();
    await t.fx.groupMember(group, user, OWNER);
    const res = await t.api({ method: 'PUT', url: '/api/v4/groups/editable', payload: { name: 'Edited', description: 'new', visibility: 'internal' }, token });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: group.id, name: 'Edited', description: 'new', visibility: 'internal', full_name: 'Edited' });
    expect(res.json().runners_token).toBe(group.runnersToken);
  });

  it('refuses Maintainers (403) and non-members of a private group (404)', async () => {
    const group = await t.fx.group();
    const maintainer = await t.fx.user();
    await t.fx.groupMember(group, maintainer.user, MAINTAINER);
    const res = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { name: 'nope' }, token: maintainer.token });
    expect(res.statusCode).toBe(403);
    const stranger = await t.fx.user();
    const hidden = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { name: 'nope' }, token: stranger.token });
    expect(hidden.statusCode).toBe(404);
    expect((await t.ctx.prisma.namespace.findUnique({ where: { id: group.id } }))!.name).toBe(group.name);
  });

  it('cascades a disabled shared-runner setting to subgroups and projects', async () => {
    const group = await t.fx.group();
    const child = await t.fx.group({ parent: group });
    const project = await t.fx.project({ namespace: child });
    const res = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { shared_runners_setting: 'disabled_and_unoverridable' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().shared_runners_setting).toBe('disabled_and_unoverridable');
    expect((await t.ctx.prisma.namespace.findUnique({ where: { id: child.id } }))!.shared_runners_enabled).toBe(false);
    expect((await t.ctx.prisma.project.findUnique({ where: { id: project.id } }))!.shared_runners_enabled).toBe(false);

    const reEnable = await t.api({ method: 'PUT', url: `/api/v4/groups/${child.id}`, payload: { shared_runners_setting: 'enabled' } });
    expect(reEnable.statusCode).toBe(400);
    expect(reEnable.json()).toEqual({
      message: { update_shared_runners: ['Validation failed: Shared runners enabled cannot be enabled because parent group has shared Runners disabled'] },
    });

    const overridable = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { shared_runners_setting: 'disabled_with_override' } });
    expect(overridable.json().shared_runners_setting).toBe('disabled_and_overridable');
    const childEnabled = await t.api({ method: 'PUT', url: `/api/v4/groups/${child.id}`, payload: { shared_runners_setting: 'enabled' } });
    expect(childEnabled.json().shared_runners_setting).toBe('enabled');
  });

  it('turns registration tokens off on a top-level group only', async () => {
    const group = await t.fx.group();
    const child = await t.fx.group({ parent: group });
    const res = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { allow_runner_registration_token: false } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveProperty('runners_token', null);
    const childRes = await t.api({ method: 'GET', url: `/api/v4/groups/${child.id}` });
    expect(childRes.json()).toHaveProperty('runners_token', null);
    const onChild = await t.api({ method: 'PUT', url: `/api/v4/groups/${child.id}`, payload: { allow_runner_registration_token: true } });
    expect(onChild.statusCode).toBe(400);
    expect(onChild.json()).toEqual({ message: { allow_runner_registration_token: ['can only be changed on a top-level group'] } });
  });

  it('rejects bad input with 400 and changes nothing', async () => {
    const group = await t.fx.group({ visibility: 'public' });
    await t.fx.project({ namespace: group, visibility: 'public' });
    const setting = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { shared_runners_setting: 'sometimes', name: 'Changed' } });
    expect(setting.statusCode).toBe(400);
    expect(setting.json()).toEqual({ error: 'shared_runners_setting does not have a valid value' });
    const lower = await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { visibility: 'private', name: 'Changed' } });
    expect(lower.statusCode).toBe(400);
    expect(lower.json()).toEqual({ message: { visibility_level: ['private is not allowed since this group contains projects with higher visibility.'] } });
    const after = await t.ctx.prisma.namespace.findUnique({ where: { id: group.id } });
    expect(after).toMatchObject({ name: group.name, visibility: 'public' });
  });
});
