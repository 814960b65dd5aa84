import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import type { Namespace, Project, User } from '../../src/generated/prisma/client.js';
import { AccessLevel } from '../../src/policies/access-levels.js';

// Keyset pagination on the runner lists (extension, docs/fleet-management.md):
// pagination=keyset walks the same runners as the offset pages, in id order,
// with only a Link rel="next" carrying the cursor.

let t: TestApp;
let group: Namespace;
let project: Project;
let owner: { user: User; token: string };
const ids: Record<string, number> = {};

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'ks' });
  project = await t.fx.project({ namespace: group, path: 'app' });
  owner = await t.fx.user();
  await t.fx.groupMember(group, owner.user, AccessLevel.OWNER);
  const make = async (name: string, opts: Parameters<TestApp['fx']['runner']>[0]) => (ids[name] = (await t.fx.runner(opts)).runner.id);
  await make('i1', { type: 'instance_type', tags: ['docker'] });
  await make('g1', { group, tags: ['docker'] });
  await make('p1', { projects: [project] });
  await make('i2', { type: 'instance_type', active: false });
  await make('p2', { projects: [project], tags: ['docker'] });
  await make('g2', { group });
  await make('p3', { projects: [project], tags: ['docker', 'linux'] });
});
afterAll(async () => {
  await t?.close();
});

/** Follows rel="next" from `url`; every page must carry no X-Total* and no rel="prev"/"first"/"last". */
async function walk(url: string, token?: string): Promise<number[]> {
  const seen: number[] = [];
  let next: string | undefined = url;
  for (let pages = 0; next && pages < 50; pages++) {
    const res = await t.api({ method: 'GET', url: next, token });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-total']).toBeUndefined();
    expect(res.headers['x-total-pages']).toBeUndefined();
    expect(String(res.headers.link ?? '')).not.toMatch(/rel="(prev|first|last)"/);
    seen.push(...(res.json() as Array<{ id: number }>).map((r) => r.id));
    next = /<http:\/\/gitlab\.test([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
  }
  return seen;
}

const offsetIds = async (url: string, token?: string) => ((await t.api({ method: 'GET', url, token })).json() as Array<{ id: number }>).map((r) => r.id);

describe('pagination=keyset on the runner lists', () => {
  it('/runners/all walks every runner in id order, ascending by default and descending with sort=desc', async () => {
    const all = Object.values(ids).sort((a, b) => a - b);
    expect(await walk('/api/v4/runners/all?pagination=keyset&per_page=2')).toEqual(all);
    expect(await walk('/api/v4/runners/all?pagination=keyset&order_by=id&sort=desc&per_page=3')).toEqual([...all].reverse());
  });

  it('combines with every filter and returns what the offset list returns', async () => {
    for (const filter of ['type=project_type', 'tag_list=docker', 'paused=true', 'status=never_contacted', 'type=group_type&tag_list=docker']) {
      const expected = await offsetIds(`/api/v4/runners/all?${filter}&per_page=100`);
      expect(await walk(`/api/v4/runners/all?${filter}&pagination=keyset&per_page=1`)).toEqual(expected);
    }
    expect(await walk('/api/v4/runners/all?tag_list=docker&pagination=keyset&per_page=2')).toEqual([ids.i1, ids.g1, ids.p2, ids.p3]);
  });

  it('/projects/:id/runners, /groups/:id/runners and /runners walk the same runners as their offset lists', async () => {
    for (const [url, token] of [
      [`/api/v4/projects/${project.id}/runners`, undefined],
      [`/api/v4/groups/${group.id}/runners`, owner.token],
      ['/api/v4/runners', owner.token],
      [`/api/v4/projects/${project.id}/runners?type=project_type`, undefined],
    ] as const) {
      const sep = url.includes('?') ? '&' : '?';
      const expected = await offsetIds(`${url}${sep}per_page=100`, token);
      expect(expected.length).toBeGreaterThan(1);
      expect(await walk(`${url}${sep}pagination=keyset&per_page=2`, token)).toEqual(expected);
      expect(await walk(`${url}${sep}pagination=keyset&sort=desc&per_page=2`, token)).toEqual([...expected].reverse());
    }
  });

  it('the next link carries the filters and a cursor; a cursor the server did not make is a 400', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/runners/all?pagination=keyset&per_page=1&type=instance_type' });
    const link = String(res.headers.link);
    expect(link).toMatch(/^<http:\/\/gitlab\.test\/api\/v4\/runners\/all\?cursor=[A-Za-z0-9_-]+&pagination=keyset&per_page=1&type=instance_type>; rel="next"$/);
    const bad = await t.api({ method: 'GET', url: '/api/v4/runners/all?pagination=keyset&cursor=not-a-cursor' });
    expect([bad.statusCode, bad.json()]).toEqual([400, { error: 'cursor is invalid' }]);
  });

  it('offset pages are unchanged: X-Total and rel="last" as before', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/runners/all?per_page=2' });
    expect(res.headers['x-total']).toBe('7');
    expect(String(res.headers.link)).toContain('rel="last"');
  });
});
