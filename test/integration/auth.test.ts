import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../src/generated/prisma/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import probeRoutes from '../helpers/probe-routes.js';

// docs.gitlab.com/api/rest/authentication (ways to present a user, error bodies, Sudo) and
// token scopes on GET /api/v4/version and test-only probe routes:
//   /api/v4/probe/whoami  GET and POST, no extra scopes (api; read_api on GET)
//   /api/v4/probe/scoped  GET and POST, also manage_runner (like /runners/:id)
//   /api/v4/probe/optional  auth: 'optional'

let t: TestApp;
let alice: User;
let aliceToken: string;

beforeAll(async () => {
  t = await createTestApp({}, { extraPlugins: [probeRoutes] });
  ({ user: alice, token: aliceToken } = await t.fx.user({ username: 'alice' }));
});
afterAll(async () => {
  await t?.close();
});

const UNAUTHORIZED = { message: '401 Unauthorized' };
const insufficient = (scope: string) => ({
  error: 'insufficient_scope',
  error_description: 'The request requires higher privileges than provided by the access token.',
  scope,
});

const get = (url: string, headers: Record<string, string> = {}) => t.api({ method: 'GET', url, headers, token: null });
const post = (url: string, headers: Record<string, string> = {}, payload?: unknown) =>
  t.api({ method: 'POST', url, headers, payload: payload as Record<string, unknown>, token: null });

describe('ways to present a personal access token', () => {
  it('PRIVATE-TOKEN header', async () => {
    const res = await get('/api/v4/probe/whoami', { 'private-token': aliceToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ username: 'alice', scopes: ['api'], impersonator: null });
  });

  it('Authorization: Bearer, the scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await get('/api/v4/probe/whoami', { authorization: `${scheme} ${aliceToken}` });
      expect(res.statusCode).toBe(200);
      expect(res.json().username).toBe('alice');
    }
  });

  it('private_token query parameter', async () => {
    const res = await get(`/api/v4/probe/whoami?private_token=${aliceToken}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().username).toBe('alice');
  });

  it('private_token in a form body', async () => {
    const res = await t.api({
      method: 'POST',
      url: '/api/v4/probe/whoami',
      token: null,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `private_token=${aliceToken}`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().username).toBe('alice');
  });

  it('HTTP basic with the token as the password', async () => {
    const res = await get('/api/v4/probe/whoami', { authorization: `Basic ${Buffer.from(`alice:${aliceToken}`).toString('base64')}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().username).toBe('alice');
  });

  it('GET /api/v4/version works with the root token', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/version' });
    expect(res.statusCode).toBe(200);
  });
});

describe('401 Unauthorized', () => {
  it('no credentials', async () => {
    for (const url of ['/api/v4/probe/whoami', '/api/v4/version']) {
      const res = await get(url);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual(UNAUTHORIZED);
    }
  });

  it.each([
    ['PRIVATE-TOKEN', { 'private-token': 'glpat-unknown-token-00000000' }, ''],
    ['Bearer', { authorization: 'Bearer glpat-unknown-token-00000000' }, ''],
    ['query', {}, '?private_token=glpat-unknown-token-00000000'],
    ['empty Bearer', { authorization: 'Bearer ' }, ''],
  ])('an unknown token (%s)', async (_how, headers, query) => {
    const res = await get(`/api/v4/probe/whoami${query}`, headers as Record<string, string>);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(UNAUTHORIZED);
  });

  it('JOB-TOKEN is not a way to sign in to these endpoints', async () => {
    const res = await get('/api/v4/probe/whoami', { 'job-token': aliceToken });
    expect(res.statusCode).toBe(401);
  });

  it('an expired token: invalid_token body and WWW-Authenticate', async () => {
    const yesterday = new Date(Date.now() - 86_400_000);
    const token = await t.fx.token(alice, ['api'], { expiresAt: yesterday });
    const res = await get('/api/v4/probe/whoami', { 'private-token': token });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({
      error: 'invalid_token',
      error_description: 'Token is expired. You can either do re-authorization or token refresh.',
    });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="Protected by OAuth 2\.0", error="invalid_token", error_description="Token is expired\./);
  });

  it('a token expires at the start of its expiry day (UTC); until then it works', async () => {
    const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const tomorrow = new Date(today.getTime() + 86_400_000);
    const expiresToday = await t.fx.token(alice, ['api'], { expiresAt: today });
    const expiresTomorrow = await t.fx.token(alice, ['api'], { expiresAt: tomorrow });
    expect((await get('/api/v4/probe/whoami', { 'private-token': expiresToday })).statusCode).toBe(401);
    expect((await get('/api/v4/probe/whoami', { 'private-token': expiresTomorrow })).statusCode).toBe(200);
  });

  it('a revoked token: invalid_token body', async () => {
    const token = await t.fx.token(alice, ['api'], { revoked: true });
    const res = await get('/api/v4/probe/whoami', { 'private-token': token });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: 'invalid_token', error_description: 'Token was revoked. You have to re-authorize from the user.' });
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});

describe('scopes', () => {
  it('read_api: GET works, POST is 403 insufficient_scope', async () => {
    const token = await t.fx.token(alice, ['read_api']);
    expect((await get('/api/v4/probe/whoami', { 'private-token': token })).statusCode).toBe(200);
    const res = await post('/api/v4/probe/whoami', { 'private-token': token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(insufficient('api read_api'));
  });

  it('read_user alone is not enough for an ordinary route; the scope names what would be', async () => {
    const token = await t.fx.token(alice, ['read_user']);
    const res = await get('/api/v4/probe/whoami', { 'private-token': token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(insufficient('api read_api'));
  });

  it('a route that registers read_user (GET /api/v4/version) accepts it', async () => {
    const token = await t.fx.token(alice, ['read_user']);
    expect((await get('/api/v4/version', { 'private-token': token })).statusCode).toBe(200);
  });

  it('manage_runner: enough where the route registers it, for GET and POST', async () => {
    const token = await t.fx.token(alice, ['manage_runner']);
    expect((await get('/api/v4/probe/scoped', { 'private-token': token })).statusCode).toBe(200);
    expect((await post('/api/v4/probe/scoped', { 'private-token': token })).statusCode).toBe(200);
    const elsewhere = await get('/api/v4/probe/whoami', { 'private-token': token });
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json()).toEqual(insufficient('api read_api'));
  });

  it('create_runner on a manage_runner route: 403 listing the route scopes first', async () => {
    const token = await t.fx.token(alice, ['create_runner']);
    const res = await get('/api/v4/probe/scoped', { 'private-token': token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(insufficient('manage_runner api read_api'));
  });

  it('api works everywhere', async () => {
    for (const url of ['/api/v4/probe/whoami', '/api/v4/probe/scoped', '/api/v4/version']) {
      expect((await get(url, { 'private-token': aliceToken })).statusCode).toBe(200);
    }
    expect((await post('/api/v4/probe/scoped', { 'private-token': aliceToken })).statusCode).toBe(200);
  });
});

describe('blocked users', () => {
  it('a blocked user gets 403 "Your account has been blocked."', async () => {
    const { token } = await t.fx.user({ state: 'blocked' });
    const res = await get('/api/v4/probe/whoami', { 'private-token': token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: '403 Forbidden - Your account has been blocked.' });
  });
});

describe('Sudo', () => {
  let sudoToken: string;
  let adminWithoutSudo: string;

  beforeAll(async () => {
    const { user: boss } = await t.fx.user({ username: 'boss', admin: true });
    sudoToken = await t.fx.token(boss, ['api', 'sudo']);
    adminWithoutSudo = await t.fx.token(boss, ['api']);
  });

  it('Sudo header (any case) by username: the request runs as that user', async () => {
    for (const header of ['Sudo', 'sudo', 'SUDO']) {
      const res = await get('/api/v4/probe/whoami', { 'private-token': sudoToken, [header]: 'alice' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ username: 'alice', scopes: ['api', 'sudo'], impersonator: 'boss' });
    }
  });

  it('python-gitlab: ?sudo= by id', async () => {
    const res = await get(`/api/v4/probe/whoami?sudo=${alice.id}`, { 'private-token': sudoToken });
    expect(res.statusCode).toBe(200);
    expect(res.json().username).toBe('alice');
  });

  it('usernames match case-insensitively', async () => {
    const res = await get('/api/v4/probe/whoami?sudo=ALICE', { 'private-token': sudoToken });
    expect(res.json().username).toBe('alice');
  });

  it('?sudo= wins over the Sudo header, as params do in GitLab', async () => {
    const res = await get('/api/v4/probe/whoami?sudo=alice', { 'private-token': sudoToken, sudo: 'root' });
    expect(res.json().username).toBe('alice');
  });

  it('the root token (all scopes) can sudo', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/whoami', headers: { sudo: 'alice' } });
    expect(res.json()).toMatchObject({ username: 'alice', impersonator: 'root' });
  });

  it('a non-admin: 403 "Must be admin to use sudo", with or without the sudo scope', async () => {
    const withScope = await t.fx.token(alice, ['api', 'sudo']);
    for (const token of [aliceToken, withScope]) {
      const ways: Array<{ headers: Record<string, string>; url: string }> = [
        { headers: { sudo: 'root' }, url: '/api/v4/probe/whoami' },
        { headers: {}, url: '/api/v4/probe/whoami?sudo=root' },
      ];
      for (const how of ways) {
        const res = await get(how.url, { 'private-token': token, ...how.headers });
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual({ message: '403 Forbidden - Must be admin to use sudo' });
      }
    }
  });

  it('an admin token without the sudo scope: 403 insufficient_scope naming "sudo"', async () => {
    const res = await get('/api/v4/probe/whoami', { 'private-token': adminWithoutSudo, sudo: 'alice' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(insufficient('sudo'));
  });

  it('an unknown user: 404 "User with ID or username \'x\' Not Found"', async () => {
    for (const who of ['ghost', '999999']) {
      const res = await get(`/api/v4/probe/whoami?sudo=${who}`, { 'private-token': sudoToken });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ message: `404 User with ID or username '${who}' Not Found` });
    }
  });

  it('without Sudo the admin acts as themselves', async () => {
    const res = await get('/api/v4/probe/whoami', { 'private-token': sudoToken });
    expect(res.json()).toMatchObject({ username: 'boss', impersonator: null });
  });
});

describe("routes with auth: 'optional'", () => {
  it('anonymous is allowed', async () => {
    const res = await get('/api/v4/probe/optional');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ username: null });
  });

  it('a valid token signs in', async () => {
    const res = await get('/api/v4/probe/optional', { 'private-token': aliceToken });
    expect(res.json()).toEqual({ username: 'alice' });
  });

  it('a bad token is still 401, not anonymous', async () => {
    const res = await get('/api/v4/probe/optional', { 'private-token': 'glpat-unknown-token-00000000' });
    expect(res.statusCode).toBe(401);
  });
});

describe('credentials never reach the log', () => {
  it('query tokens are redacted, headers and bodies are not logged', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = await createTestApp({ LOG_LEVEL: 'info' }, { extraPlugins: [probeRoutes], loggerStream: stream });
    try {
      const secret = logged.rootToken;
      await logged.api({ method: 'GET', url: `/api/v4/probe/whoami?private_token=${secret}&sudo=root`, token: null });
      await logged.api({ method: 'GET', url: `/api/v4/nope?token=${secret}&job_token=${secret}&access_token=${secret}`, token: null });
      await logged.api({ method: 'GET', url: '/api/v4/probe/whoami', token: null, headers: { authorization: `Bearer ${secret}` } });
      await logged.api({ method: 'POST', url: '/api/v4/probe/echo', payload: { description: secret, token: secret } });
      await logged.api({ method: 'GET', url: '/api/v4/probe/errors/bug' });
      const log = lines.join('');
      expect(log).toContain('private_token=[REDACTED]');
      expect(log).toContain('"url":"/api/v4/nope?token=[REDACTED]&job_token=[REDACTED]&access_token=[REDACTED]"');
      expect(log).not.toContain(secret);
      expect(log).not.toContain(secret.slice(6));
    } finally {
      await logged.close();
    }
  });
});
