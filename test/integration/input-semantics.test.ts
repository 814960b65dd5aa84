import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { diffSnapshots, snapshotDb } from '../helpers/db-snapshot.js';
import { INVALID_UTF8, multipartBody } from '../helpers/hostile-inputs.js';

// Grape's input semantics, by source (issue "One declared contract per
// route", its table of requests). A JSON array or object, or a `key[]` form
// array, given for a scalar parameter is "<p> is invalid"; a plain key
// repeated in a query takes its last value (Rack); text that is not UTF-8 or
// has a malformed `%` escape is a 400 before any handler. Every rejected
// request leaves the database as it was.

let t: TestApp;
let group: Namespace;
let project: Project & { runnersToken: string };

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group();
  project = await t.fx.project({ namespace: group });
});
afterAll(async () => t?.close());

/** Sends the request and requires a 400 with exactly this JSON body and no database change. */
async function rejected(send: () => Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>, body: unknown) {
  const before = await snapshotDb(t.db.pool);
  const res = await send();
  expect(res.statusCode).toBe(400);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(JSON.parse(res.body)).toEqual(body);
  expect(diffSnapshots(before, await snapshotDb(t.db.pool))).toEqual([]);
}

const form = (fields: string) => ({ payload: fields, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('a JSON array or object, or a key[] form array, for a scalar parameter is invalid', () => {
  it.each([
    [{ paused: [true] }, 'paused is invalid'],
    [{ description: ['a', 'b'] }, 'description is invalid'],
    [{ locked: { a: true } }, 'locked is invalid'],
    [{ access_level: ['ref_protected'] }, 'access_level is invalid'],
  ])('PUT /runners/:id %j → 400 %s, runner unchanged', async (payload, error) => {
    const { runner } = await t.fx.runner();
    await rejected(() => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload }), { error });
  });

  it('PUT /runners/:id with paused[]=true in a form → 400 paused is invalid', async () => {
    const { runner } = await t.fx.runner();
    await rejected(() => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, ...form('paused[]=true') }), { error: 'paused is invalid' });
  });

  it('POST /groups {"name":["a"]} and form name[]=q → 400 name is invalid, no group', async () => {
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/groups', payload: { name: ['a'], path: 'arr-a' } }), { error: 'name is invalid' });
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/groups', ...form('name[]=q&path=arr-q') }), { error: 'name is invalid' });
  });

  it.each([
    [{ paused: [true] }, 'paused is invalid'],
    [{ locked: [true] }, 'locked is invalid'],
    [{ run_untagged: [false] }, 'run_untagged is invalid'],
  ])('POST /runners (registration) %j → 400 %s, no runner', async (extra, error) => {
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/runners', payload: { token: project.runnersToken, ...extra }, token: null }), { error });
  });

  it('POST /runners/verify, DELETE /runners/managers, POST /jobs/request with system_id as an array → 400', async () => {
    const { token } = await t.fx.runner({ projects: [project] });
    const sent = { token, system_id: ['s_1', 's_2'] };
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/runners/verify', payload: sent, token: null }), { error: 'system_id is invalid' });
    await rejected(() => t.api({ method: 'DELETE', url: '/api/v4/runners/managers', payload: sent, token: null }), { error: 'system_id is invalid' });
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/jobs/request', payload: sent, token: null }), { error: 'system_id is invalid' });
  });

  it('POST /jobs/request with last_update as an array or session as a string → 400', async () => {
    const { token } = await t.fx.runner({ projects: [project] });
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/jobs/request', payload: { token, last_update: ['x'] }, token: null }), { error: 'last_update is invalid' });
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/jobs/request', payload: { token, session: 'abc' }, token: null }), { error: 'session is invalid' });
  });

  it('PUT /application/settings valid_runner_registrars as an object → 400, settings unchanged', async () => {
    await rejected(
      () => t.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { valid_runner_registrars: { a: 'project' }, allow_runner_registration_token: false } }),
      { error: 'valid_runner_registrars is invalid' },
    );
  });

  it('PUT /projects/:id shared_runners_enabled as an array → 400, project unchanged', async () => {
    await rejected(() => t.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: { shared_runners_enabled: [false] } }), { error: 'shared_runners_enabled is invalid' });
  });

  it('PUT /jobs/:id with checksum as an array → 400 checksum is invalid', async () => {
    await rejected(() => t.api({ method: 'PUT', url: '/api/v4/jobs/1', payload: { token: 'x', state: 'success', checksum: ['a'] }, token: null }), { error: 'checksum is invalid' });
  });
});

describe('given blocks type-check their parameters even when inactive', () => {
  it('POST /user/runners group_id=abc with runner_type=instance_type → 400 group_id is invalid, no runner', async () => {
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/user/runners', ...form('runner_type=instance_type&group_id=abc') }), { error: 'group_id is invalid' });
  });

  it('still requires group_id for a group runner, in Grape order', async () => {
    await rejected(() => t.api({ method: 'POST', url: '/api/v4/user/runners', payload: { runner_type: 'group_type', paused: 'maybe' } }), { error: 'group_id is missing, paused is invalid' });
  });
});

describe('repeated query keys (Rack: the last value wins for a scalar)', () => {
  it('GET /runners?page=1&page=x → 400 page is invalid', async () => {
    await rejected(() => t.api({ method: 'GET', url: '/api/v4/runners?page=1&page=x' }), { error: 'page is invalid' });
  });

  it('GET /runners/:id/jobs?page=1&page=x → 400 page is invalid', async () => {
    const { runner } = await t.fx.runner();
    await rejected(() => t.api({ method: 'GET', url: `/api/v4/runners/${runner.id}/jobs?page=1&page=x` }), { error: 'page is invalid' });
  });

  it('GET /runners/all?per_page=x&per_page=1 takes the last value', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/runners/all?per_page=x&per_page=1' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-per-page']).toBe('1');
  });

  it('GET /runners/all?page[]=1 is invalid (an array for a scalar)', async () => {
    await rejected(() => t.api({ method: 'GET', url: '/api/v4/runners/all?page[]=1' }), { error: 'page is invalid' });
  });

  it('tag_list stays an array in every spelling', async () => {
    const { runner } = await t.fx.runner({ tags: ['ruby', 'docker'] });
    for (const q of ['tag_list=ruby&tag_list=docker', 'tag_list=ruby,docker', 'tag_list[]=ruby&tag_list[]=docker']) {
      const res = await t.api({ method: 'GET', url: `/api/v4/runners/all?${q}&per_page=100` });
      expect(res.statusCode, q).toBe(200);
      expect(res.json().map((r: { id: number }) => r.id), q).toContain(runner.id);
    }
    const onlyRuby = await t.fx.runner({ tags: ['ruby'] });
    const both = await t.api({ method: 'GET', url: '/api/v4/runners/all?tag_list=ruby&tag_list=docker&per_page=100' });
    expect(both.json().map((r: { id: number }) => r.id)).not.toContain(onlyRuby.runner.id);
  });
});

describe('invalid UTF-8 and malformed % escapes are a 400 before any handler', () => {
  const invalid = (where: string) => ({ message: `400 Bad request - invalid UTF-8 or percent-encoding in the ${where}` });

  it.each(['tag_list=%C3%28', 'tag_list=%ZZ', 'tag_list=a%', 'description=%FF', '%C3%28=x'])('GET /runners/all?%s → 400', async (q) => {
    await rejected(() => t.api({ method: 'GET', url: `/api/v4/runners/all?${q}` }), invalid('query string'));
  });

  it('a form field with %C3%28 → 400, runner unchanged', async () => {
    const { runner } = await t.fx.runner();
    await rejected(() => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, ...form('description=%C3%28') }), invalid('request body'));
  });

  it('a multipart field with raw invalid UTF-8 → 400, runner unchanged', async () => {
    const { runner } = await t.fx.runner();
    const { payload, contentType } = multipartBody({ description: INVALID_UTF8 });
    await rejected(() => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload, headers: { 'content-type': contentType } }), invalid('request body'));
  });

  it('a multipart field with valid UTF-8 (and a real U+FFFD) is accepted', async () => {
    const { runner } = await t.fx.runner();
    const { payload, contentType } = multipartBody({ description: 'café \uFFFD ok' });
    const res = await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload, headers: { 'content-type': contentType } });
    expect(res.statusCode).toBe(200);
    expect(res.json().description).toBe('café \uFFFD ok');
  });

  it('a JSON string with raw invalid UTF-8 → 400, runner unchanged', async () => {
    const { runner } = await t.fx.runner();
    const payload = Buffer.concat([Buffer.from('{"description":"'), INVALID_UTF8, Buffer.from('"}')]);
    await rejected(() => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload, headers: { 'content-type': 'application/json' } }), invalid('JSON body'));
  });
});

describe('credentials in percent-encoded keys', () => {
  it('GET /user?private%5Ftoken=… authenticates', async () => {
    const res = await t.api({ method: 'GET', url: `/api/v4/user?private%5Ftoken=${t.rootToken}`, token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json().username).toBe('root');
  });
});
