import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('foundation', () => {
  it('answers unknown routes with GitLab 404 error body', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/does-not-exist' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: '404 Not Found' });
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('rejects a request without credentials with 401', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/version', token: null });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: '401 Unauthorized' });
  });

  it('echoes X-Request-Id', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/version', headers: { 'x-request-id': 'abc123' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('abc123');
  });

  it('readiness is 200 while the database answers', async () => {
    const res = await t.api({ method: 'GET', url: '/-/readiness', token: null });
    expect(res.statusCode).toBe(200);
  });
});
