import type pg from 'pg';
import { DETAILS_SQL } from '../../src/services/runners/runner-details-service.js';
import { PROJECT_BY_ID_SQL, PROJECT_BY_PATH_SQL } from '../../src/services/namespaces/access-service.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNT_LIMIT, ShortLivedCache } from '../../src/lib/pagination.js';
import {
  DEEP_OFFSET,
  runnerAnchorsSql,
  runnerCountSql,
  runnerPageSql,
  versionLookupFor,
  type RunnerFilterSpec,
  type RunnerSet,
  type SqlStatement,
  type VersionLookup,
} from '../../src/services/runners/runner-queries.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// The runner lists at 100,000 runners (issue 5): every statement the list
// endpoints run is planned without a sequential scan of runners (nor of
// runner_managers for version_prefix), so its cost follows the page and the
// matches, not the size of the fleet. The statements come from the same
// builders the endpoints use. A few pages are also compared, through the
// endpoints, with the plain SQL meaning of the list at this size.

const RUNNERS = 100_000;
const HOT_PROJECT = 1; // in team group 3001 ⊂ 2001 ⊂ 1001
const HOT_GROUPS = [1001, 2001, 3001];

let t: TestApp;
let ownerId: number;

/** A fleet shaped like bench/seed.ts, built set-based in one transaction (a few seconds). */
async function seedFleet(pool: pg.Pool, rootId: number): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT setseed(0.42)');
    // 10 top groups × 3 subgroups × 2 teams, 300 projects in the teams.
    await c.query(`
      INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, traversal_ids)
      SELECT 1000 + g, 'group', 'top-' || g, 'top-' || g, 'top-' || g, NULL, ARRAY[1000 + g] FROM generate_series(1, 10) g`);
    await c.query(`
      INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, traversal_ids)
      SELECT 2000 + (g - 1) * 3 + s, 'group', 'sub-' || s, 'sub-' || s, 'top-' || g || '/sub-' || s, 1000 + g,
             ARRAY[1000 + g, 2000 + (g - 1) * 3 + s]
      FROM generate_series(1, 10) g, generate_series(1, 3) s`);
    await c.query(`
      INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, traversal_ids)
      SELECT 3000 + ((g - 1) * 3 + s - 1) * 2 + k, 'group', 'team-' || k, 'team-' || k,
             'top-' || g || '/sub-' || s || '/team-' || k, 2000 + (g - 1) * 3 + s,
             ARRAY[1000 + g, 2000 + (g - 1) * 3 + s, 3000 + ((g - 1) * 3 + s - 1) * 2 + k]
      FROM generate_series(1, 10) g, generate_series(1, 3) s, generate_series(1, 2) k`);
    await c.query(`
      INSERT INTO projects (id, namespace_id, name, path, path_with_namespace)
      SELECT p, n.id, 'project-' || p, 'project-' || p, n.full_path || '/project-' || p
      FROM generate_series(1, 300) p JOIN namespaces n ON n.id = 3001 + (p - 1) % 60`);
    // Runners: 10 % instance, 30 % group, 60 % project; 1–4 tags; 40 % online,
    // 25 % offline, 25 % stale, 10 % never contacted; 5 % paused.
    await c.query(
      `CREATE TEMP TABLE fleet ON COMMIT DROP AS
       SELECT i AS id, CASE WHEN i % 10 = 0 THEN 1 WHEN i % 10 < 4 THEN 2 ELSE 3 END AS runner_type,
              random() AS r_contact, random() AS r_when, random() AS r_owner, random() AS r_pick
       FROM generate_series(1, $1::int) i`,
      [RUNNERS],
    );
    await c.query(
      `INSERT INTO runners (id, runner_type, description, name, active, tag_list, creator_id, token_digest, contacted_at, created_at, updated_at)
       SELECT f.id, f.runner_type, 'runner ' || f.id, 'gitlab-runner', random() >= 0.05,
              ARRAY(SELECT t FROM unnest(ARRAY['docker', 'linux', 'amd64', 'kubernetes', 'aws', 'build', 'arm64', 'gpu']) WITH ORDINALITY u(t, n)
                    WHERE random() < (ARRAY[0.3, 0.3, 0.2, 0.12, 0.1, 0.1, 0.08, 0.02])[n]),
              CASE WHEN f.r_owner < 0.3 THEN $1::int END, md5('runner-' || f.id), c.contacted_at,
              COALESCE(c.contacted_at, now()) - interval '30 days' * random(), now()
       FROM fleet f
       CROSS JOIN LATERAL (SELECT CASE WHEN f.r_contact < 0.40 THEN now() - f.r_when * interval '100 minutes'
                                       WHEN f.r_contact < 0.65 THEN now() - interval '3 hours' - f.r_when * interval '6 days'
                                       WHEN f.r_contact < 0.90 THEN now() - interval '8 days' - f.r_when * interval '300 days' END AS contacted_at) c`,
      [rootId],
    );
    await c.query(`
      INSERT INTO runner_namespaces (runner_id, namespace_id)
      SELECT f.id, CASE WHEN f.r_owner < 0.2 THEN (ARRAY[1001, 2001, 3001])[1 + floor(f.r_pick * 3)::int]
                        ELSE (SELECT array_agg(id ORDER BY id) FROM namespaces WHERE kind = 'group')[1 + floor(f.r_pick * 100)::int] END
      FROM fleet f WHERE f.runner_type = 2`);
    await c.query(
      `INSERT INTO runner_projects (runner_id, project_id)
       SELECT f.id, CASE WHEN f.r_owner < 0.02 THEN $1::int ELSE 1 + floor(f.r_pick * 300)::int END FROM fleet f WHERE f.runner_type = 3`,
      [HOT_PROJECT],
    );
    // Managers for contacted runners (10 % two), versions 15–17.x.y.
    await c.query(`
      INSERT INTO runner_managers (runner_id, system_xid, version, contacted_at, creation_state)
      SELECT r.id, 's_' || m || '_' || r.id,
             (ARRAY['15', '16', '16', '17', '17'])[1 + floor(random() * 5)::int] || '.' || floor(random() * 12)::int || '.' || floor(random() * 6)::int,
             r.contacted_at, 100
      FROM runners r CROSS JOIN LATERAL generate_series(1, CASE WHEN r.id % 10 = 7 THEN 2 ELSE 1 END) m
      WHERE r.contacted_at IS NOT NULL`);
    // A few running jobs, so job_execution_status is not always "idle".
    await c.query(`INSERT INTO pipelines (id, iid, project_id, ref, sha, before_sha) VALUES (1, 1, ${HOT_PROJECT}, 'main', repeat('a', 40), repeat('0', 40))`);
    await c.query(`
      INSERT INTO jobs (project_id, pipeline_id, name, stage, ref, status, runner_id)
      SELECT ${HOT_PROJECT}, 1, 'job-' || j, 'test', 'main', CASE WHEN j % 2 = 0 THEN 'running' ELSE 'success' END, 1 + (j * 997) % ${RUNNERS}
      FROM generate_series(1, 200) j`);
    for (const table of ['namespaces', 'projects', 'runners', 'pipelines']) {
      await c.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    }
    await c.query('COMMIT');
    // Statistics and the visibility map, as a database that has been running a while.
    await c.query('VACUUM ANALYZE runners, runner_managers, runner_projects, runner_namespaces, jobs, namespaces, projects, users');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

beforeAll(async () => {
  t = await createTestApp();
  const root = await t.ctx.pool.query<{ id: number }>(`SELECT id FROM users WHERE username = 'root'`);
  await seedFleet(t.ctx.pool, root.rows[0]!.id);
  // GET /runners for someone who owns a top group and maintains one project elsewhere.
  const owner = await t.fx.user();
  ownerId = owner.user.id;
  await t.ctx.pool.query('INSERT INTO group_members (group_id, user_id, access_level) VALUES (1002, $1, 50)', [ownerId]);
  await t.ctx.pool.query('INSERT INTO project_members (project_id, user_id, access_level) VALUES (1, $1, 40)', [ownerId]);
  await t.ctx.pool.query('ANALYZE group_members, project_members');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

/** Relations read by a Seq Scan anywhere in the plan. */
function seqScans(plan: Record<string, unknown>, out: string[] = []): string[] {
  if (plan['Node Type'] === 'Seq Scan') out.push(String(plan['Relation Name']));
  for (const child of (plan.Plans as Record<string, unknown>[] | undefined) ?? []) seqScans(child, out);
  return out;
}

/** Plan nodes of one type. */
function nodesOf(plan: Record<string, unknown>, type: string, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (plan['Node Type'] === type) out.push(plan);
  for (const child of (plan.Plans as Record<string, unknown>[] | undefined) ?? []) nodesOf(child, type, out);
  return out;
}

/**
 * Node types of the scans of `relation` that no LIMIT cuts short: a Sort (or
 * an aggregate) reads all of its input, so a LIMIT above it does not count.
 */
function unlimitedScans(plan: Record<string, unknown>, relation: string, limited = false, out: string[] = []): string[] {
  const type = String(plan['Node Type']);
  const below = type === 'Limit' ? true : type === 'Sort' || type === 'Aggregate' || type === 'Hash' ? false : limited;
  if (plan['Relation Name'] === relation && !limited) out.push(type);
  for (const child of (plan.Plans as Record<string, unknown>[] | undefined) ?? []) unlimitedScans(child, relation, below, out);
  return out;
}

async function planOf(st: SqlStatement): Promise<Record<string, unknown>> {
  const res = await t.ctx.pool.query<{ 'QUERY PLAN': { Plan: Record<string, unknown> }[] }>(`EXPLAIN (FORMAT JSON) ${st.text}`, st.values);
  return res.rows[0]!['QUERY PLAN'][0]!.Plan;
}

/**
 * The plan PostgreSQL may keep for a prepared statement (src/db/prepared.ts)
 * after five executions, whatever the values; null before PostgreSQL 16,
 * which cannot show it.
 */
async function genericPlanOf(st: SqlStatement): Promise<Record<string, unknown> | null> {
  const version = Number((await t.ctx.pool.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v);
  if (version < 160000) return null;
  const res = await t.ctx.pool.query<{ 'QUERY PLAN': { Plan: Record<string, unknown> }[] }>(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${st.text}`);
  return res.rows[0]!['QUERY PLAN'][0]!.Plan;
}

/**
 * The plans a statement can run with. On a direct URL a statement marked
 * `generic` is prepared by name on the force_generic_plan pool and keeps its
 * generic plan; through a transaction-mode pooler (`npm run test:pooler`,
 * ?pgbouncer=true) nothing is prepared by name (src/db/client.ts), so every
 * statement, marked or not, is planned with its values and no generic plan
 * is ever kept (docs/scaling.md, "Session settings behind a pooler").
 */
const mode = process.env.TEST_DATABASE_POOLER_URL ? 'pooler' : 'direct';
const PLANS_RUN = { direct: { custom: true, kept: true }, pooler: { custom: true, kept: false } }[mode];

const SETS: [string, () => RunnerSet][] = [
  ['GET /runners/all', () => ({ kind: 'all' })],
  ['GET /projects/:id/runners', () => ({ kind: 'project', projectId: HOT_PROJECT, groupIds: HOT_GROUPS, includeInstance: true })],
  ['GET /groups/:id/runners', () => ({ kind: 'group', groupIds: HOT_GROUPS.slice(0, 2), includeInstance: true })],
  ['GET /runners', () => ({ kind: 'available_to_user', userId: ownerId })],
];

const FILTERS: [string, RunnerFilterSpec][] = [
  ['no filter', {}],
  ['tag_list=docker,linux&status=online', { status: 'online', tagList: ['docker', 'linux'] }],
  ['tag_list=gpu', { tagList: ['gpu'] }],
  ['version_prefix=16.1', { versionPrefix: '16.1' }],
  ['version_prefix=16.1.0', { versionPrefix: '16.1.0' }],
  ['type=project_type', { type: 'project_type' }],
  ['paused=true', { paused: true }],
  ['status=online', { status: 'online' }],
  ['status=never_contacted', { status: 'never_contacted' }],
  ['status=stale', { status: 'stale' }],
];

/**
 * The one expected exception: counting a quarter of all runners (stale on the
 * instance list) stops after COUNT_LIMIT + 1 matches, and a sequential scan
 * under that LIMIT is the cheapest way to find them.
 */
const seqScanAllowed = (set: RunnerSet, f: RunnerFilterSpec, kind: string) => set.kind === 'all' && f.status === 'stale' && kind.includes('count');

describe('list statements at 100,000 runners', () => {
  it('detects that this database orders text bytewise, so version_prefix uses an index range', async () => {
    expect(await versionLookupFor(t.ctx.pool)).toBe('range');
  });

  for (const [endpoint, makeSet] of SETS) {
    it(`${endpoint}: counts, pages (first, shallow, deep) and anchors never scan runners or runner_managers sequentially, with the values, and (on a direct URL; ${mode} here) as kept generic plans where a statement is marked generic (which then never sort the set)`, async () => {
      const set = makeSet();
      const problems: string[] = [];
      for (const [label, filters] of FILTERS) {
        const lookups: VersionLookup[] = filters.versionPrefix ? ['range', 'scan'] : ['range'];
        for (const versionLookup of lookups) {
          const opts = { now: Date.now(), versionLookup };
          const statements: [string, SqlStatement][] = [
            ['count', runnerCountSql(set, filters, COUNT_LIMIT + 1, opts)],
            ['first page', runnerPageSql(set, filters, 0, 101, opts)],
            ['first page with its count', runnerPageSql(set, filters, 0, 101, { ...opts, countLimit: COUNT_LIMIT + 1 })],
            ['page at offset 400', runnerPageSql(set, filters, 400, 101, opts)],
            ['deep page from an anchor', runnerPageSql(set, filters, DEEP_OFFSET * 5 + 300, 101, { ...opts, anchor: { id: DEEP_OFFSET * 5, position: DEEP_OFFSET * 5 } })],
            ['anchors', runnerAnchorsSql(set, filters, 1000, opts)],
          ];
          for (const [kind, st] of statements) {
            // Only statements marked `generic` ever run with their generic plan (src/db/prepared.ts):
            // unfiltered lists, nothing whose plan depends on the values.
            const kept = 'generic' in st && st.generic;
            const versionPage = set.kind === 'all' && label.startsWith('version_prefix') && kind.includes('page') && !kind.includes('count');
            const shouldKeep =
              versionPage ||
              (label === 'no filter' && ((set.kind === 'all' && kind !== 'count') || ((set.kind === 'project' || set.kind === 'group') && kind.includes('page') && !kind.includes('count'))));
            if (kept !== shouldKeep) problems.push(`${label} ${kind}: generic=${kept}`);
            const generic = kept && PLANS_RUN.kept ? await genericPlanOf(st) : null;
            for (const [planKind, plan] of [['custom', await planOf(st)], ['generic', generic]] as const) {
              if (!plan) continue;
              const scanned = seqScans(plan).filter((r) => r === 'runners' || (filters.versionPrefix !== undefined && r === 'runner_managers'));
              if (scanned.length && !seqScanAllowed(set, filters, kind)) problems.push(`${label} [${versionLookup}] ${kind} (${planKind}): Seq Scan on ${scanned.join(', ')}`);
              // A kept plan must read a page in id order from an index, not sort the whole (filtered) set.
              // version_prefix pages sort the first skip + limit runners of each matching version: every
              // read of runner_managers must then be cut by a LIMIT.
              if (planKind === 'generic' && kind !== 'anchors') {
                if (versionPage) {
                  const unbounded = unlimitedScans(plan, 'runner_managers');
                  if (unbounded.length) problems.push(`${label} ${kind} (generic): reads runner_managers without a LIMIT (${unbounded.join(', ')})`);
                } else if (nodesOf(plan, 'Sort').length) problems.push(`${label} ${kind} (generic): sorts`);
              }
            }
          }
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

describe(`single-row lookups marked generic (src/db/prepared.ts), ${mode} URL`, () => {
  it.each<[string, string, unknown[], string[]]>([
    // The tables that are big in this fleet; the few hundred namespaces and jobs may be read whole.
    ['GET /runners/:id', DETAILS_SQL, [1, ['running'], true], ['runners', 'runner_managers', 'runner_projects', 'runner_namespaces', 'projects']],
    ['/projects/:id by id', PROJECT_BY_ID_SQL, [HOT_PROJECT, null], ['projects']],
    ['/projects/:id by path', PROJECT_BY_PATH_SQL, ['top-1/sub-1/team-1/project-1', null], ['projects']],
  ])('%s: the plan it runs with (kept generic on a direct URL, planned with its values through a pooler) reads no big table sequentially and sorts nothing big', async (_name, text, values, tables) => {
    const plan = PLANS_RUN.kept ? await genericPlanOf({ text, values: [] }) : await planOf({ text, values });
    if (!plan) return; // PostgreSQL before 16 cannot show generic plans
    expect(seqScans(plan).filter((r) => tables.includes(r))).toEqual([]);
    // The per-runner sorts (its managers, its project links) are over a handful of rows, under an index scan by runner.
    for (const sort of nodesOf(plan, 'Sort')) expect(Number(sort['Plan Rows'])).toBeLessThan(100);
  });
});

describe('list pages at 100,000 runners match the plain SQL meaning of the list', () => {
  const get = async (url: string) => {
    const res = await t.api({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    return { ids: (res.json() as { id: number }[]).map((r) => r.id), headers: res.headers };
  };
  const idsOf = async (text: string, values: unknown[] = []) => (await t.ctx.pool.query<{ id: number }>(text, values)).rows.map((r) => r.id);

  it('a deep page of GET /runners/all (offset 50,000) is the same as ORDER BY id OFFSET 50000, with and without remembered positions', async () => {
    const expected = await idsOf('SELECT id FROM runners ORDER BY id LIMIT 100 OFFSET 50000');
    const first = await get('/api/v4/runners/all?per_page=100&page=501');
    const again = await get('/api/v4/runners/all?per_page=100&page=501');
    expect(first.ids).toEqual(expected);
    expect(again.ids).toEqual(expected);
    expect(first.headers['x-total']).toBeUndefined();
    expect(first.headers['x-next-page']).toBe('502');
  });

  it('a deep page of GET /runners/all right after runners below it were deleted and others registered shows the list as it is now, and the block counts stay exact', async () => {
    await get('/api/v4/runners/all?per_page=100&page=501'); // whatever a server may remember about this page
    await t.ctx.pool.query('DELETE FROM runners WHERE id = ANY($1::int[])', [[1500, 12345, 23456, 34567, 45678, 49999, 50000]]);
    await t.ctx.pool.query(
      `INSERT INTO runners (runner_type, description, token_digest, created_at, updated_at)
       SELECT 1, 'late ' || i, md5('late-runner-' || i), now(), now() FROM generate_series(1, 3) i`,
    );
    const expected = await idsOf('SELECT id FROM runners ORDER BY id LIMIT 100 OFFSET 50000');
    const page = await get('/api/v4/runners/all?per_page=100&page=501');
    expect(page.ids).toEqual(expected);
    expect(page.ids[0]).toBe(50_008); // seven runners below it are gone
    const blocks = await t.ctx.pool.query<{ block: number; n: number }>(
      'SELECT block, sum(runners)::int AS n FROM runner_id_blocks GROUP BY block HAVING sum(runners) <> 0 ORDER BY block',
    );
    const actual = await t.ctx.pool.query<{ block: number; n: number }>('SELECT id / 1000 AS block, count(*)::int AS n FROM runners GROUP BY 1 ORDER BY 1');
    expect(blocks.rows).toEqual(actual.rows);
  });

  it('version_prefix=16.1 lists each runner with a 16.1.x manager once, and counts them', async () => {
    const expected = await idsOf(
      String.raw`SELECT DISTINCT runner_id AS id FROM runner_managers WHERE substring(version from '^\d+\.\d+\.') = '16.1.' ORDER BY 1`,
    );
    const page = await get('/api/v4/runners/all?version_prefix=16.1&per_page=100&page=2');
    expect(page.ids).toEqual(expected.slice(100, 200));
    expect(page.headers['x-total']).toBe(String(expected.length));
  });

  it('version_prefix=16.1.0 matches 16.1.0 but not 16.1.05, which merely starts with it', async () => {
    await t.ctx.pool.query(`INSERT INTO runner_managers (runner_id, system_xid, version, creation_state) VALUES (3, 's_prefix_trap', '16.1.05', 100)`);
    const expected = await idsOf(
      String.raw`SELECT DISTINCT runner_id AS id FROM runner_managers WHERE substring(version from '^\d+\.\d+\.\d+') = '16.1.0' ORDER BY 1 LIMIT 100`,
    );
    const page = await get('/api/v4/runners/all?version_prefix=16.1.0&per_page=100');
    expect(page.ids).toEqual(expected);
    const trap = await idsOf(`SELECT runner_id AS id FROM runner_managers WHERE runner_id = 3 AND version LIKE '16.1.0%' AND version <> '16.1.05'`);
    expect(page.ids.includes(3)).toBe(trap.length > 0);
  });

  it('tag_list + status=online pages the matching runners in id order', async () => {
    const expected = await idsOf(
      `SELECT id FROM runners WHERE tag_list @> ARRAY['docker', 'linux'] AND contacted_at > now() - interval '2 hours' ORDER BY id LIMIT 50 OFFSET 50`,
    );
    expect((await get('/api/v4/runners/all?tag_list=docker,linux&status=online&per_page=50&page=2')).ids).toEqual(expected);
  });

  it('GET /projects/:id/runners merges project, ancestor-group and instance runners in id order', async () => {
    const expected = await idsOf(
      `SELECT id FROM runners WHERE id IN (SELECT runner_id FROM runner_projects WHERE project_id = $1)
          OR id IN (SELECT runner_id FROM runner_namespaces WHERE namespace_id = ANY($2::int[])) OR runner_type = 1
       ORDER BY id LIMIT 100 OFFSET 200`,
      [HOT_PROJECT, HOT_GROUPS],
    );
    expect((await get(`/api/v4/projects/${HOT_PROJECT}/runners?per_page=100&page=3`)).ids).toEqual(expected);
  });

  it('deep pages of GET /projects/:id/runners (from remembered positions) and a middle page of GET /groups/:id/runners match plain SQL', async () => {
    const inProjectList = `id IN (SELECT runner_id FROM runner_projects WHERE project_id = $1)
          OR id IN (SELECT runner_id FROM runner_namespaces WHERE namespace_id = ANY($2::int[])) OR runner_type = 1`;
    const [{ n }] = (await t.ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM runners WHERE ${inProjectList}`, [HOT_PROJECT, HOT_GROUPS])).rows as [{ n: number }];
    expect(n).toBeGreaterThan(DEEP_OFFSET + 300);
    for (const page of [DEEP_OFFSET / 100 + 3, Math.floor(n / 100)]) {
      const expected = await idsOf(`SELECT id FROM runners WHERE ${inProjectList} ORDER BY id LIMIT 100 OFFSET ${(page - 1) * 100}`, [HOT_PROJECT, HOT_GROUPS]);
      expect(expected.length).toBeGreaterThan(0);
      // Twice: the second request starts from the remembered positions.
      expect((await get(`/api/v4/projects/${HOT_PROJECT}/runners?per_page=100&page=${page}`)).ids).toEqual(expected);
      expect((await get(`/api/v4/projects/${HOT_PROJECT}/runners?per_page=100&page=${page}`)).ids).toEqual(expected);
    }
    const group = HOT_GROUPS[1]!;
    const groupExpected = await idsOf(
      `SELECT id FROM runners WHERE id IN (SELECT runner_id FROM runner_namespaces WHERE namespace_id = ANY($1::int[])) OR runner_type = 1
       ORDER BY id LIMIT 20 OFFSET 60`,
      [HOT_GROUPS.slice(0, 2)],
    );
    expect((await get(`/api/v4/groups/${group}/runners?per_page=20&page=4`)).ids).toEqual(groupExpected);
  });
});

describe('ShortLivedCache (big counts and deep-page positions)', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('reuses a kept value while fresh, then answers with it once more while a single refresh runs', async () => {
    const cache = new ShortLivedCache<number>(100, 200);
    let calls = 0;
    const compute = async () => {
      calls++;
      await sleep(20);
      return 1000 + calls;
    };
    const [a, b] = await Promise.all([cache.get('k', compute), cache.get('k', compute)]);
    expect([a, b, calls]).toEqual([1001, 1001, 1]);
    expect(await cache.get('k', compute)).toBe(1001);
    await sleep(120);
    expect(await cache.get('k', compute)).toBe(1001); // stale: answered at once, refresh started
    await sleep(40);
    expect(await cache.get('k', compute)).toBe(1002);
    expect(calls).toBe(2);
  });

  it('never keeps values the caller does not want kept, nor failures, nor values past the stale window', async () => {
    const cache = new ShortLivedCache<number>(50, 50);
    let n = 0;
    const small = (v: number) => v >= 1000;
    expect(await cache.get('small', async () => ++n, small)).toBe(1);
    expect(await cache.get('small', async () => ++n, small)).toBe(2);
    await expect(cache.get('bad', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('bad', async () => 7)).toBe(7);
    expect(await cache.get('old', async () => 5000)).toBe(5000);
    await sleep(120);
    expect(await cache.get('old', async () => 6000)).toBe(6000);
  });
});
