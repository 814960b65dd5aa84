import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Namespace, Project, User } from '../../src/generated/prisma/client.js';
import { AccessLevel } from '../../src/policies/access-levels.js';

// Audit events (docs/fleet-management.md): every runner change writes its
// event in the same transaction, and the Audit Events API lists them in
// GitLab's shape.

let t: TestApp;
let group: Namespace & { runnersToken: string };
let project: Project & { runnersToken: string };
let other: Project & { runnersToken: string };
const u: Record<string, { user: User; token: string }> = {};

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'audited' });
  project = await t.fx.project({ namespace: group, path: 'app' });
  other = await t.fx.project({ namespace: group, path: 'other' });
  u.owner = await t.fx.user({ username: 'gowner' });
  u.maintainer = await t.fx.user({ username: 'pmaint' });
  u.developer = await t.fx.user({ username: 'pdev' });
  await t.fx.groupMember(group, u.owner.user, AccessLevel.OWNER);
  await t.fx.groupMember(group, u.maintainer.user, AccessLevel.MAINTAINER);
  await t.fx.groupMember(group, u.developer.user, AccessLevel.DEVELOPER);
});
afterAll(async () => {
  await t?.close();
});

/** The newest events (admin view), presented by the API. */
async function latest(n = 1, query = '') {
  const res = await t.api({ method: 'GET', url: `/api/v4/audit_events?per_page=${n}${query}` });
  expect(res.statusCode).toBe(200);
  return res.json() as Array<Record<string, any>>;
}

describe('what is recorded', () => {
  it('a runner registered with a project registration token: ci_runner_registered under the project, no user, no token', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/runners', payload: { token: project.runnersToken, description: 'reg' }, token: null });
    expect(res.statusCode).toBe(201);
    const [event] = await latest();
    expect(event).toEqual({
      id: expect.any(Number),
      author_id: -1,
      entity_id: project.id,
      entity_type: 'Project',
      event_name: 'ci_runner_registered',
      details: {
        custom_message: 'Registered project CI runner',
        author_name: 'Registration token (project)',
        target_id: res.json().id,
        target_type: 'Ci::Runner',
        target_details: `/admin/runners/${res.json().id}`,
        ip_address: '127.0.0.1',
        entity_path: 'audited/app',
      },
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const all = JSON.stringify(await latest(100));
    expect(all).not.toContain(project.runnersToken);
    expect(all).not.toContain(res.json().token);
  });

  it('a runner created with POST /user/runners: ci_runner_created by that user, under the group', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/user/runners', payload: { runner_type: 'group_type', group_id: group.id }, token: u.owner!.token });
    expect(res.statusCode).toBe(201);
    const [event] = await latest();
    expect(event).toMatchObject({
      author_id: u.owner!.user.id, entity_type: 'Group', entity_id: group.id, event_name: 'ci_runner_created',
      details: { author_name: u.owner!.user.name, custom_message: 'Created group CI runner', target_id: res.json().id, entity_path: 'audited' },
    });
  });

  it('the first verification of a runner is recorded once; later ones are not', async () => {
    const { runner, token } = await t.fx.runner({ projects: [project] });
    for (let i = 0; i < 2; i++) expect((await t.api({ method: 'POST', url: '/api/v4/runners/verify', payload: { token }, token: null })).statusCode).toBe(200);
    const events = await t.ctx.prisma.auditEvent.findMany({ where: { target_id: runner.id, target_type: 'Ci::Runner' } });
    expect(events.map((e) => [e.event_name, e.author_name])).toEqual([['ci_runner_verified', 'Runner authentication token']]);
  });

  it('an update records each changed field old → new, and pausing as ci_runner_paused; unchanged fields are not recorded', async () => {
    const { runner } = await t.fx.runner({ projects: [project], description: 'before', tags: ['a'] });
    const res = await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { description: 'after', paused: true, tag_list: ['a', 'b'], locked: false, access_level: 'ref_protected' } });
    expect(res.statusCode).toBe(200);
    const events = await t.ctx.prisma.auditEvent.findMany({ where: { target_id: runner.id }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.event_name, e.details])).toEqual([
      ['ci_runner_updated', { change: 'description', from: 'before', to: 'after' }],
      ['ci_runner_paused', null],
      ['ci_runner_updated', { change: 'tag_list', from: ['a'], to: ['a', 'b'] }],
      ['ci_runner_updated', { change: 'access_level', from: 'not_protected', to: 'ref_protected' }],
    ]);
    await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { paused: false } });
    expect((await latest())[0]).toMatchObject({ event_name: 'ci_runner_unpaused', entity_type: 'Project', entity_id: project.id });
  });

  it('assigning and unassigning a project runner are recorded under the project assigned to', async () => {
    const { runner } = await t.fx.runner({ projects: [project] });
    expect((await t.api({ method: 'POST', url: `/api/v4/projects/${other.id}/runners`, payload: { runner_id: runner.id } })).statusCode).toBe(201);
    expect((await t.api({ method: 'DELETE', url: `/api/v4/projects/${other.id}/runners/${runner.id}` })).statusCode).toBe(204);
    const events = await latest(2);
    expect(events.map((e) => [e.event_name, e.entity_type, e.entity_id, e.details.target_id])).toEqual([
      ['ci_runner_unassigned_from_project', 'Project', other.id, runner.id],
      ['ci_runner_assigned_to_project', 'Project', other.id, runner.id],
    ]);
  });

  it('token resets (runner authentication, instance/group/project registration) are recorded without the tokens', async () => {
    const { runner, token } = await t.fx.runner({ group });
    const byUser = await t.api({ method: 'POST', url: `/api/v4/runners/${runner.id}/reset_authentication_token` });
    const byRunner = await t.api({ method: 'POST', url: '/api/v4/runners/reset_authentication_token', payload: { token: byUser.json().token }, token: null });
    const instance = await t.api({ method: 'POST', url: '/api/v4/runners/reset_registration_token' });
    const grp = await t.api({ method: 'POST', url: `/api/v4/groups/${group.id}/runners/reset_registration_token` });
    const prj = await t.api({ method: 'POST', url: `/api/v4/projects/${project.id}/runners/reset_registration_token` });
    for (const r of [byUser, byRunner, instance, grp, prj]) expect(r.statusCode).toBe(201);
    const events = await latest(5);
    expect(events.map((e) => [e.event_name, e.entity_type, e.details.author_name]).reverse()).toEqual([
      ['ci_runner_authentication_token_reset', 'Group', 'Administrator'],
      ['ci_runner_authentication_token_reset', 'Group', 'Runner authentication token'],
      ['ci_runner_token_reset', 'Gitlab::Audit::InstanceScope', 'Administrator'],
      ['ci_runner_token_reset', 'Group', 'Administrator'],
      ['ci_runner_token_reset', 'Project', 'Administrator'],
    ]);
    const text = JSON.stringify(events);
    for (const secret of [token, byUser.json().token, byRunner.json().token, instance.json().token, grp.json().token, prj.json().token]) expect(text).not.toContain(secret);
  });

  it('deleting by id and by token records ci_runner_unregistered while the runner still had its scope', async () => {
    const a = await t.fx.runner({ projects: [project] });
    const b = await t.fx.runner({ group });
    expect((await t.api({ method: 'DELETE', url: `/api/v4/runners/${a.runner.id}` })).statusCode).toBe(204);
    expect((await t.api({ method: 'DELETE', url: '/api/v4/runners', payload: { token: b.token }, token: null })).statusCode).toBe(204);
    const events = await latest(2);
    expect(events.map((e) => [e.event_name, e.entity_type, e.entity_id, e.details.target_id, e.author_id]).reverse()).toEqual([
      ['ci_runner_unregistered', 'Project', project.id, a.runner.id, 1],
      ['ci_runner_unregistered', 'Group', group.id, b.runner.id, -1],
    ]);
  });

  it('runner settings changes (instance and group) are recorded old → new; a PUT that changes nothing records nothing', async () => {
    await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { runner_token_expiration_interval: 7200, stale_runner_pruning_enabled: false } });
    await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { runner_registration_enabled: false, allow_stale_runner_pruning: true } });
    const events = await latest(3);
    expect(events.map((e) => [e.event_name, e.entity_type, e.details.change, e.details.from, e.details.to]).reverse()).toEqual([
      ['ci_runner_settings_updated', 'Gitlab::Audit::InstanceScope', 'runner_token_expiration_interval', null, 7200],
      ['ci_runner_settings_updated', 'Group', 'runner_registration_enabled', true, false],
      ['ci_runner_settings_updated', 'Group', 'allow_stale_runner_pruning', false, true],
    ]);
    await t.api({ method: 'PUT', url: `/api/v4/groups/${group.id}`, payload: { runner_registration_enabled: true, allow_stale_runner_pruning: false } });
  });

  it('personal access tokens created by an admin are recorded under their user, without the token', async () => {
    const res = await t.api({ method: 'POST', url: `/api/v4/users/${u.developer!.user.id}/personal_access_tokens`, payload: { name: 'ci', scopes: ['api'] } });
    expect(res.statusCode).toBe(201);
    const [event] = await latest();
    expect(event).toMatchObject({
      event_name: 'personal_access_token_created', entity_type: 'User', entity_id: u.developer!.user.id,
      details: { target_type: 'PersonalAccessToken', target_id: res.json().id, target_details: 'ci', scopes: ['api'], entity_path: 'pdev' },
    });
    expect(JSON.stringify(event)).not.toContain(res.json().token);
  });

  it('a change whose event cannot be written does not happen (same transaction)', async () => {
    await t.db.pool.query(`ALTER TABLE audit_events ADD CONSTRAINT no_created CHECK (event_name <> 'ci_runner_created') NOT VALID`);
    try {
      const before = await t.ctx.prisma.runner.count();
      const res = await t.api({ method: 'POST', url: '/api/v4/user/runners', payload: { runner_type: 'instance_type' } });
      expect(res.statusCode).toBe(500);
      expect(await t.ctx.prisma.runner.count()).toBe(before);
    } finally {
      await t.db.pool.query('ALTER TABLE audit_events DROP CONSTRAINT no_created');
    }
  });
});

describe('the Audit Events API', () => {
  it('is for admins at /audit_events, and for Developers+ at /groups/:id/audit_events and /projects/:id/audit_events', async () => {
    const get = (url: string, token: string) => t.api({ method: 'GET', url, token }).then((r) => r.statusCode);
    expect(await get('/api/v4/audit_events', u.owner!.token)).toBe(403);
    expect(await get(`/api/v4/groups/${group.id}/audit_events`, u.owner!.token)).toBe(200);
    expect(await get(`/api/v4/groups/${group.id}/audit_events`, u.maintainer!.token)).toBe(200);
    expect(await get(`/api/v4/projects/${project.id}/audit_events`, u.developer!.token)).toBe(200);
    expect((await t.api({ method: 'GET', url: '/api/v4/audit_events', token: null })).statusCode).toBe(401);
  });

  it("shows a group's or project's events of other authors only to who administers it (Owner / Maintainer+), as GitLab's filter_by_author", async () => {
    const list = (url: string, token: string) => t.api({ method: 'GET', url: `${url}?per_page=100`, token }).then((r) => r.json() as Array<{ id: number; author_id: number }>);
    for (const [url, admins, others] of [
      [`/api/v4/groups/${group.id}/audit_events`, [u.owner!], [u.maintainer!, u.developer!]],
      [`/api/v4/projects/${project.id}/audit_events`, [u.owner!, u.maintainer!], [u.developer!]],
    ] as const) {
      for (const who of admins) expect((await list(url, who.token)).some((e) => e.author_id !== who.user.id), `${url} as an administrator`).toBe(true);
      for (const who of others) {
        expect((await list(url, who.token)).every((e) => e.author_id === who.user.id), `${url} as a non-administrator`).toBe(true);
        const foreign = (await list(url, u.owner!.token)).find((e) => e.author_id !== who.user.id)!;
        expect((await t.api({ method: 'GET', url: `${url}/${foreign.id}`, token: who.token })).json()).toEqual({ message: '404 Not found' });
      }
    }
  });

  it("a group's list holds only that group's events; one of another scope is a 404 there", async () => {
    const res = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}/audit_events?per_page=100`, token: u.owner!.token });
    const events = res.json() as Array<Record<string, any>>;
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => `${e.entity_type}:${e.entity_id}`))).toEqual(new Set([`Group:${group.id}`]));
    const projectEvent = await t.ctx.prisma.auditEvent.findFirstOrThrow({ where: { entity_type: 'Project' } });
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}/audit_events/${projectEvent.id}`, token: u.owner!.token })).json()).toEqual({ message: '404 Not found' });
    const own = await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}/audit_events/${events[0]!.id}`, token: u.owner!.token });
    expect(own.json()).toEqual(events[0]);
  });

  it('filters by entity_type, entity_id and created_after/created_before; a bad date is a 400', async () => {
    const byProject = (await latest(100, `&entity_type=Project&entity_id=${project.id}`)) as Array<Record<string, any>>;
    expect(byProject.length).toBeGreaterThan(0);
    expect(byProject.every((e) => e.entity_type === 'Project' && e.entity_id === project.id)).toBe(true);
    expect(await latest(100, '&created_after=2999-01-01')).toEqual([]);
    expect(await latest(100, '&created_before=2000-01-01T00:00:00Z')).toEqual([]);
    const bad = await t.api({ method: 'GET', url: '/api/v4/audit_events?created_after=yesterday' });
    expect([bad.statusCode, bad.json()]).toEqual([400, { error: 'created_after is invalid' }]);
  });

  it('pages by offset with X-Total, and by keyset with only a Link rel="next" cursor; both walk the same ids', async () => {
    const total = await t.ctx.prisma.auditEvent.count();
    const offset = await t.api({ method: 'GET', url: '/api/v4/audit_events?per_page=3&page=2' });
    expect(offset.headers['x-total']).toBe(String(total));
    expect(offset.headers['x-page']).toBe('2');
    const ids: number[] = [];
    let url: string | undefined = '/api/v4/audit_events?pagination=keyset&per_page=4';
    while (url) {
      const res = await t.api({ method: 'GET', url });
      expect(res.headers['x-total']).toBeUndefined();
      ids.push(...(res.json() as Array<{ id: number }>).map((e) => e.id));
      const next = /<([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
      url = next ? next.replace('http://gitlab.test', '') : undefined;
    }
    const all = await t.ctx.prisma.auditEvent.findMany({ select: { id: true }, orderBy: { id: 'desc' } });
    expect(ids).toEqual(all.map((e) => e.id));
  });
});
