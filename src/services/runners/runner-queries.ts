import type pg from 'pg';
import type { AppContext } from '../../context.js';
import { CountCache, type PageSource } from '../../lib/pagination.js';
import type { RunnerListItem } from '../../presenters/runner.js';
import type { RunnerScope } from '../../schemas/runners.js';
import { AccessLevel } from '../../policies/access-levels.js';
import { EXECUTING_JOB_STATUSES, ONLINE_CONTACT_TIMEOUT_MS, RUNNER_TYPE_IDS, STALE_TIMEOUT_MS } from './runner-core.js';

// The SQL behind every runner list (runners-api.md §4.1, 4.2, 4.10, 4.13),
// shaped for 100,000 runners (issue 5; plans checked by
// test/integration/list-query-plans.test.ts):
//
// - The page is found on ids alone, then joined back to its rows ("deferred
//   join"): without filters, OFFSET 50,000 walks the primary key index only,
//   never the table.
// - One statement returns the page with everything the entity shows: the
//   creator (LEFT JOIN users) and job_execution_status (EXISTS on
//   jobs(runner_id, status)).
// - Project and group lists are a UNION of one index-ordered branch per
//   source (runner_projects, each group's runner_namespaces, instance
//   runners), which PostgreSQL merges in id order and stops after the page.
// - version_prefix finds the managers through runner_managers(version,
//   runner_id) (versionFilterSql).
// - Counts stop at a LIMIT, as GitLab's count_with_limit, and large ones are
//   kept for a second (runnerCounts).

/** Collects positional parameters while a query is assembled. */
export class Sql {
  readonly params: unknown[] = [];
  /** Adds a value and returns its placeholder, e.g. `$3`. */
  p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
}

/** A statement ready for `pool.query(text, values)`. */
export interface SqlStatement {
  text: string;
  values: unknown[];
}

/**
 * Ids of the projects where `userId` has at least `minLevel`: direct
 * membership, membership of the project's group or any ancestor
 * (namespaces.traversal_ids, GIN-indexed), or ownership of the personal
 * namespace. GitLab's `authorized_projects(min_access_level)`.
 */
export function projectsWithAccessSql(sql: Sql, userId: number, minLevel: number): string {
  const u = sql.p(userId);
  const level = sql.p(minLevel);
  return `SELECT pm.project_id FROM project_members pm WHERE pm.user_id = ${u} AND pm.access_level >= ${level}
    UNION ALL
    SELECT p.id FROM projects p JOIN namespaces n ON n.id = p.namespace_id
     WHERE n.kind = 'group' AND n.traversal_ids && ARRAY(SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${u} AND gm.access_level >= ${level})
    UNION ALL
    SELECT p.id FROM projects p JOIN namespaces n ON n.id = p.namespace_id WHERE n.kind = 'user' AND n.owner_id = ${u}`;
}

/** Which runners a list starts from, before filters. */
export type RunnerSet =
  | { kind: 'all' }
  /** User#ci_available_runners (GET /runners). */
  | { kind: 'available_to_user'; userId: number }
  /** Ci::Runner.owned_or_instance_wide(project). `groupIds`: the project's group and its ancestors, empty when group runners are off. */
  | { kind: 'project'; projectId: number; groupIds: number[]; includeInstance: boolean }
  /** Ci::Runner.group_or_instance_wide(group): the group and its ancestors. */
  | { kind: 'group'; groupIds: number[]; includeInstance: boolean };

/**
 * The set as one index-ordered branch per source, for a UNION: PostgreSQL
 * merges the branches in id order (Merge Append + Unique), so a page stops
 * early and a count reads index entries only. One branch per group (not
 * `= ANY(groupIds)`), because only a single-key branch comes out in runner_id
 * order. The filters go into every branch (`where` builds them afresh for
 * each), so each branch joins runners by primary key in its own order instead
 * of the whole union being hashed against a scan of runners. UNION, not
 * UNION ALL: a runner in two sources is listed once, as GitLab's `from_union`.
 */
function unionBranches(set: Extract<RunnerSet, { kind: 'project' | 'group' }>, sql: Sql, where: () => string[]): string[] {
  const via = (link: string, alias: string, key: string, value: number) => {
    const filters = where();
    const k = sql.p(value);
    return filters.length === 0
      ? `SELECT ${alias}.runner_id AS id FROM ${link} ${alias} WHERE ${alias}.${key} = ${k}`
      : `SELECT ${alias}.runner_id AS id FROM ${link} ${alias} JOIN runners r ON r.id = ${alias}.runner_id WHERE ${alias}.${key} = ${k} AND ${filters.join(' AND ')}`;
  };
  const branches: string[] = [];
  if (set.kind === 'project') branches.push(via('runner_projects', 'rp', 'project_id', set.projectId));
  for (const groupId of new Set(set.groupIds)) branches.push(via('runner_namespaces', 'rn', 'namespace_id', groupId));
  if (set.includeInstance) {
    const filters = [`r.runner_type = ${RUNNER_TYPE_IDS.instance_type}`, ...where()];
    branches.push(`SELECT r.id FROM runners r WHERE ${filters.join(' AND ')}`);
  }
  return branches;
}

/** Ci::Runner's `ci_available_runners` for a user: runners of projects they maintain and groups they own, with descendants. */
function availableToUserSql(sql: Sql, userId: number): string {
  const maintainerProjects = projectsWithAccessSql(sql, userId, AccessLevel.MAINTAINER);
  const u = sql.p(userId);
  return `r.id IN (
        SELECT rp.runner_id FROM runner_projects rp WHERE rp.project_id IN (${maintainerProjects})
        UNION
        SELECT rn.runner_id FROM runner_namespaces rn WHERE rn.namespace_id IN (
          SELECT n.id FROM namespaces n WHERE n.kind = 'group'
             AND n.traversal_ids && ARRAY(SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${u} AND gm.access_level >= ${AccessLevel.OWNER})))`;
}

/** The SQL meaning of a `scope`/`status`/`type` value (runners-api.md §1.2 filter table). */
function scopeSql(sql: Sql, scope: RunnerScope, now: number): string {
  const onlineDeadline = () => sql.p(new Date(now - ONLINE_CONTACT_TIMEOUT_MS));
  switch (scope) {
    case 'specific':
      return `r.runner_type IN (${RUNNER_TYPE_IDS.group_type}, ${RUNNER_TYPE_IDS.project_type})`;
    case 'shared':
      return `r.runner_type = ${RUNNER_TYPE_IDS.instance_type}`;
    case 'instance_type':
    case 'group_type':
    case 'project_type':
      return `r.runner_type = ${RUNNER_TYPE_IDS[scope]}`;
    case 'active':
      return 'r.active = TRUE';
    case 'paused':
      return 'r.active = FALSE';
    case 'online':
      return `r.contacted_at > ${onlineDeadline()}`;
    case 'offline':
      return `r.contacted_at <= ${onlineDeadline()}`;
    case 'never_contacted':
      return 'r.contacted_at IS NULL';
    case 'stale': {
      const deadline = sql.p(new Date(now - STALE_TIMEOUT_MS));
      return `(r.created_at <= ${deadline} AND (r.contacted_at IS NULL OR r.contacted_at <= ${deadline}))`;
    }
  }
}

/**
 * RunnerManager.with_version_prefix: not a plain prefix. The regex picked
 * depends on how many components the value has, and the value gets a
 * trailing dot when the regex ends with one, so "16" matches 16.x.y but
 * neither 1.6 nor 160.0 (runners-api.md §1.4).
 */
export function versionPrefixMatch(value: string): { regex: string; value: string } {
  const regex = /\d+\.\d+\.\d+/.test(value) ? '^\\d+\\.\\d+\\.\\d+' : /\d+\.\d+/.test(value) ? '^\\d+\\.\\d+\\.' : '^\\d+\\.';
  return { regex, value: regex.endsWith('\\.') && !value.endsWith('.') ? `${value}.` : value };
}

/**
 * How version_prefix reaches runner_managers(version, runner_id):
 * - 'range': the database's collation orders text bytewise (C, POSIX,
 *   C.UTF-8, builtin), so "starts with P" is the index range [P, P⁺) where P⁺
 *   is P with its last character incremented;
 * - 'scan': any other collation (a linguistic order ignores punctuation, so a
 *   prefix is not a range): the distinct versions are enumerated with one
 *   index descent each (a loose index scan), tested against the regex, and
 *   the matching ones looked up by equality. Slower (it grows with the number
 *   of distinct versions, not of runners), but exact everywhere.
 */
export type VersionLookup = 'range' | 'scan';

/** The smallest string greater than every string that starts with `prefix` (bytewise), or null when there is none. */
export function prefixUpperBound(prefix: string): string | null {
  const chars = [...prefix];
  while (chars.length > 0) {
    const last = chars.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // surrogates are not characters
    if (next <= 0x10ffff) return chars.join('') + String.fromCodePoint(next);
  }
  return null;
}

/**
 * The manager lookup behind version_prefix, as a semi-join (`r.id IN`), not
 * GitLab's plain join: a runner with two matching managers is listed once, so
 * pages and X-Total stay consistent. The regex (anchored with ^, so what it
 * extracts is a prefix of the version) is the exact test; the range or the
 * version list only narrows which index entries are read.
 */
function versionFilterSql(sql: Sql, prefix: string, lookup: VersionLookup): string {
  const m = versionPrefixMatch(prefix);
  const matches = (col: string) => `substring(${col} from ${sql.p(m.regex)}::text) = ${sql.p(m.value)}::text`;
  if (lookup === 'range') {
    const upper = prefixUpperBound(m.value);
    const range = `m.version >= ${sql.p(m.value)}::text${upper === null ? '' : ` AND m.version < ${sql.p(upper)}::text`}`;
    return `r.id IN (SELECT m.runner_id FROM runner_managers m WHERE ${range} AND ${matches('m.version')})`;
  }
  return `r.id IN (SELECT m.runner_id FROM runner_managers m WHERE m.version = ANY(ARRAY(
      WITH RECURSIVE v(version) AS (
        (SELECT mv.version FROM runner_managers mv WHERE mv.version IS NOT NULL ORDER BY mv.version LIMIT 1)
        UNION ALL
        SELECT (SELECT mv.version FROM runner_managers mv WHERE mv.version > v.version ORDER BY mv.version LIMIT 1)
        FROM v WHERE v.version IS NOT NULL)
      SELECT v.version FROM v WHERE v.version IS NOT NULL AND ${matches('v.version')})))`;
}

export interface RunnerFilterSpec {
  /** Already checked against the endpoint's allowed scopes. */
  scope?: RunnerScope;
  type?: RunnerScope;
  status?: RunnerScope;
  paused?: boolean;
  tagList?: string[];
  versionPrefix?: string;
}

/** Filters in GitLab's order (scope → type → status → paused → version_prefix → tag_list), all AND-ed, over `runners r`. */
function filterSql(sql: Sql, f: RunnerFilterSpec, now: number, lookup: VersionLookup): string[] {
  const where: string[] = [];
  if (f.scope) where.push(scopeSql(sql, f.scope, now));
  if (f.type) where.push(scopeSql(sql, f.type, now));
  if (f.status) where.push(scopeSql(sql, f.status, now));
  if (f.paused !== undefined) where.push(scopeSql(sql, f.paused ? 'paused' : 'active', now));
  if (f.versionPrefix !== undefined) where.push(versionFilterSql(sql, f.versionPrefix, lookup));
  if (f.tagList && f.tagList.length > 0) where.push(`r.tag_list @> ${sql.p(f.tagList)}::text[]`);
  return where;
}

/**
 * `SELECT <id> FROM …`: the ids of the set after the filters, unordered and
 * unlimited. Touches the runners table only where a filter needs a column.
 */
function idsSql(sql: Sql, set: RunnerSet, filters: RunnerFilterSpec, now: number, lookup: VersionLookup): string {
  if (set.kind === 'project' || set.kind === 'group') {
    const branches = unionBranches(set, sql, () => filterSql(sql, filters, now, lookup));
    if (branches.length === 0) return 'SELECT NULL::int AS id WHERE FALSE';
    return `SELECT s.id FROM (${branches.join('\n      UNION ')}) s`;
  }
  const where = set.kind === 'available_to_user' ? [availableToUserSql(sql, set.userId)] : [];
  where.push(...filterSql(sql, filters, now, lookup));
  return `SELECT r.id FROM runners r${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
}

export interface RunnerListSqlOptions {
  /** One clock reading for the time-based filters (online, offline, stale). */
  now: number;
  versionLookup: VersionLookup;
}

/** GitLab's count_with_limit: counts at most `limit` runners. */
export function runnerCountSql(set: RunnerSet, filters: RunnerFilterSpec, limit: number, opts: RunnerListSqlOptions): SqlStatement {
  const sql = new Sql();
  const ids = idsSql(sql, set, filters, opts.now, opts.versionLookup);
  return { text: `SELECT count(*)::int AS n FROM (${ids} LIMIT ${sql.p(limit)}) capped`, values: sql.params };
}

/**
 * One page, id ascending (GitLab's default paginate order), with the
 * columns the entity shows, the creator and whether a job is executing.
 */
export function runnerPageSql(set: RunnerSet, filters: RunnerFilterSpec, offset: number, limit: number, opts: RunnerListSqlOptions): SqlStatement {
  const sql = new Sql();
  const ids = idsSql(sql, set, filters, opts.now, opts.versionLookup);
  const text = `SELECT r.id, r.description, r.active, r.runner_type, r.name, r.contacted_at, r.created_at,
         u.id AS creator_id, u.username AS creator_username, u.name AS creator_name, u.state AS creator_state,
         EXISTS (SELECT 1 FROM jobs j WHERE j.runner_id = r.id AND j.status = ANY(${sql.p(EXECUTING_JOB_STATUSES)}::text[])) AS executing
    FROM (${ids} ORDER BY 1 LIMIT ${sql.p(limit)} OFFSET ${sql.p(offset)}) page
    JOIN runners r ON r.id = page.id
    LEFT JOIN users u ON u.id = r.creator_id
    ORDER BY r.id`;
  return { text, values: sql.params };
}

interface PageRow {
  id: number;
  description: string | null;
  active: boolean;
  runner_type: number;
  name: string | null;
  contacted_at: Date | null;
  created_at: Date;
  creator_id: number | null;
  creator_username: string | null;
  creator_name: string | null;
  creator_state: string | null;
  executing: boolean;
}

function toListItem(row: PageRow): RunnerListItem {
  const { creator_id, creator_username, creator_name, creator_state, executing, ...runner } = row;
  const creator =
    creator_id === null ? null : { id: creator_id, username: creator_username!, name: creator_name!, state: creator_state! };
  return { runner, extras: { creator, executing } };
}

// ---------------------------------------------------------------- per-database state

/** Collations whose order is bytewise (code point order), by provider: c = libc, b = builtin. */
const BYTEWISE_LOCALES: Record<string, RegExp> = {
  c: /^(C|POSIX|C\.UTF-?8)$/i,
  b: /^(C|C\.UTF-?8|PG_C_UTF8|PG_UNICODE_FAST)$/i,
};
// Strings a linguistic collation orders differently from a bytewise one
// (punctuation, case, spaces): a cheap second opinion on the name.
const ORDER_PROBE = ['16.1.', '16.1/', '16.10', '16.1-', '16.1+', '161', '16 1', '16.1.0', 'a', 'B', 'b.', 'b-'];

/** Decides 'range' or 'scan' for this database, once (runs a catalog query). */
async function detectVersionLookup(pool: pg.Pool): Promise<VersionLookup> {
  const res = await pool.query<{ db: Record<string, unknown>; sorted: string[] }>(
    `SELECT to_jsonb(d) AS db, ARRAY(SELECT s FROM unnest($1::text[]) s ORDER BY s) AS sorted
       FROM pg_database d WHERE d.datname = current_database()`,
    [ORDER_PROBE],
  );
  const row = res.rows[0];
  if (!row) return 'scan';
  const provider = String(row.db.datlocprovider ?? 'c');
  // PostgreSQL 17+ names the builtin/ICU locale `datlocale`, 15–16 `daticulocale`.
  const locale = String(provider === 'c' ? row.db.datcollate : (row.db.datlocale ?? row.db.daticulocale ?? ''));
  const bytewise = [...ORDER_PROBE].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const named = BYTEWISE_LOCALES[provider]?.test(locale) ?? false;
  return named && row.sorted.join('\n') === bytewise.join('\n') ? 'range' : 'scan';
}

interface PoolState {
  versionLookup?: Promise<VersionLookup>;
  counts: CountCache;
}
const poolStates = new WeakMap<pg.Pool, PoolState>();

function poolState(pool: pg.Pool): PoolState {
  let state = poolStates.get(pool);
  if (!state) {
    state = { counts: new CountCache() };
    poolStates.set(pool, state);
  }
  return state;
}

/** The database's VersionLookup, detected on first use and kept (a failed detection is retried next time). */
export function versionLookupFor(pool: pg.Pool): Promise<VersionLookup> {
  const state = poolState(pool);
  state.versionLookup ??= detectVersionLookup(pool).catch((err: unknown) => {
    state.versionLookup = undefined;
    throw err;
  });
  return state.versionLookup;
}

/**
 * One page source over a runner set and filters. Counts go through the
 * database's CountCache: counts of CountCache.minCached or more may be up to
 * a second old (X-Total, X-Total-Pages and rel="last" only; the items are
 * always read fresh); smaller counts are always exact.
 */
export function runnerPageSource(ctx: AppContext, set: RunnerSet, filters: RunnerFilterSpec, now: number = Date.now()): PageSource<RunnerListItem> {
  const lookup = () => (filters.versionPrefix === undefined ? Promise.resolve<VersionLookup>('range') : versionLookupFor(ctx.pool));
  return {
    count: (limit) =>
      poolState(ctx.pool).counts.get(JSON.stringify([set, filters, limit]), async () => {
        const st = runnerCountSql(set, filters, limit, { now, versionLookup: await lookup() });
        const res = await ctx.pool.query<{ n: number }>(st.text, st.values);
        return res.rows[0]?.n ?? 0;
      }),
    items: async (offset, limit) => {
      const st = runnerPageSql(set, filters, offset, limit, { now, versionLookup: await lookup() });
      const res = await ctx.pool.query<PageRow>(st.text, st.values);
      return res.rows.map(toListItem);
    },
  };
}
