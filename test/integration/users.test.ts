import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const USER_BASIC_KEYS = ['id', 'username', 'name', 'state', 'locked', 'avatar_url', 'web_url'];

describe('GET /user', () => {
  it('shows an admin the UserWithAdmin entity with is_admin and namespace_id', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/user' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(Object.keys(body).slice(0, 7)).toEqual(USER_BASIC_KEYS);
    expect(body).toMatchObject({ username: 'root', name: 'Administrator', state: 'active', web_url: 'http://gitlab.test/root', email: 'admin@example.com', is_admin: true });
    const ns = await t.ctx.prisma.namespace.findFirst({ where: { full_path: 'root' } });
    expect(body.namespace_id).toBe(ns!.id);
  });

  it('shows a regular user UserPublic without admin fields', async () => {
    const { user, token } = await t.fx.user();
    const res = await t.api({ method: 'GET', url: '/api/v4/user', token });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ id: user.id, username: user.username, email: user.email, can_create_group: true });
    expect(body).not.toHaveProperty('is_admin');
  });

  it('accepts read_user and read_api tokens', async () => {
    const { user } = await t.fx.user();
    for (const scope of ['read_user', 'read_api'] as const) {
      const token = await t.fx.token(user, [scope]);
      const res = await t.api({ method: 'GET', url: '/api/v4/user', token });
      expect(res.statusCode).toBe(200);
    }
  });

  it('refuses a token with only the create_runner scope', async () => {
    const { user } = await t.fx.user();
    const token = await t.fx.token(user, ['create_runner']);
    const res = await t.api({ method: 'GET', url: '/api/v4/user', token });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('insufficient_scope');
  });

  it('answers anonymous callers with 401', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/user', token: null });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: '401 Unauthorized' });
  });
});

describe('POST /users', () => {
  const payload = (name: string) => ({ username: name, name: `User ${name}`, email: `${name}@example.org`, password: 'secret-password-1', skip_confirmation: true });

  it('creates a user with a personal namespace and answers UserWithAdmin', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/users', payload: payload('alice') });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ username: 'alice', name: 'User alice', email: 'alice@example.org', state: 'active', is_admin: false });
    const ns = await t.ctx.prisma.namespace.findUnique({ where: { owner_id: body.id } });
    expect(ns).toMatchObject({ kind: 'user', path: 'alice', full_path: 'alice', traversal_ids: [ns!.id] });
    expect(body.namespace_id).toBe(ns!.id);
  });

  it('creates an admin when asked, from a url-encoded form', async () => {
    const res = await t.api({
      method: 'POST',
      url: '/api/v4/users',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=boss&name=Boss&email=boss%40example.org&password=secret-password-1&admin=true',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().is_admin).toBe(true);
  });

  it('answers 409 for a taken e-mail before a taken username', async () => {
    await t.api({ method: 'POST', url: '/api/v4/users', payload: payload('carol') });
    const both = await t.api({ method: 'POST', url: '/api/v4/users', payload: payload('carol') });
    expect(both.statusCode).toBe(409);
    expect(both.json()).toEqual({ message: 'Email has already been taken' });
    const username = await t.api({ method: 'POST', url: '/api/v4/users', payload: { ...payload('CAROL'), email: 'other@example.org' } });
    expect(username.statusCode).toBe(409);
    expect(username.json()).toEqual({ message: 'Username has already been taken' });
  });

  it('reports missing parameters in declaration order and creates nothing', async () => {
    const before = await t.ctx.prisma.user.count();
    const res = await t.api({ method: 'POST', url: '/api/v4/users', payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'email is missing, password, reset_password, force_random_password are missing, at least one parameter must be provided, name is missing, username is missing',
    });
    expect(await t.ctx.prisma.user.count()).toBe(before);
  });

  it('rejects invalid attributes with a validation error', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/users', payload: { ...payload('-bad'), email: 'nope', password: 'short' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toEqual({
      email: ['is invalid'],
      username: ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"],
      password: ['is too short (minimum is 8 characters)'],
    });
  });

  it('rejects a username that a group already uses', async () => {
    await t.fx.group({ path: 'taken-by-group' });
    const res = await t.api({ method: 'POST', url: '/api/v4/users', payload: payload('taken-by-group') });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ message: { username: ['has already been taken'] } });
  });

  it('is for admins only', async () => {
    const { token } = await t.fx.user();
    const res = await t.api({ method: 'POST', url: '/api/v4/users', payload: payload('mallory'), token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
    expect(await t.ctx.prisma.user.findFirst({ where: { username: 'mallory' } })).toBeNull();
  });
});

describe('GET /users', () => {
  it('lists users newest first with pagination headers', async () => {
    await t.fx.user({ username: 'list_a' });
    await t.fx.user({ username: 'list_b' });
    const res = await t.api({ method: 'GET', url: '/api/v4/users?per_page=2' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toHaveLength(2);
    expect(body[0].id).toBeGreaterThan(body[1].id);
    expect(res.headers['x-per-page']).toBe('2');
    expect(res.headers['x-next-page']).toBe('2');
    expect(Number(res.headers['x-total'])).toBeGreaterThanOrEqual(3);
    expect(res.headers.link).toContain('rel="next"');
  });

  it('gives admins UserWithAdmin and others UserBasic', async () => {
    const admin = await t.api({ method: 'GET', url: '/api/v4/users?username=root' });
    expect(admin.json()[0]).toMatchObject({ username: 'root', is_admin: true, email: 'admin@example.com' });
    const { token } = await t.fx.user();
    const user = await t.api({ method: 'GET', url: '/api/v4/users?username=root', token });
    expect(Object.keys(user.json()[0])).toEqual(USER_BASIC_KEYS);
  });

  it('filters by username (case-insensitive) and by search', async () => {
    await t.fx.user({ username: 'findme_xyz' });
    const byName = await t.api({ method: 'GET', url: '/api/v4/users?username=FINDME_XYZ' });
    expect(byName.json().map((u: { username: string }) => u.username)).toEqual(['findme_xyz']);
    const bySearch = await t.api({ method: 'GET', url: '/api/v4/users?search=dme_x' });
    expect(bySearch.json().map((u: { username: string }) => u.username)).toEqual(['findme_xyz']);
  });

  it('hides blocked users from non-admins but not from admins', async () => {
    await t.fx.user({ username: 'blocked_one', state: 'blocked' });
    const { token } = await t.fx.user();
    const user = await t.api({ method: 'GET', url: '/api/v4/users?username=blocked_one', token });
    expect(user.json()).toEqual([]);
    const admin = await t.api({ method: 'GET', url: '/api/v4/users?username=blocked_one' });
    expect(admin.json()).toHaveLength(1);
    expect(admin.json()[0].state).toBe('blocked');
  });

  it('lets anonymous callers look up one username but not list everyone', async () => {
    const one = await t.api({ method: 'GET', url: '/api/v4/users?username=root', token: null });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toHaveLength(1);
    const all = await t.api({ method: 'GET', url: '/api/v4/users', token: null });
    expect(all.statusCode).toBe(403);
    expect(all.json()).toEqual({ message: '403 Forbidden - Not authorized to access /api/v4/users' });
  });

  it('rejects a non-integer page with 400', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/users?page=abc' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'page is invalid' });
  });
});

describe('GET /users/:id', () => {
  it('shows the User entity to users and details to admins', async () => {
    const { user, token } = await t.fx.user();
    const asUser = await t.api({ method: 'GET', url: `/api/v4/users/${user.id}`, token });
    expect(asUser.statusCode).toBe(200);
    expect(asUser.json()).toMatchObject({ id: user.id, username: user.username, bot: false });
    expect(asUser.json()).not.toHaveProperty('email');
    const asAdmin = await t.api({ method: 'GET', url: `/api/v4/users/${user.id}` });
    expect(asAdmin.json()).toMatchObject({ id: user.id, email: user.email, is_admin: false, highest_role: 0 });
  });

  it('answers 404 User Not Found for an unknown id', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/users/999999' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: '404 User Not Found' });
    const huge = await t.api({ method: 'GET', url: '/api/v4/users/99999999999' });
    expect(huge.json()).toEqual({ message: '404 User Not Found' });
  });

  it('does not route a non-numeric id', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/users/root' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: '404 Not Found' });
  });

  it('refuses anonymous callers', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/users/1', token: null });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - Not authorized!' });
  });
});

describe('POST /users/:user_id/personal_access_tokens', () => {
  it('issues a token that works and is shown once', async () => {
    const { user } = await t.fx.user();
    const res = await t.api({
      method: 'POST',
      url: `/api/v4/users/${user.id}/personal_access_tokens`,
      payload: { name: 'ci', scopes: ['api', 'read_user'], expires_at: '2099-01-31' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['id', 'name', 'revoked', 'created_at', 'description', 'scopes', 'user_id', 'last_used_at', 'active', 'expires_at', 'token']);
    expect(body).toMatchObject({ name: 'ci', revoked: false, scopes: ['api', 'read_user'], user_id: user.id, active: true, expires_at: '2099-01-31' });
    expect(body.token).toMatch(/^glpat-[A-Za-z0-9_-]{20}$/);
    const me = await t.api({ method: 'GET', url: '/api/v4/user', token: body.token });
    expect(me.json().id).toBe(user.id);
    const stored = await t.ctx.prisma.personalAccessToken.findUnique({ where: { id: body.id } });
    expect(stored!.token_digest).not.toContain(body.token);
  });

  it('defaults the expiry to a year, accepts comma-separated scopes', async () => {
    const { user } = await t.fx.user();
    const res = await t.api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: { name: 'x', scopes: 'api,sudo' } });
    expect(res.statusCode).toBe(201);
    expect(res.json().scopes).toEqual(['api', 'sudo']);
    const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
    expect(res.json().expires_at).toBe(inAYear);
  });

  it('rejects unknown scopes and missing parameters with 400 and creates nothing', async () => {
    const { user } = await t.fx.user();
    const before = await t.ctx.prisma.personalAccessToken.count();
    const bad = await t.api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: { name: 'x', scopes: ['write_everything'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'scopes does not have a valid value' });
    const missing = await t.api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: {} });
    expect(missing.json()).toEqual({ error: 'name is missing, scopes is missing' });
    const date = await t.api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: { name: 'x', scopes: ['api'], expires_at: '2099-02-30' } });
    expect(date.json()).toEqual({ error: 'expires_at is invalid' });
    const empty = await t.api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: { name: 'x', scopes: [] } });
    expect(empty.statusCode).toBe(422);
    expect(empty.json()).toEqual({ message: "Scopes can't be blank" });
    expect(await t.ctx.prisma.personalAccessToken.count()).toBe(before);
  });

  it('answers 404 for an unknown user and 403 for non-admins', async () => {
    const notFound = await t.api({ method: 'POST', url: '/api/v4/users/999999/personal_access_tokens', payload: { name: 'x', scopes: ['api'] } });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toEqual({ message: '404 User Not Found' });
    const { user, token } = await t.fx.user();
    const forbidden = await t.api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: {}, token });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toEqual({ message: '403 Forbidden' });
  });
});
