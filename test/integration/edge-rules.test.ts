import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import probeRoutes from '../helpers/probe-routes.js';

// One regression test per edge rule the GitLab clients rely on (and the
// framework error shapes of Grape and GitLab's lib/api/helpers.rb), each named after the client
// behaviour it protects. The probe routes echo what the real compat, auth and
// error plugins and parseInput make of a request.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { extraPlugins: [probeRoutes] });
});
afterAll(async () => {
  await t?.close();
});

const JSON_TYPE = 'application/json';

describe('python-gitlab: JSON responses carry exactly application/json (no charset)', () => {
  it.each([
    ['a 200 read', 'GET', '/api/v4/probe/echo', 200],
    ['a 201 create', 'POST', '/api/v4/probe/echo', 201],
    ['GET /api/v4/version', 'GET', '/api/v4/version', 200],
    ['a 400 parameter error', 'GET', '/api/v4/probe/echo?paused=maybe', 400],
    ['a 404 helper error', 'GET', '/api/v4/probe/errors/not-found', 404],
    ['an unknown route', 'GET', '/api/v4/nothing/here', 404],
    ['a 500', 'GET', '/api/v4/probe/errors/bug', 500],
  ] as const)('%s', async (_what, method, url, status) => {
    const res = await t.api({ method, url });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe(JSON_TYPE);
  });

  it('also on 401 without credentials', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/echo', token: null });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toBe(JSON_TYPE);
  });

  it('non-JSON responses keep their own type', async () => {
    const res = await t.api({ method: 'GET', url: '/-/health', token: null });
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });
});

describe('python-gitlab: empty bodies with Content-Type: application/json', () => {
  it('DELETE with Content-Type json, Content-Length 0 and no body is accepted', async () => {
    const res = await t.api({ method: 'DELETE', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/json', 'content-length': '0' }, payload: '' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: {} });
  });

  it('a bodiless POST with Content-Type json is accepted', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(res.statusCode).toBe(201);
  });

  it('a whitespace-only JSON body counts as empty', async () => {
    const res = await t.api({ method: 'DELETE', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/json' }, payload: ' \n' });
    expect(res.statusCode).toBe(200);
  });

  it('gitbeaker: DELETE with the JSON body {} is accepted', async () => {
    const res = await t.api({ method: 'DELETE', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.statusCode).toBe(200);
  });

  it('python-gitlab: GET with Content-Type json and no body is accepted', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/echo?paused=False', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(200);
  });
});

describe('query arrays in three spellings', () => {
  const tags = async (query: string) => {
    const res = await t.api({ method: 'GET', url: `/api/v4/probe/echo?${query}` });
    expect(res.statusCode).toBe(200);
    return res.json().query.tag_list;
  };

  it('gitbeaker: tag_list[]=a&tag_list[]=b query arrays (sent URL-encoded)', async () => {
    expect(await tags('tag_list%5B%5D=a&tag_list%5B%5D=b%20c')).toEqual(['a', 'b c']);
    expect(await tags('tag_list[]=a&tag_list[]=b')).toEqual(['a', 'b']);
  });

  it('python-gitlab: comma form tag_list=a%2Cb+c', async () => {
    expect(await tags('tag_list=a%2Cb+c')).toEqual(['a', 'b c']);
  });

  it('curl: repeated keys tag_list=a&tag_list=b', async () => {
    expect(await tags('tag_list=a&tag_list=b')).toEqual(['a', 'b']);
  });

  it('curl: an empty tag_list= is no tags at all', async () => {
    expect(await tags('tag_list=')).toEqual([]);
  });

  it('a repeated scalar takes the last value', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/echo?id=1&id=2' });
    expect(res.json().query.id).toBe(2);
  });
});

describe('lenient booleans', () => {
  it.each([
    ['False', false],
    ['True', true],
    ['false', false],
    ['true', true],
    ['0', false],
    ['1', true],
  ])('python-gitlab: paused=%s boolean', async (word, value) => {
    const res = await t.api({ method: 'GET', url: `/api/v4/probe/echo?paused=${word}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().query.paused).toBe(value);
  });

  it('an unknown spelling is 400 "paused is invalid"', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/echo?paused=maybe' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'paused is invalid' });
  });

  it('several bad parameters are reported together, joined with ", "', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/echo?paused=maybe&id=x&type=nope' });
    expect(res.json()).toEqual({ error: 'paused is invalid, id is invalid, type does not have a valid value' });
  });
});

describe('bodies: JSON, url-encoded form and multipart', () => {
  const expected = { description: 'd', tag_list: ['x', 'y'], paused: false, info: { name: 'r1', executor: 'shell' } };

  it('gitbeaker / python-gitlab: JSON body with a tag_list array and a nested info object', async () => {
    const res = await t.api({ method: 'PUT', url: '/api/v4/probe/echo', payload: { description: 'd', tag_list: ['x', 'y'], paused: false, info: { name: 'r1', executor: 'shell' } } });
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual(expected);
  });

  it('GitLab also takes tag_list as a comma string in JSON', async () => {
    const res = await t.api({ method: 'PUT', url: '/api/v4/probe/echo', payload: { tag_list: 'x, y' } });
    expect(res.json().body.tag_list).toEqual(['x', 'y']);
  });

  it('JSON with a charset parameter in Content-Type is JSON', async () => {
    const res = await t.api({ method: 'PUT', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: JSON.stringify({ description: 'ü' }) });
    expect(res.statusCode).toBe(200);
    expect(res.json().body.description).toBe('ü');
  });

  it('curl --data: url-encoded form with tag_list[] and info[name]', async () => {
    const res = await t.api({
      method: 'PUT',
      url: '/api/v4/probe/echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'description=d&tag_list[]=x&tag_list[]=y&paused=false&info[name]=r1&info[executor]=shell',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual(expected);
  });

  it('curl --form: multipart body', async () => {
    const boundary = '----probeboundary';
    const parts = [
      ['description', 'd'],
      ['tag_list', 'x,y'],
      ['paused', 'false'],
      ['info[name]', 'r1'],
      ['info[executor]', 'shell'],
    ]
      .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
      .join('');
    const res = await t.api({
      method: 'PUT',
      url: '/api/v4/probe/echo',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `${parts}--${boundary}--\r\n`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual(expected);
  });
});

describe('pagination headers', () => {
  it('gitbeaker: Link is `<absolute-url>; rel="next", ...` carrying every original query param', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/list?per_page=2&tag_list%5B%5D=a&status=online' });
    expect(res.headers.link).toBe(
      '<http://gitlab.test/api/v4/probe/list?page=2&per_page=2&status=online&tag_list%5B%5D=a>; rel="next", ' +
        '<http://gitlab.test/api/v4/probe/list?page=1&per_page=2&status=online&tag_list%5B%5D=a>; rel="first", ' +
        '<http://gitlab.test/api/v4/probe/list?page=3&per_page=2&status=online&tag_list%5B%5D=a>; rel="last"',
    );
    for (const m of (res.headers.link as string).matchAll(/<([^>]+)>; rel="([^"]+)"/g)) expect(new URL(m[1]!).host).toBe('gitlab.test');
  });

  it('gitbeaker and python-gitlab: the six X- headers', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/list?per_page=2&page=2' });
    expect({
      page: res.headers['x-page'],
      perPage: res.headers['x-per-page'],
      next: res.headers['x-next-page'],
      prev: res.headers['x-prev-page'],
      total: res.headers['x-total'],
      totalPages: res.headers['x-total-pages'],
    }).toEqual({ page: '2', perPage: '2', next: '3', prev: '1', total: '5', totalPages: '3' });
  });
});

describe('path ids', () => {
  it('python-gitlab and gitbeaker: URL-encoded namespaced paths like grp%2Fproj', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/projects/grp%2Fsub%2Fproj' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: { fullPath: 'grp/sub/proj' } });
  });

  it('numeric ids stay ids', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/projects/42' });
    expect(res.json()).toEqual({ id: { id: 42 } });
  });
});

describe('error shapes: `message` from helpers, `error` from validation', () => {
  it.each([
    ['not-found', 404, { message: '404 Runner Not Found' }],
    ['forbidden', 403, { message: '403 Forbidden' }],
    ['param', 400, { error: 'runner_id is missing' }],
    ['validation', 400, { message: { maximum_timeout: ['needs to be at least 10 minutes'] } }],
    ['bug', 500, { message: '500 Internal Server Error' }],
  ] as const)('%s → %i', async (kind, status, body) => {
    const res = await t.api({ method: 'GET', url: `/api/v4/probe/errors/${kind}` });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual(body);
  });

  it('a 500 never shows the exception message to the client', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/probe/errors/bug' });
    expect(res.body).not.toContain('glpat-should-not-leak');
  });
});

describe('framework edges', () => {
  it('an unknown route is {"error":"404 Not Found"}, with or without credentials', async () => {
    for (const token of [undefined, null]) {
      const res = await t.api({ method: 'GET', url: '/api/v4/no/such/route', token });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: '404 Not Found' });
    }
  });

  it('an unknown method on a known path is the same 404 (GitLab catch-all route)', async () => {
    const res = await t.api({ method: 'PATCH', url: '/api/v4/version' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: '404 Not Found' });
  });

  it.each(['/api/v3/projects', '/api/v3', '/api/v3?private_token=x'])('%s → 410 API V3 is no longer supported', async (url) => {
    const res = await t.api({ method: 'GET', url });
    expect(res.statusCode).toBe(410);
    expect(res.json()).toEqual({ error: 'API V3 is no longer supported. Use API V4 instead.' });
  });

  it('invalid JSON is 400 in GitLab shape, not Fastify’s', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/json' }, payload: '{"description": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ message: '400 Bad request - Invalid JSON body' });
    expect(res.headers['content-type']).toBe(JSON_TYPE);
  });

  it('an oversized body is 413', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/probe/echo', payload: { description: 'x'.repeat(t.config.BODY_LIMIT + 1) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ message: '413 Request Entity Too Large' });
  });

  it('an unsupported content type is 415', async () => {
    const res = await t.api({ method: 'POST', url: '/api/v4/probe/echo', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({ message: '415 Unsupported Media Type' });
  });

  it('X-Request-Id is echoed', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/version', headers: { 'x-request-id': 'req-abc-123' } });
    expect(res.headers['x-request-id']).toBe('req-abc-123');
  });

  it('X-Request-Id is sanitised as Rails does: word characters, - and @, at most 255', async () => {
    const cases: Array<[string, string | RegExp]> = [
      ['abc def<script>', 'abcdefscript'],
      ['user@host-1_x', 'user@host-1_x'],
      ['x'.repeat(300), 'x'.repeat(255)],
      ['<>"{}', /^[0-9a-f]{32}$/], // nothing usable left: a fresh id
    ];
    for (const [sent, echoed] of cases) {
      const res = await t.api({ method: 'GET', url: '/api/v4/version', headers: { 'x-request-id': sent } });
      if (typeof echoed === 'string') expect(res.headers['x-request-id']).toBe(echoed);
      else expect(res.headers['x-request-id']).toMatch(echoed);
    }
  });

  it('X-Request-Id is generated when absent, on errors too', async () => {
    const a = await t.api({ method: 'GET', url: '/api/v4/version' });
    const b = await t.api({ method: 'GET', url: '/api/v4/no/such/route' });
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });
});
