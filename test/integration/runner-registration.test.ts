import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { RunnerSimulator, shellInfo } from '../helpers/runner-simulator.js';
import type { ApplicationSetting, Namespace, Project } from '../../src/generated/prisma/client.js';

// The runner-token endpoints (GitLab's lib/api/ci/runner.rb):
// POST /runners, POST /runners/verify, DELETE /runners, DELETE
// /runners/managers and POST /runners/reset_authentication_token.

const INSTANCE_TOKEN = 'instanceRegToken1234';

let t: TestApp;
let group: Namespace & { runnersToken: string };
let project: Project & { runnersToken: string };

beforeAll(async () => {
  t = await createTestApp({ GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: INSTANCE_TOKEN });
  group = await t.fx.group();
  project = await t.fx.project({ namespace: group });
});
afterAll(async () => {
  await t?.close();
});

/** A request as a runner makes it: no user credentials. */
const runnerCall = (opts: InjectOptions) => t.api({ ...opts, token: null });
const register = (payload: Record<string, unknown>) => runnerCall({ method: 'POST', url: '/api/v4/runners', payload });
const verify = (payload: Record<string, unknown>, remoteAddress?: string) =>
  runnerCall({ method: 'POST', url: '/api/v4/runners/verify', payload, ...(remoteAddress ? { remoteAddress } : {}) });

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

const runnerCount = () => t.ctx.prisma.runner.count();
const findRunner = (id: number) => t.ctx.prisma.runner.findUniqueOrThrow({ where: { id }, include: { runner_projects: true, runner_namespaces: true, managers: true } });

describe('POST /runners (registration token)', () => {
  it('registers an instance runner with the instance token and returns id, t1_ token and null expiry', async () => {
    const res = await register({
      token: INSTANCE_TOKEN,
      description: 'my-host',
      maintenance_note: 'rack 4',
      tag_list: 'docker, linux',
      run_untagged: false,
      locked: true,
      access_level: 'ref_protected',
      maximum_timeout: 3600,
      paused: false,
      info: { name: 'gitlab-runner', version: '19.4.0', revision: 'd79f3e7b', platform: 'linux', architecture: 'amd64' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body)).toEqual(['id', 'token', 'token_expires_at']);
    expect(body.token).toMatch(/^t1_[A-Za-z0-9_-]{20}$/);
    expect(body.token_expires_at).toBeNull();

    const runner = await findRunner(body.id);
    expect(runner).toMatchObject({
      runner_type: 1,
      description: 'my-host',
      name: 'gitlab-runner',
      maintenance_note: 'rack 4',
      tag_list: ['docker', 'linux'],
      run_untagged: false,
      locked: true,
      access_level: 1,
      maximum_timeout: 3600,
      active: true,
      registration_type: 0,
      creator_id: null,
      sharding_key_id: null,
      contacted_at: null,
    });
    expect(runner.token_digest).toBe(t.ctx.secrets.digest(body.token));
    expect(runner.runner_projects).toEqual([]);
    expect(runner.runner_namespaces).toEqual([]);
    expect(runner.managers).toEqual([]);
  });

  it('registers a project runner with the project token, linked to the project in the same write', async () => {
    const res = await register({ token: project.runnersToken, description: 'p' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.token).toMatch(/^t3_.{20}$/);
    const runner = await findRunner(body.id);
    expect(runner.runner_type).toBe(3);
    expect(runner.sharding_key_id).toBe(project.id);
    expect(runner.runner_projects.map((rp) => rp.project_id)).toEqual([project.id]);
  });

  it('registers a group runner with the group token', async () => {
    const res = await register({ token: group.runnersToken });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.token).toMatch(/^t2_.{20}$/);
    const runner = await findRunner(body.id);
    expect(runner.runner_type).toBe(2);
    expect(runner.sharding_key_id).toBe(group.id);
    expect(runner.runner_namespaces.map((rn) => rn.namespace_id)).toEqual([group.id]);
  });

  it('applies CLI-like defaults when only the token is sent', async () => {
    const res = await register({ token: INSTANCE_TOKEN });
    expect(res.statusCode).toBe(201);
    const runner = await findRunner(res.json().id);
    expect(runner).toMatchObject({ active: true, locked: false, run_untagged: true, access_level: 0, tag_list: [], description: null, name: null });
  });

  it('sets token_expires_at from the expiration interval of the runner type', async () => {
    await withSettings({ runner_token_expiration_interval: 3600, project_runner_token_expiration_interval: 7200 }, async () => {
      const before = Date.now();
      const instance = (await register({ token: INSTANCE_TOKEN })).json();
      const expiresAt = Date.parse(instance.token_expires_at);
      expect(instance.token_expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);

      const projectRunner = (await register({ token: project.runnersToken })).json();
      expect(Date.parse(projectRunner.token_expires_at) - Date.now()).toBeGreaterThan(7200_000 - 5000);
      expect(Date.parse(projectRunner.token_expires_at) - Date.now()).toBeLessThanOrEqual(7200_000);
    });
  });

  it('takes the least positive interval of the instance, the ancestors and the owner (GitLab compute_token_expiration)', async () => {
    // root (project 5000 s, subgroup 9000 s) > middle (project 0 = unset, subgroup 4000 s, own 8000 s) > leaf (own 6000 s).
    const root = await t.fx.group();
    const middle = await t.fx.group({ parent: root });
    const leaf = await t.fx.group({ parent: middle });
    const leafProject = await t.fx.project({ namespace: leaf });
    const set = (id: number, data: Partial<Namespace>) => t.ctx.prisma.namespace.update({ where: { id }, data });
    await set(root.id, { project_runner_token_expiration_interval: 5000, subgroup_runner_token_expiration_interval: 9000 });
    await set(middle.id, { project_runner_token_expiration_interval: 0, subgroup_runner_token_expiration_interval: 4000, runner_token_expiration_interval: 8000 });
    await set(leaf.id, { runner_token_expiration_interval: 6000 });
    const expiresIn = async (token: string) => {
      const before = Date.now();
      const res = await register({ token });
      expect(res.statusCode).toBe(201);
      return Math.round((Date.parse(res.json().token_expires_at) - before) / 1000);
    };
    const near = (seconds: number) => expect.toSatisfy((v: number) => Math.abs(v - seconds) <= 2);
    await withSettings({ group_runner_token_expiration_interval: 7000, project_runner_token_expiration_interval: 0 }, async () => {
      expect({
        root: await expiresIn(root.runnersToken), // instance group 7000, own none
        middle: await expiresIn(middle.runnersToken), // root's subgroup 9000, own 8000, instance 7000
        leaf: await expiresIn(leaf.runnersToken), // subgroup: root 9000, middle 4000; own 6000
        leafProject: await expiresIn(leafProject.runnersToken), // project: root 5000, middle 0 (unset)
      }).toEqual({ root: near(7000), middle: near(7000), leaf: near(4000), leafProject: near(5000) });
    });
    await withSettings({ project_runner_token_expiration_interval: 3000 }, async () => {
      expect(await expiresIn(leafProject.runnersToken)).toEqual(near(3000));
    });
  });

  it('answers 403 "invalid token supplied" for an unknown, empty or runner token, and creates nothing', async () => {
    const count = await runnerCount();
    const { token: runnerToken } = await t.fx.runner();
    for (const token of ['not-a-token', '', runnerToken]) {
      const res = await register({ token });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: '403 Forbidden - invalid token supplied' });
    }
    expect(await runnerCount()).toBe(count + 1); // only the fixture runner
  });

  it('answers 400 "token is missing" without a token', async () => {
    const res = await register({ description: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'token is missing' });
  });

  it('reads the token from the RUNNER-TOKEN header only when the param is absent', async () => {
    const viaHeader = await runnerCall({ method: 'POST', url: '/api/v4/runners', headers: { 'runner-token': INSTANCE_TOKEN }, payload: {} });
    expect(viaHeader.statusCode).toBe(201);
    const bodyWins = await runnerCall({
      method: 'POST',
      url: '/api/v4/runners',
      headers: { 'runner-token': INSTANCE_TOKEN },
      payload: { token: 'wrong' },
    });
    expect(bodyWins.statusCode).toBe(403);
  });

  it('takes the token from the query string too', async () => {
    const res = await runnerCall({ method: 'POST', url: `/api/v4/runners?token=${INSTANCE_TOKEN}` });
    expect(res.statusCode).toBe(201);
  });

  describe('when registration tokens are disallowed', () => {
    it('answers 410 for the instance, group and project tokens and for any unknown token, 403 for an empty one', async () => {
      await withSettings({ allow_runner_registration_token: false }, async () => {
        const count = await runnerCount();
        for (const token of [INSTANCE_TOKEN, group.runnersToken, project.runnersToken, 'unknown-token']) {
          const res = await register({ token });
          expect(res.statusCode).toBe(410);
          expect(res.json()).toEqual({ message: '410 Gone - runner registration disallowed' });
        }
        const empty = await register({ token: '' });
        expect(empty.statusCode).toBe(403);
        expect(empty.json()).toEqual({ message: '403 Forbidden - invalid token supplied' });
        expect(await runnerCount()).toBe(count);
      });
    });

    it('answers 410 for tokens under a root group that disallows them, while the instance token still works', async () => {
      const root = await t.fx.group();
      const sub = await t.fx.group({ parent: root });
      const subProject = await t.fx.project({ namespace: sub });
      await t.ctx.prisma.namespace.update({ where: { id: root.id }, data: { allow_runner_registration_token: false } });
      for (const token of [root.runnersToken, sub.runnersToken, subProject.runnersToken]) {
        const res = await register({ token });
        expect(res.statusCode).toBe(410);
        expect(res.json()).toEqual({ message: '410 Gone - runner registration disallowed' });
      }
      expect((await register({ token: INSTANCE_TOKEN })).statusCode).toBe(201);
    });

    it('ignores the setting of a subgroup: only the root group decides', async () => {
      const root = await t.fx.group();
      const sub = await t.fx.group({ parent: root });
      await t.ctx.prisma.namespace.update({ where: { id: sub.id }, data: { allow_runner_registration_token: false } });
      expect((await register({ token: sub.runnersToken })).statusCode).toBe(201);
    });
  });

  it('treats project tokens as unknown when "project" is not a valid registrar, and group tokens likewise', async () => {
    await withSettings({ valid_runner_registrars: ['group'] }, async () => {
      const res = await register({ token: project.runnersToken });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: '403 Forbidden - invalid token supplied' });
      expect((await register({ token: group.runnersToken })).statusCode).toBe(201);
    });
    await withSettings({ valid_runner_registrars: ['project'] }, async () => {
      expect((await register({ token: group.runnersToken })).statusCode).toBe(403);
      expect((await register({ token: project.runnersToken })).statusCode).toBe(201);
    });
  });

  it('rejects maintainer_note with maintenance_note, and active with paused', async () => {
    const notes = await register({ token: INSTANCE_TOKEN, maintainer_note: 'a', maintenance_note: 'b' });
    expect(notes.statusCode).toBe(400);
    expect(notes.json()).toEqual({ error: 'maintainer_note, maintenance_note are mutually exclusive' });
    const state = await register({ token: INSTANCE_TOKEN, active: true, paused: false });
    expect(state.statusCode).toBe(400);
    expect(state.json()).toEqual({ error: 'active, paused are mutually exclusive' });
    const both = await register({ active: true, paused: false });
    expect(both.json()).toEqual({ error: 'token is missing, active, paused are mutually exclusive' });
  });

  it('stores the deprecated maintainer_note as maintenance_note and maps paused/active', async () => {
    const a = (await register({ token: INSTANCE_TOKEN, maintainer_note: 'old client', paused: true })).json();
    expect(await findRunner(a.id)).toMatchObject({ maintenance_note: 'old client', active: false });
    const b = (await register({ token: INSTANCE_TOKEN, active: false })).json();
    expect((await findRunner(b.id)).active).toBe(false);
    const c = (await register({ token: INSTANCE_TOKEN, paused: 'false' })).json();
    expect((await findRunner(c.id)).active).toBe(true);
  });

  it('accepts tag_list as an array and drops empty strings like attributes_for_keys', async () => {
    const res = await register({ token: INSTANCE_TOKEN, tag_list: ['a,b', 'c', 'a'], description: '', maintenance_note: '', info: { name: '' } });
    expect(res.statusCode).toBe(201);
    expect(await findRunner(res.json().id)).toMatchObject({ tag_list: ['a', 'b', 'c'], description: null, maintenance_note: null, name: null });
  });

  it('accepts url-encoded form and multipart bodies', async () => {
    const form = await runnerCall({
      method: 'POST',
      url: '/api/v4/runners',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${INSTANCE_TOKEN}&description=form&tag_list[]=x&tag_list[]=y&run_untagged=false&info[name]=formrunner`,
    });
    expect(form.statusCode).toBe(201);
    expect(await findRunner(form.json().id)).toMatchObject({ description: 'form', tag_list: ['x', 'y'], run_untagged: false, name: 'formrunner' });

    const boundary = '----sim';
    const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const multipart = await runnerCall({
      method: 'POST',
      url: '/api/v4/runners',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: part('token', group.runnersToken) + part('description', 'multi') + part('tag_list', 'm1,m2') + `--${boundary}--\r\n`,
    });
    expect(multipart.statusCode).toBe(201);
    expect(await findRunner(multipart.json().id)).toMatchObject({ runner_type: 2, description: 'multi', tag_list: ['m1', 'm2'] });
  });

  it('answers model validation errors with 400 {"message":{...}} and creates nothing', async () => {
    const count = await runnerCount();
    const timeout = await register({ token: INSTANCE_TOKEN, maximum_timeout: 300 });
    expect(timeout.statusCode).toBe(400);
    expect(timeout.json()).toEqual({ message: { maximum_timeout: ['needs to be at least 10 minutes'] } });

    const untagged = await register({ token: INSTANCE_TOKEN, run_untagged: false });
    expect(untagged.json()).toEqual({ message: { tags_list: ['can not be empty when runner is not allowed to pick untagged jobs'] } });

    const tooMany = await register({ token: project.runnersToken, tag_list: Array.from({ length: 51 }, (_, i) => `t${i}`) });
    expect(tooMany.json()).toEqual({ message: { tags_list: ['Too many tags specified. Please limit the number of tags to 50'] } });

    const longDescription = await register({ token: INSTANCE_TOKEN, description: 'd'.repeat(1025) });
    expect(longDescription.json()).toEqual({ message: { description: ['is too long (maximum is 1024 characters)'] } });
    expect(await runnerCount()).toBe(count);
  });

  it('answers Grape parameter errors for bad types and values', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ locked: 'maybe' }, 'locked is invalid'],
      [{ maximum_timeout: 'long' }, 'maximum_timeout is invalid'],
      [{ access_level: 'everyone' }, 'access_level does not have a valid value'],
      [{ info: 'gitlab-runner' }, 'info is invalid'],
    ];
    for (const [params, error] of cases) {
      const res = await register({ token: INSTANCE_TOKEN, ...params });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error });
    }
  });
});

describe('POST /runners/verify', () => {
  it('returns the registration details and heartbeats the runner and its manager with info and IP', async () => {
    const { runner, token } = await t.fx.runner({ type: 'instance_type' });
    const info = shellInfo({ zone: 'eu' });
    const res = await verify({ info, token, system_id: 's_abcdefabcdef' }, '10.1.2.3');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ id: runner.id, token, token_expires_at: null });

    const stored = await findRunner(runner.id);
    expect(stored.contacted_at!.getTime()).toBeGreaterThan(Date.now() - 5000);
    expect(stored.creation_state).toBe(0); // only jobs/request finishes creation
    expect(stored.updated_at.getTime()).toBe(runner.updated_at.getTime());
    expect(stored.managers).toHaveLength(1);
    expect(stored.managers[0]).toMatchObject({
      system_xid: 's_abcdefabcdef',
      version: '19.4.0',
      revision: 'd79f3e7b',
      platform: 'linux',
      architecture: 'amd64',
      executor_type: 'shell',
      ip_address: '10.1.2.3',
      config: {},
      runtime_features: info.features,
      labels: { zone: 'eu' },
      creation_state: 100,
    });
  });

  it('falls back to the RUNNER-TOKEN header when the body has no token', async () => {
    const { runner, token } = await t.fx.runner();
    const res = await runnerCall({ method: 'POST', url: '/api/v4/runners/verify', headers: { 'runner-token': token }, payload: { system_id: 's_headerheader' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(runner.id);
  });

  it('uses the <legacy> manager without system_id, and a later call without info keeps the stored details', async () => {
    const { runner, token } = await t.fx.runner();
    expect((await verify({ token, info: shellInfo() })).statusCode).toBe(200);
    expect((await verify({ token }, '10.9.9.9')).statusCode).toBe(200);
    const [manager, ...others] = (await findRunner(runner.id)).managers;
    expect(others).toEqual([]);
    expect(manager).toMatchObject({ system_xid: '<legacy>', version: '19.4.0', executor_type: 'shell', ip_address: '10.9.9.9' });
  });

  it('stores an executor it does not know as "unknown" and gpus when given', async () => {
    const { runner, token } = await t.fx.runner();
    const res = await verify({ token, system_id: 'r_abcdefghijkl', info: { ...shellInfo(), executor: 'fancy', config: { gpus: 'all' } } });
    expect(res.statusCode).toBe(200);
    expect((await findRunner(runner.id)).managers[0]).toMatchObject({ executor_type: 'unknown', config: { gpus: 'all' } });
  });

  it('answers 403 for an unknown, empty or expired token and 400 without one', async () => {
    const { token: expired } = await t.fx.runner();
    await t.ctx.prisma.runner.update({ where: { token_digest: t.ctx.secrets.digest(expired) }, data: { token_expires_at: new Date(Date.now() - 1000) } });
    for (const token of ['glrt-t1_unknownunknownunkno', '', expired]) {
      const res = await verify({ token });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: '403 Forbidden' });
    }
    const missing = await verify({ system_id: 's_abcdefabcdef' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'token is missing' });
  });

  it('answers 422 "Runner is orphaned" for a project runner whose projects are gone', async () => {
    const doomed = await t.fx.project({ namespace: group });
    const { runner, token } = await t.fx.runner({ projects: [doomed] });
    await t.ctx.prisma.project.delete({ where: { id: doomed.id } });
    const res = await verify({ token, system_id: 's_abcdefabcdef' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ message: 'Runner is orphaned' });
    expect((await findRunner(runner.id)).managers).toEqual([]);
  });

  it('rejects a system_id longer than 64 characters and a non-hash features value', async () => {
    const { token } = await t.fx.runner();
    const long = await verify({ token, system_id: 's_' + 'a'.repeat(63) });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toEqual({ error: 'system_id is invalid' });
    const features = await verify({ token, info: { features: 'all' } });
    expect(features.json()).toEqual({ error: 'info[features] is invalid' });
  });

  it('creates exactly one manager when many verifies of a new system_id race', async () => {
    const { runner, token } = await t.fx.runner();
    const results = await Promise.all(Array.from({ length: 10 }, () => verify({ token, system_id: 's_racingracing', info: shellInfo() })));
    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect((await findRunner(runner.id)).managers).toHaveLength(1);
  });
});

describe('DELETE /runners', () => {
  const unregister = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    runnerCall({ method: 'DELETE', url: '/api/v4/runners', payload, headers });

  it('deletes the runner with its managers and project links, without a body', async () => {
    const { runner, token } = await t.fx.runner({ projects: [project] });
    await verify({ token, system_id: 's_abcdefabcdef' });
    const res = await unregister({ token });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
    expect(await t.ctx.prisma.runnerManager.count({ where: { runner_id: runner.id } })).toBe(0);
    expect(await t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id } })).toBe(0);
    expect((await verify({ token })).statusCode).toBe(403);
  });

  it('answers 403 for a bad token and 400 without one', async () => {
    const bad = await unregister({ token: 'nope' });
    expect(bad.statusCode).toBe(403);
    expect(bad.json()).toEqual({ message: '403 Forbidden' });
    const missing = await unregister({});
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'token is missing' });
  });

  it('accepts the token as a url-encoded form body, as curl -X DELETE -d sends it', async () => {
    const { runner, token } = await t.fx.runner();
    const res = await runnerCall({
      method: 'DELETE',
      url: '/api/v4/runners',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${encodeURIComponent(token)}`,
    });
    expect(res.statusCode).toBe(204);
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
  });

  it('answers 412 when the runner changed after If-Unmodified-Since, and keeps it', async () => {
    const { runner, token } = await t.fx.runner();
    const res = await unregister({ token }, { 'if-unmodified-since': new Date(Date.now() - 3600_000).toUTCString() });
    expect(res.statusCode).toBe(412);
    expect(res.json()).toEqual({ message: '412 Precondition Failed' });
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).not.toBeNull();

    const later = await unregister({ token }, { 'if-unmodified-since': new Date(Date.now() + 3600_000).toUTCString() });
    expect(later.statusCode).toBe(204);
  });
});

describe('DELETE /runners/managers', () => {
  const unregisterManager = (payload: Record<string, unknown>) => runnerCall({ method: 'DELETE', url: '/api/v4/runners/managers', payload });

  it('deletes only that manager, keeps the runner and does not heartbeat', async () => {
    const { runner, token } = await t.fx.runner({ creator: (await t.fx.user()).user });
    await verify({ token, system_id: 's_aaaaaaaaaaaa' });
    await verify({ token, system_id: 's_bbbbbbbbbbbb' });
    const contactedAt = (await findRunner(runner.id)).contacted_at;

    const res = await unregisterManager({ token, system_id: 's_aaaaaaaaaaaa' });
    expect(res.statusCode).toBe(204);
    const after = await findRunner(runner.id);
    expect(after.managers.map((m) => m.system_xid)).toEqual(['s_bbbbbbbbbbbb']);
    expect(after.contacted_at).toEqual(contactedAt);
  });

  it('answers 404 for a manager the runner does not have', async () => {
    const { token } = await t.fx.runner();
    for (const systemId of ['s_cccccccccccc', '']) {
      const res = await unregisterManager({ token, system_id: systemId });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ message: '404 Runner manager not found Not Found' });
    }
  });

  it('requires both token and system_id, and a valid token', async () => {
    const { token } = await t.fx.runner();
    expect((await unregisterManager({ token })).json()).toEqual({ error: 'system_id is missing' });
    expect((await unregisterManager({})).json()).toEqual({ error: 'token is missing, system_id is missing' });
    const bad = await unregisterManager({ token: 'nope', system_id: 's_aaaaaaaaaaaa' });
    expect(bad.statusCode).toBe(403);
    expect(bad.json()).toEqual({ message: '403 Forbidden' });
  });
});

describe('POST /runners/reset_authentication_token', () => {
  const reset = (token: string) => runnerCall({ method: 'POST', url: '/api/v4/runners/reset_authentication_token', payload: { token } });

  it('issues a new token of the same kind, invalidates the old one at once and heartbeats', async () => {
    const { user } = await t.fx.user();
    const { runner, token } = await t.fx.runner({ creator: user, group });
    expect(token.startsWith('glrt-t2_')).toBe(true);
    const res = await reset(token);
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body)).toEqual(['token', 'token_expires_at']);
    expect(body.token).toMatch(/^glrt-t2_[A-Za-z0-9_-]{20}$/);
    expect(body.token_expires_at).toBeNull();

    expect((await verify({ token })).statusCode).toBe(403);
    expect((await verify({ token: body.token })).statusCode).toBe(200);
    const stored = await findRunner(runner.id);
    expect(stored.token_digest).toBe(t.ctx.secrets.digest(body.token));
    expect(stored.contacted_at).not.toBeNull();
    expect(stored.managers.map((m) => m.system_xid)).toEqual(['<legacy>']);
  });

  it('keeps a registered runner token unprefixed and recomputes the expiry', async () => {
    const { token } = await t.fx.runner({ projects: [project] });
    await t.ctx.prisma.project.update({ where: { id: project.id }, data: { runner_token_expiration_interval: 86_400 } });
    try {
      const body = (await reset(token)).json();
      expect(body.token).toMatch(/^t3_.{20}$/);
      expect(Math.abs(Date.parse(body.token_expires_at) - (Date.now() + 86_400_000))).toBeLessThan(5000);
    } finally {
      await t.ctx.prisma.project.update({ where: { id: project.id }, data: { runner_token_expiration_interval: null } });
    }
  });

  it('leaves exactly one working token when 20 resets with the same token race', async () => {
    const { runner, token } = await t.fx.runner();
    const results = await Promise.all(Array.from({ length: 20 }, () => reset(token)));
    const won = results.filter((r) => r.statusCode === 201);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 403)).toHaveLength(19);
    const winner = won[0]!.json().token as string;
    expect((await findRunner(runner.id)).token_digest).toBe(t.ctx.secrets.digest(winner));
    expect((await verify({ token: winner })).statusCode).toBe(200);
    expect((await verify({ token })).statusCode).toBe(403);
  });

  it('answers 403 for a bad or expired token and 400 without one', async () => {
    expect((await reset('nope')).json()).toEqual({ message: '403 Forbidden' });
    const { runner, token } = await t.fx.runner();
    await t.ctx.prisma.runner.update({ where: { id: runner.id }, data: { token_expires_at: new Date(Date.now() - 1) } });
    expect((await reset(token)).statusCode).toBe(403);
    const missing = await runnerCall({ method: 'POST', url: '/api/v4/runners/reset_authentication_token', payload: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ error: 'token is missing' });
  });
});

describe('the runner simulator against these endpoints', () => {
  it('sends what gitlab-runner sends and gets a decodable answer', async () => {
    const sim = RunnerSimulator.forApp(t.app);
    const res = await sim.register(INSTANCE_TOKEN, { description: 'sim' });
    expect(res.statusCode).toBe(201);
    const sent = sim.lastRequest!;
    expect(sent.headers['Runner-Token']).toBe(INSTANCE_TOKEN);
    expect(sent.headers['X-Request-Id']).toMatch(/^[0-9a-f]{32}$/);
    expect(sent.body).toMatch(/^\{"description":"sim","run_untagged":true,"locked":true,"paused":false,"info":\{"name":"gitlab-runner",/);
  });
});
