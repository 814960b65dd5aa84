import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: 'instance-reg-token-123' });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.ctx.prisma.applicationSetting.update({
    where: { id: 1 },
    data: {
      allow_runner_registration_token: true,
      valid_runner_registrars: ['project', 'group'],
      runner_token_expiration_interval: null,
      group_runner_token_expiration_interval: null,
      project_runner_token_expiration_interval: null,
    },
  });
});

describe('GET /application/settings', () => {
  it('shows an admin the runner settings and the instance registration token', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/application/settings' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body)).toEqual([
      'id',
      'updated_at',
      'runner_token_expiration_interval',
      'group_runner_token_expiration_interval',
      'project_runner_token_expiration_interval',
      'allow_runner_registration_token',
      'valid_runner_registrars',
      'runners_registration_token',
      'stale_runner_pruning_enabled',
    ]);
    expect(body).toMatchObject({
      id: 1,
      allow_runner_registration_token: true,
      valid_runner_registrars: ['project', 'group'],
      runner_token_expiration_interval: null,
      runners_registration_token: 'instance-reg-token-123',
    });
  });

  it('is for admins only', async () => {
    const { token } = await t.fx.user();
    const res = await t.api({ method: 'GET', url: '/api/v4/application/settings', token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
    const anon = await t.api({ method: 'GET', url: '/api/v4/application/settings', token: null });
    expect(anon.statusCode).toBe(401);
  });
});

describe('PUT /application/settings', () => {
  it('writes the runner settings and returns them', async () => {
    const res = await t.api({
      method: 'PUT',
      url: '/api/v4/application/settings',
      payload: {
        valid_runner_registrars: ['group'],
        runner_token_expiration_interval: 7200,
        group_runner_token_expiration_interval: 86400,
        project_runner_token_expiration_interval: '3600',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      valid_runner_registrars: ['group'],
      runner_token_expiration_interval: 7200,
      group_runner_token_expiration_interval: 86400,
      project_runner_token_expiration_interval: 3600,
    });
    const row = await t.ctx.prisma.applicationSetting.findUnique({ where: { id: 1 } });
    expect(row).toMatchObject({ valid_runner_registrars: ['group'], runner_token_expiration_interval: 7200 });

    const cleared = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { runner_token_expiration_interval: null } });
    expect(cleared.json().runner_token_expiration_interval).toBeNull();
    expect(cleared.json().group_runner_token_expiration_interval).toBe(86400);
  });

  it('turning registration tokens off hides every registration token', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const res = await t.api({
      method: 'PUT',
      url: '/api/v4/application/settings',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'allow_runner_registration_token=false',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ allow_runner_registration_token: false, runners_registration_token: null });
    expect((await t.api({ method: 'GET', url: `/api/v4/groups/${group.id}` })).json()).toHaveProperty('runners_token', null);
    expect((await t.api({ method: 'GET', url: `/api/v4/projects/${project.id}` })).json()).toHaveProperty('runners_token', null);
  });

  it('accepts an empty registrar list (comma form) and rejects unknown registrars', async () => {
    const empty = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { valid_runner_registrars: [] } });
    expect(empty.json().valid_runner_registrars).toEqual([]);
    const comma = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { valid_runner_registrars: 'project,group' } });
    expect(comma.json().valid_runner_registrars).toEqual(['project', 'group']);
    const bad = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { valid_runner_registrars: ['project', 'instance'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'valid_runner_registrars does not have a valid value' });
  });

  it('rejects bad input with 400 and changes nothing', async () => {
    const notInt = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { runner_token_expiration_interval: 'soon', allow_runner_registration_token: false } });
    expect(notInt.statusCode).toBe(400);
    expect(notInt.json()).toEqual({ error: 'runner_token_expiration_interval is invalid' });
    const negative = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { group_runner_token_expiration_interval: -5, allow_runner_registration_token: false } });
    expect(negative.statusCode).toBe(400);
    expect(negative.json()).toEqual({ message: { group_runner_token_expiration_interval: ['must be greater than or equal to 0'] } });
    const row = await t.ctx.prisma.applicationSetting.findUnique({ where: { id: 1 } });
    expect(row).toMatchObject({ allow_runner_registration_token: true, group_runner_token_expiration_interval: null, runner_token_expiration_interval: null });
  });

  it('refuses non-admins before looking at the parameters', async () => {
    const { token } = await t.fx.user();
    const res = await t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { runner_token_expiration_interval: 'soon' }, token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
  });
});
