import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COUNT_LIMIT, paginate, toQuery } from '../../src/lib/pagination.js';
import { parseQuery } from '../../src/plugins/compat.js';
import { glStringArray, paginationParams, parseInput } from '../../src/schemas/common.js';

// docs.gitlab.com/api/rest/#pagination and python-gitlab's and gitbeaker's pagination, on a bare Fastify app
// with a fake row source of `total` rows (ids 1..total).

let app: FastifyInstance;
let total = 0;
let counted: number[] = [];

beforeAll(async () => {
  app = Fastify({ routerOptions: { querystringParser: parseQuery } });
  const schema = z.object({ ...paginationParams, tag_list: glStringArray().optional(), status: z.string().optional(), paused: z.string().optional() });
  const route = (externalUrl?: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const q = parseInput(schema, request.query);
    const { page, per_page, ...filters } = q;
    return paginate(
      request,
      reply,
      { page, per_page },
      filters,
      {
        count: async (limit) => {
          counted.push(limit);
          return Math.min(total, limit);
        },
        items: async (offset, limit) => Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => ({ id: offset + i + 1 })),
      },
      { externalUrl },
    );
  };
  app.get('/api/v4/runners', route('https://gitlab.example.com/'));
  app.get('/api/v4/projects/:id/runners', route());
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

const get = async (url: string, rows: number, headers: Record<string, string> = {}) => {
  total = rows;
  counted = [];
  const res = await app.inject({ method: 'GET', url, headers });
  expect(res.statusCode).toBe(200);
  return res;
};

/** Link header → { rel: url }. */
function links(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (header ?? '').matchAll(/<([^>]+)>; rel="([^"]+)"/g)) out[m[2]!] = m[1]!;
  return out;
}

describe('offset pagination headers', () => {
  it('first of several pages: next, first, last; prev empty', async () => {
    const res = await get('/api/v4/runners?per_page=2', 5);
    expect(res.json()).toEqual([{ id: 1 }, { id: 2 }]);
    expect(res.headers['x-page']).toBe('1');
    expect(res.headers['x-per-page']).toBe('2');
    expect(res.headers['x-next-page']).toBe('2');
    expect(res.headers['x-prev-page']).toBe('');
    expect(res.headers['x-total']).toBe('5');
    expect(res.headers['x-total-pages']).toBe('3');
    expect(res.headers.link).toBe(
      '<https://gitlab.example.com/api/v4/runners?page=2&per_page=2>; rel="next", ' +
        '<https://gitlab.example.com/api/v4/runners?page=1&per_page=2>; rel="first", ' +
        '<https://gitlab.example.com/api/v4/runners?page=3&per_page=2>; rel="last"',
    );
  });

  it('a middle page has prev and next, in GitLab order prev, next, first, last', async () => {
    const res = await get('/api/v4/runners?per_page=2&page=2', 5);
    expect(res.json()).toEqual([{ id: 3 }, { id: 4 }]);
    expect(res.headers['x-prev-page']).toBe('1');
    expect(res.headers['x-next-page']).toBe('3');
    expect(Object.keys(links(res.headers.link as string))).toEqual(['prev', 'next', 'first', 'last']);
  });

  it('the last page has no next link and an empty X-Next-Page', async () => {
    const res = await get('/api/v4/runners?per_page=2&page=3', 5);
    expect(res.json()).toEqual([{ id: 5 }]);
    expect(res.headers['x-next-page']).toBe('');
    expect(Object.keys(links(res.headers.link as string))).toEqual(['prev', 'first', 'last']);
  });

  it('an empty list still has one page and a first and last link', async () => {
    const res = await get('/api/v4/runners', 0);
    expect(res.json()).toEqual([]);
    expect(res.headers['x-total']).toBe('0');
    expect(res.headers['x-total-pages']).toBe('1');
    expect(res.headers['x-per-page']).toBe('20');
    expect(Object.keys(links(res.headers.link as string))).toEqual(['first', 'last']);
  });

  it('a page past the end is empty but keeps the counts', async () => {
    const res = await get('/api/v4/runners?page=9&per_page=2', 5);
    expect(res.json()).toEqual([]);
    expect(res.headers['x-page']).toBe('9');
    expect(res.headers['x-prev-page']).toBe('8');
    expect(res.headers['x-next-page']).toBe('');
    expect(res.headers['x-total-pages']).toBe('3');
  });

  it('page 0 or below is page 1', async () => {
    for (const page of ['0', '-3']) {
      const res = await get(`/api/v4/runners?per_page=2&page=${page}`, 5);
      expect(res.headers['x-page']).toBe('1');
      expect(res.json()).toEqual([{ id: 1 }, { id: 2 }]);
    }
  });

  it('per_page above 100 is clamped to 100', async () => {
    const res = await get('/api/v4/runners?per_page=1000', 150);
    expect(res.json()).toHaveLength(100);
    expect(res.headers['x-per-page']).toBe('100');
    expect(res.headers['x-total-pages']).toBe('2');
    expect(links(res.headers.link as string).next).toContain('per_page=100');
  });

  it('per_page=0 answers an empty page', async () => {
    const res = await get('/api/v4/runners?per_page=0', 5);
    expect(res.json()).toEqual([]);
    expect(res.headers['x-per-page']).toBe('0');
    expect(res.headers['x-next-page']).toBe('');
  });

  it(`counts at most ${COUNT_LIMIT} rows, exactly ${COUNT_LIMIT} still gives totals`, async () => {
    const res = await get('/api/v4/runners?per_page=100', COUNT_LIMIT);
    expect(counted).toEqual([COUNT_LIMIT + 1]);
    expect(res.headers['x-total']).toBe(String(COUNT_LIMIT));
    expect(res.headers['x-total-pages']).toBe('100');
    expect(links(res.headers.link as string).last).toContain('page=100&');
  });

  it(`omits X-Total, X-Total-Pages and the last link past ${COUNT_LIMIT} rows`, async () => {
    const res = await get('/api/v4/runners?per_page=100&page=2', COUNT_LIMIT + 5000);
    expect(res.headers['x-total']).toBeUndefined();
    expect(res.headers['x-total-pages']).toBeUndefined();
    expect(res.headers['x-next-page']).toBe('3');
    expect(res.headers['x-prev-page']).toBe('1');
    expect(Object.keys(links(res.headers.link as string))).toEqual(['prev', 'next', 'first']);
  });
});

describe('Link URLs', () => {
  it('carry every parameter, sorted by key, arrays as tag_list%5B%5D=', async () => {
    const res = await get('/api/v4/runners?tag_list=b,a%20c&status=online&per_page=1', 3);
    expect(links(res.headers.link as string).next).toBe(
      'https://gitlab.example.com/api/v4/runners?page=2&per_page=1&status=online&tag_list%5B%5D=b&tag_list%5B%5D=a+c',
    );
  });

  it('a parameter that sorts between page and per_page stays between them in every link', async () => {
    const res = await get('/api/v4/runners?paused=true&page=2&per_page=1', 3);
    expect(links(res.headers.link as string)).toEqual({
      prev: 'https://gitlab.example.com/api/v4/runners?page=1&paused=true&per_page=1',
      next: 'https://gitlab.example.com/api/v4/runners?page=3&paused=true&per_page=1',
      first: 'https://gitlab.example.com/api/v4/runners?page=1&paused=true&per_page=1',
      last: 'https://gitlab.example.com/api/v4/runners?page=3&paused=true&per_page=1',
    });
  });

  it('gitbeaker follows next with only its query: the filter survives the round trip', async () => {
    const first = await get('/api/v4/runners?tag_list%5B%5D=x&tag_list%5B%5D=y&per_page=1', 3);
    const next = new URL(links(first.headers.link as string).next!);
    const second = await get(`${next.pathname}${next.search}`, 3);
    expect(second.headers['x-page']).toBe('2');
    expect(new URL(links(second.headers.link as string).next!).searchParams.getAll('tag_list[]')).toEqual(['x', 'y']);
  });

  it('without an external URL, use the request host and keep the encoded path', async () => {
    const res = await get('/api/v4/projects/grp%2Fproj/runners?per_page=1', 2, { host: 'localhost:3000' });
    expect(links(res.headers.link as string).next).toBe('http://localhost:3000/api/v4/projects/grp%2Fproj/runners?page=2&per_page=1');
  });
});

describe('toQuery (Rails Hash#to_query)', () => {
  it('escapes like CGI.escape and sorts the pieces', () => {
    expect(toQuery({ z: 'a b', a: "x!*'()~.-_", m: true })).toBe('a=x%21%2A%27%28%29~.-_&m=true&z=a+b');
  });

  it('leaves out null, undefined and empty arrays, keeps array order', () => {
    expect(toQuery({ a: null, b: undefined, c: [], tag_list: ['z', 'a'] })).toBe('tag_list%5B%5D=z&tag_list%5B%5D=a');
  });

  it('nests objects as key[sub]', () => {
    expect(toQuery({ info: { name: 'x', arch: 'amd64' } })).toBe('info%5Barch%5D=amd64&info%5Bname%5D=x');
  });
});
