import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Namespace, Project, Runner, User } from '../../src/generated/prisma/client.js';

// Assigning a project runner to another project and unassigning it
// (docs.gitlab.com/api/runners), with GitLab's order of checks.

let t: TestApp;
let group: Namespace;
let p1: Project;
let p2: Project;
const users: Record<string, { user: User; token: string }> = {};

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'acme' });
  p1 = await t.fx.project({ namespace: group, path: 'one' });
  p2 = await t.fx.project({ namespace: group, path: 'two' });
  users.admin = await t.fx.user({ admin: true });
  for (const role of ['owner', 'maintainer', 'developer', 'reporter', 'guest', 'nonMember', 'both', 'p2Only']) users[role] = await t.fx.user();
  await t.fx.groupMember(group, users.owner!.user, 50);
  await t.fx.groupMember(group, users.maintainer!.user, 40);
  await t.fx.groupMember(group, users.developer!.user, 30);
  await t.fx.groupMember(group, users.reporter!.user, 20);
  await t.fx.groupMember(group, users.guest!.user, 10);
  await t.fx.projectMember(p1, users.both!.user, 40);
  await t.fx.projectMember(p2, users.both!.user, 40);
  await t.fx.projectMember(p2, users.p2Only!.user, 40);
});
afterAll(async () => {
  await t?.close();
});

const assign = (project: Project | string, payload: unknown, token?: string | null) =>
  t.api({ method: 'POST', url: `/api/v4/projects/${typeof project === 'string' ? project : project.id}/runners`, payload: payload as never, token });
const unassign = (project: Project, runnerId: number | string, token?: string | null, headers?: Record<string, string>) =>
  t.api({ method: 'DELETE', url: `/api/v4/projects/${project.id}/runners/${runnerId}`, token, headers });
const p1Runner = async (extra: { locked?: boolean } = {}): Promise<Runner> => (await t.fx.runner({ projects: [p1], ...extra })).runner;
const assigned = (runner: Runner, project: Project) =>
  t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id, project_id: project.id } }).then((n) => n === 1);

describe('POST /projects/:id/runners', () => {
  it('assigns a runner the user can assign and answers 201 with the Runner entity', async () => {
    const runner = await p1Runner();
    const res = await assign(p2, { runner_id: runner.id }, users.both!.token);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: runner.id, runner_type: 'project_type', is_shared: false, ip_address: null, status: 'never_contacted' });
    expect(Object.keys(res.json())).not.toContain('tag_list');
    expect(await assigned(runner, p2)).toBe(true);
  });

  it('takes runner_id from a form body and the project by full path', async () => {
    const runner = await p1Runner();
    const res = await t.api({
      method: 'POST',
      url: `/api/v4/projects/${encodeURIComponent('acme/two')}/runners`,
      payload: `runner_id=${runner.id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(201);
    expect(await assigned(runner, p2)).toBe(true);
  });

  it('answers 400 "runner has already been taken" when the runner is already assigned', async () => {
    const runner = await p1Runner();
    const res = await assign(p1, { runner_id: runner.id });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ message: 'Validation failed: Runner projects runner has already been taken - runner_error' });
  });

  it.each([
    [{}, 'runner_id is missing'],
    [{ runner_id: 'abc' }, 'runner_id is invalid'],
  ])('rejects %j with 400 %s', async (payload, error) => {
    const res = await assign(p2, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error });
  });

  it('answers 404 Runner Not Found for an unknown runner', async () => {
    const res = await assign(p2, { runner_id: 999999 });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: '404 Runner Not Found' });
  });

  it('refuses a group runner, even to admins', async () => {
    const { runner } = await t.fx.runner({ group });
    const res = await assign(p2, { runner_id: runner.id }, users.admin!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - Runner is a group runner' });
  });

  it('refuses an instance runner: "No access granted" to users, a plain 403 to admins instead of GitLab\'s 500', async () => {
    const { runner } = await t.fx.runner({ type: 'instance_type' });
    expect((await assign(p2, { runner_id: runner.id }, users.both!.token)).json()).toEqual({ message: '403 Forbidden - No access granted' });
    const res = await assign(p2, { runner_id: runner.id }, users.admin!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - Runner is an instance runner' });
    expect(await t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id } })).toBe(0);
  });

  it('refuses a locked runner to users but not to admins', async () => {
    const runner = await p1Runner({ locked: true });
    const res = await assign(p2, { runner_id: runner.id }, users.both!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - Runner is locked' });
    expect((await assign(p2, { runner_id: runner.id }, users.admin!.token)).statusCode).toBe(201);
  });

  it('refuses a maintainer of the target who cannot administer the runner', async () => {
    const runner = await p1Runner();
    const res = await assign(p2, { runner_id: runner.id }, users.p2Only!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - No access granted' });
    expect(await assigned(runner, p2)).toBe(false);
  });

  it.each([
    ['admin', 201],
    ['owner', 201],
    ['maintainer', 201],
    ['developer', 403],
    ['reporter', 403],
    ['guest', 403],
    ['nonMember', 404],
  ])('as %s answers %i', async (role, status) => {
    const runner = await p1Runner();
    const res = await assign(p2, { runner_id: runner.id }, users[role]!.token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual({ message: '403 Forbidden' });
    if (status === 404) expect(res.json()).toEqual({ message: '404 Project Not Found' });
    expect(await assigned(runner, p2)).toBe(status === 201);
  });

  it('checks access before parameters and runner registration before the runner', async () => {
    expect((await assign(p2, {}, users.reporter!.token)).statusCode).toBe(403);
    const closed = await t.fx.project({ namespace: group });
    await t.ctx.prisma.project.update({ where: { id: closed.id }, data: { runner_registration_enabled: false } });
    const runner = await p1Runner();
    const res = await assign(closed, { runner_id: 999999 }, users.owner!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
    expect((await assign(closed, { runner_id: runner.id }, users.admin!.token)).statusCode).toBe(201);
  });

  it('re-points the owner when the owner project no longer exists', async () => {
    const doomed = await t.fx.project({ namespace: group });
    const { runner } = await t.fx.runner({ projects: [doomed, p1] });
    await t.ctx.prisma.project.delete({ where: { id: doomed.id } });
    expect((await assign(p2, { runner_id: runner.id }, users.admin!.token)).statusCode).toBe(201);
    expect((await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } })).sharding_key_id).toBe(p1.id);
  });
});

describe('DELETE /projects/:id/runners/:runner_id', () => {
  const sharedRunner = async (extra: { locked?: boolean } = {}) => (await t.fx.runner({ projects: [p1, p2], ...extra })).runner;

  it('unassigns the runner from a project that is not its owner (204)', async () => {
    const runner = await sharedRunner();
    const res = await unassign(p2, runner.id, users.both!.token, { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await assigned(runner, p2)).toBe(false);
    expect(await assigned(runner, p1)).toBe(true);
  });

  it('never unassigns the owner project: "No access granted" to users, the service message to admins', async () => {
    const runner = await sharedRunner();
    expect((await unassign(p1, runner.id, users.both!.token)).json()).toEqual({ message: '403 Forbidden - No access granted' });
    const res = await unassign(p1, runner.id, users.admin!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - You cannot unassign a runner from the owner project. Delete the runner instead' });
    expect(await assigned(runner, p1)).toBe(true);
  });

  it('answers 404 Runner Not Found for a runner not assigned to the project, or unknown', async () => {
    const runner = await p1Runner();
    for (const id of [runner.id, 999999]) {
      const res = await unassign(p2, id);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ message: '404 Runner Not Found' });
    }
    expect((await unassign(p2, 'abc')).json()).toEqual({ error: 'runner_id is invalid' });
  });

  it('refuses a locked runner to users but not to admins', async () => {
    const runner = await sharedRunner({ locked: true });
    expect((await unassign(p2, runner.id, users.both!.token)).json()).toEqual({ message: '403 Forbidden - Runner is locked' });
    expect((await unassign(p2, runner.id, users.admin!.token)).statusCode).toBe(204);
  });

  it('answers 412 when If-Unmodified-Since is older than the assignment', async () => {
    const runner = await sharedRunner();
    const res = await unassign(p2, runner.id, undefined, { 'if-unmodified-since': new Date(Date.now() - 86_400_000).toUTCString() });
    expect(res.statusCode).toBe(412);
    expect(res.json()).toEqual({ message: '412 Precondition Failed' });
    expect(await assigned(runner, p2)).toBe(true);
  });

  it.each([
    ['admin', 204],
    ['owner', 204],
    ['maintainer', 204],
    ['p2Only', 204],
    ['developer', 403],
    ['reporter', 403],
    ['guest', 403],
    ['nonMember', 404],
  ])('as %s answers %i', async (role, status) => {
    const runner = await sharedRunner();
    const res = await unassign(p2, runner.id, users[role]!.token);
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json()).toEqual({ message: '403 Forbidden' });
    expect(await assigned(runner, p2)).toBe(status !== 204);
  });
});
