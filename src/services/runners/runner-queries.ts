import type pg from 'pg';
import type { AppContext } from '../../context.js';
import { queryPrepared, queryPreparedArrays } from '../../db/prepared.js';
import { ShortLivedCache, type PageSource } from '../../lib/pagination.js';
import type { RunnerListItem } from '../../domain/runner-view.js';
import type { RunnerScope } from '../../schemas/runners.js';
import { AccessLevel } from '../../policies/access-levels.js';
import { EXECUTING_JOB_STATUSES, ONLINE_CONTACT_TIMEOUT_MS, RUNNER_TYPE_IDS, STALE_TIMEOUT_MS } from './runner-core.js';

// The SQL behind every runner list (docs.gitlab.com/api/runners),
// shaped for 100,000 runners (issue 5; plans checked by
// test/integration/list-query-plans.test.ts, measurements in the perf notes):
//
// - The instance-wide list walks the primary key in id order: a page is one
//   range scan from its first id, and that id is found on ids alone (an
//   index-only scan without filters), so OFFSET never fetches skipped rows.
// - Other lists are driven by a small set of ids (runner_projects and each
//   group's runner_namespaces merged in id order, the user's memberships,
//   the managers matching version_prefix); runners is read by primary key
//   for filters and for the page only.
// - One statement returns the page with everything the entity shows: the
//   creator (LEFT JOIN users) and job_execution_status (a jobs(runner_id,
//   status) probe per listed runner).
// - version_prefix reads runner_managers(version, runner_id) alone
//   (versionManagersSql).
// - Counts stop at a LIMIT, as GitLab's count_with_limit; big counts and the
//   positions deep pages start from are kept for a moment (runnerPageSource).

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

/** A page or anchor statement, and whether its generic plan is safe to keep (src/db/prepared.ts). */
export interface ListStatement extends SqlStatement {
  /**
   * Unfiltered lists: the instance list (one walk of runners_pkey), pages
   * of project and group lists (each branch limited to the first skip +
   * limit ids) and version_prefix pages (each matching version limited the
   * same way), whatever the values. Every filter's selectivity depends on
   * its value (a rare or a common tag, 10 % or 60 % of runners of a type,
   * contacted_at against the clock), and a plan made without the values may
   * bitmap-scan and sort every match (35 ms instead of 0.8 ms for
   * tag_list=docker&status=online); an unlimited UNION may append and sort
   * the whole set.
   */
  generic: boolean;
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
 * order. UNION, not UNION ALL: a runner in two sources is listed once, as
 * GitLab's `from_union`.
 */
function unionBranches(sql: Sql, set: Extract<RunnerSet, { kind: 'project' | 'group' }>): string[] {
  const branches: string[] = [];
  if (set.kind === 'project') branches.push(`SELECT rp.runner_id AS id FROM runner_projects rp WHERE rp.project_id = ${sql.p(set.projectId)}`);
  for (const groupId of new Set(set.groupIds)) {
    branches.push(`SELECT rn.runner_id AS id FROM runner_namespaces rn WHERE rn.namespace_id = ${sql.p(groupId)}`);
  }
  if (set.includeInstance) branches.push(`SELECT r0.id FROM runners r0 WHERE r0.runner_type = ${RUNNER_TYPE_IDS.instance_type}`);
  return branches;
}

/**
 * User#ci_available_runners: runners of the projects the user maintains and
 * of the groups they own, with descendants, as ids (`id`). Driven from the
 * user's memberships, so it grows with what the user manages, not with the
 * number of runners.
 */
function availableToUserIdsSql(sql: Sql, userId: number): string {
  const maintainerProjects = projectsWithAccessSql(sql, userId, AccessLevel.MAINTAINER);
  const u = sql.p(userId);
  return `SELECT rp.runner_id AS id FROM runner_projects rp WHERE rp.project_id IN (${maintainerProjects})
        UNION
        SELECT rn.runner_id AS id FROM runner_namespaces rn WHERE rn.namespace_id IN (
          SELECT n.id FROM namespaces n WHERE n.kind = 'group'
             AND n.traversal_ids && ARRAY(SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${u} AND gm.access_level >= ${AccessLevel.OWNER}))`;
}

/** The SQL meaning of a `scope`/`status`/`type` value (GitLab's app/models/ci/runner.rb). */
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
 * neither 1.6 nor 160.0 (GitLab's app/finders/ci/runners_finder.rb).
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

interface VersionMatch {
  /** Placeholders of the range: the value, and the bound above it (null when there is none). */
  lower: () => string;
  upper: () => string | null;
  /** `substring(<col> from regex) = value`: the exact test, or null where the range alone decides. */
  test: ((col: string) => string) | null;
}

/**
 * What version_prefix matches. The regex, anchored with ^, extracts a
 * prefix of the version, so every match starts with the value: the range or
 * the version list only narrows which index entries are read, the regex
 * decides. Within a range it is left out where it cannot reject anything: a
 * value that is all of what its regex matches and ends with the regex's
 * closing dot ("16." or "16.1."), since then every version starting with it
 * matches. Not so for "16.1.0": 16.1.05 starts with it, but its regex
 * extracts "16.1.05". Placeholders are made on first use (PostgreSQL cannot
 * type an unused one).
 */
function versionMatch(sql: Sql, prefix: string, lookup: VersionLookup): VersionMatch {
  const m = versionPrefixMatch(prefix);
  const upperBound = prefixUpperBound(m.value);
  const exact = lookup === 'range' && upperBound !== null && m.regex.endsWith('\\.') && new RegExp(`${m.regex}$`).test(m.value);
  let value: string | undefined;
  let upper: string | undefined;
  let regex: string | undefined;
  const lower = () => (value ??= sql.p(m.value));
  return {
    lower,
    upper: () => (upperBound === null ? null : (upper ??= sql.p(upperBound))),
    test: exact ? null : (col) => `substring(${col} from ${(regex ??= sql.p(m.regex))}::text) = ${lower()}::text`,
  };
}

/**
 * The distinct versions that match, one index descent each (a loose index
 * scan): within the range for 'range', over all versions for 'scan'.
 */
function matchingVersionsSql(v: VersionMatch, lookup: VersionLookup): string {
  const upper = lookup === 'range' ? v.upper() : null;
  const below = upper ? [`mv.version < ${upper}::text`] : [];
  const first = [lookup === 'range' ? `mv.version >= ${v.lower()}::text` : 'mv.version IS NOT NULL', ...below];
  const next = ['mv.version > v.version', ...below];
  const keep = ['v.version IS NOT NULL', ...(v.test ? [v.test('v.version')] : [])];
  return `WITH RECURSIVE v(version) AS (
        (SELECT mv.version FROM runner_managers mv WHERE ${first.join(' AND ')} ORDER BY mv.version LIMIT 1)
        UNION ALL
        SELECT (SELECT mv.version FROM runner_managers mv WHERE ${next.join(' AND ')} ORDER BY mv.version LIMIT 1)
        FROM v WHERE v.version IS NOT NULL)
      SELECT v.version FROM v WHERE ${keep.join(' AND ')}`;
}

/** The runner ids (`SELECT m.runner_id …`, repeats possible) of the managers version_prefix matches. */
function versionManagersSql(v: VersionMatch, lookup: VersionLookup): string {
  if (lookup === 'range') {
    const upper = v.upper();
    const where = [`m.version >= ${v.lower()}::text`, ...(upper ? [`m.version < ${upper}::text`] : []), ...(v.test ? [v.test('m.version')] : [])];
    return `SELECT m.runner_id FROM runner_managers m WHERE ${where.join(' AND ')}`;
  }
  return `SELECT m.runner_id FROM runner_managers m WHERE m.version = ANY(ARRAY(${matchingVersionsSql(v, lookup)}))`;
}

export interface RunnerFilterSpec {
  /** Already checked against the endpoint's allowed scopes. */
  scope?: RunnerScope;
  type?: RunnerScope;
  status?: RunnerScope;
  paused?: boolean;
  tagList?: string[];
  versionPrefix?: string;
  /** Cleanup only (extension): last contact, or creation when never contacted, before this moment. */
  contactedBefore?: Date;
}

/**
 * Filters in GitLab's order (scope → type → status → paused → version_prefix
 * → tag_list), all AND-ed, over `runners r`. version_prefix is a semi-join
 * (`r.id IN`), not GitLab's plain join: a runner with two matching managers
 * is listed once, so pages and X-Total stay consistent.
 */
function filterSql(sql: Sql, f: RunnerFilterSpec, now: number, lookup: VersionLookup): string[] {
  const where: string[] = [];
  if (f.scope) where.push(scopeSql(sql, f.scope, now));
  if (f.type) where.push(scopeSql(sql, f.type, now));
  if (f.status) where.push(scopeSql(sql, f.status, now));
  if (f.paused !== undefined) where.push(scopeSql(sql, f.paused ? 'paused' : 'active', now));
  if (f.versionPrefix !== undefined) where.push(`r.id IN (${versionManagersSql(versionMatch(sql, f.versionPrefix, lookup), lookup)})`);
  if (f.tagList && f.tagList.length > 0) where.push(`r.tag_list @> ${sql.p(f.tagList)}::text[]`);
  if (f.contactedBefore) where.push(`COALESCE(r.contacted_at, r.created_at) < ${sql.p(f.contactedBefore)}`);
  return where;
}

/**
 * Where a list's ids come from:
 * - 'runners': a scan of `runners r` under `where` (the instance-wide list),
 *   which can walk the primary key in id order;
 * - 'driver': `ids`, a subquery of ids (`s.id`) from link tables or
 *   managers, each looked up in runners by primary key.
 */
type IdSource =
  | { kind: 'runners'; where: string[] }
  | { kind: 'driver'; ids: string }
  /** An unfiltered project or group list: `ids` as a driver, and its index-ordered branches for pages. */
  | { kind: 'union'; ids: string; branches: string[] }
  /** version_prefix alone on the instance list: `ids` as a driver, and the distinct matching versions for pages. */
  | { kind: 'versions'; ids: string; versions: string };

function idSource(sql: Sql, set: RunnerSet, filters: RunnerFilterSpec, now: number, lookup: VersionLookup): IdSource {
  // Filters on a driving set of ids look each id up by primary key, in the
  // driver's order (LIMIT 1 keeps the lateral subquery from being flattened
  // into a join that PostgreSQL would rather run as a hash join over all runners).
  const filtered = (driver: string, where: string[]): IdSource => ({
    kind: 'driver',
    ids:
      where.length === 0
        ? `SELECT s.id FROM ${driver}`
        : `SELECT s.id FROM ${driver}
      CROSS JOIN LATERAL (SELECT 1 FROM runners r WHERE r.id = s.id AND ${where.join(' AND ')} LIMIT 1) f`,
  });
  if (set.kind === 'project' || set.kind === 'group') {
    const branches = unionBranches(sql, set);
    const where = filterSql(sql, filters, now, lookup);
    const source = filtered(`(${branches.join('\n      UNION ')}) s`, where);
    return where.length === 0 && source.kind === 'driver' ? { kind: 'union', ids: source.ids, branches } : source;
  }
  if (set.kind === 'all' && filters.versionPrefix !== undefined) {
    // The matching managers are few next to all runners: they drive, and
    // runners is read only for the page (and for other filters).
    const v = versionMatch(sql, filters.versionPrefix, lookup);
    const source = filtered(`(SELECT DISTINCT vm.runner_id AS id FROM (${versionManagersSql(v, lookup)}) vm) s`, filterSql(sql, { ...filters, versionPrefix: undefined }, now, lookup));
    const alone = Object.entries(filters).every(([k, value]) => k === 'versionPrefix' || value === undefined || (Array.isArray(value) && value.length === 0));
    return alone && source.kind === 'driver' ? { kind: 'versions', ids: source.ids, versions: matchingVersionsSql(v, lookup) } : source;
  }
  if (set.kind === 'available_to_user') return filtered(`(${availableToUserIdsSql(sql, set.userId)}) s`, filterSql(sql, filters, now, lookup));
  return { kind: 'runners', where: filterSql(sql, filters, now, lookup) };
}

/**
 * `SELECT <id> FROM …`: the ids of the set after the filters, unordered and
 * unlimited; with `fromId` (a placeholder), only ids from that one on.
 */
function idsSql(source: IdSource, fromId?: string): string {
  if (source.kind !== 'runners') return fromId ? `SELECT a.id FROM (${source.ids}) a WHERE a.id >= ${fromId}` : source.ids;
  const where = fromId ? [...source.where, `r.id >= ${fromId}`] : source.where;
  return `SELECT r.id FROM runners r${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
}

export interface RunnerListSqlOptions {
  /** One clock reading for the time-based filters (online, offline, stale). */
  now: number;
  versionLookup: VersionLookup;
}

/** A count statement; `maintained`: it reads the block counts, so it is exact and cheap at any size (never cached). */
export interface CountStatement extends SqlStatement {
  maintained: boolean;
}

/**
 * GitLab's count_with_limit: counts at most `limit` runners. The whole
 * fleet is the sum of the block counts. A filtered instance-wide count
 * walks the primary key in id order when the planner expects the limit to
 * be reached before the end (a common tag at a million runners: it stops at
 * the limit), and the filters' indexes when matches are few.
 */
export function runnerCountSql(set: RunnerSet, filters: RunnerFilterSpec, limit: number, opts: RunnerListSqlOptions): CountStatement {
  const sql = new Sql();
  const source = idSource(sql, set, filters, opts.now, opts.versionLookup);
  if (source.kind === 'runners' && source.where.length === 0) {
    return { text: `SELECT LEAST(COALESCE(sum(b.runners), 0), ${sql.p(limit)})::int AS n FROM runner_id_blocks b`, values: sql.params, maintained: true };
  }
  return { text: cappedCountSql(sql, source, limit, ' AS n'), values: sql.params, maintained: false };
}

/** `SELECT count(*)` of at most `limit` ids of the source (an instance-wide filtered walk in id order, so it stops at the limit). */
function cappedCountSql(sql: Sql, source: IdSource, limit: number, alias = ''): string {
  const order = source.kind === 'runners' ? ' ORDER BY r.id' : '';
  return `SELECT count(*)::int${alias} FROM (${idsSql(source)}${order} LIMIT ${sql.p(limit)}) capped`;
}

/** Ids per row of runner_id_blocks (migration 20261203210000_runner_id_blocks). */
export const RUNNER_ID_BLOCK = 1_000;

/**
 * The id of the runner at position `offset` (a placeholder; 0-based, id
 * order) of the whole fleet, or NULL past the end: the block holding that
 * position is found by summing the block counts before it (a thousand rows
 * at a million runners), then at most RUNNER_ID_BLOCK ids of it are
 * skipped. Exact: the counts are kept by triggers in the same transactions
 * as the runners, and read in the same snapshot as the page.
 */
function runnerIdAtOffsetSql(offset: string): string {
  return `WITH blocks AS (SELECT b.block, sum(b.runners) AS n FROM runner_id_blocks b GROUP BY b.block),
        through AS (SELECT bl.block, bl.n, sum(bl.n) OVER (ORDER BY bl.block) AS upto FROM blocks bl),
        start AS (SELECT t.block, t.upto - t.n AS before FROM through t WHERE t.upto > ${offset} ORDER BY t.block LIMIT 1)
      SELECT r0.id FROM runners r0 WHERE r0.id >= (SELECT st.block * ${RUNNER_ID_BLOCK} FROM start st)
      ORDER BY r0.id OFFSET (SELECT ${offset} - st.before FROM start st) LIMIT 1`;
}

/** A known position in a list: the runner `id` is the `position`-th (0-based) of the list. */
export interface ListAnchor {
  id: number;
  position: number;
}

const ENTITY_COLUMNS = 'r.id, r.description, r.active, r.runner_type, r.name, r.contacted_at, r.created_at, r.creator_id';

/**
 * One page, id ascending (GitLab's default paginate order), with the
 * columns the entity shows, the creator and whether a job is executing.
 * With `anchor`, the page is counted from the anchor instead of from the
 * start of the list (see runnerAnchorsSql).
 */
export function runnerPageSql(
  set: RunnerSet,
  filters: RunnerFilterSpec,
  offset: number,
  limit: number,
  opts: RunnerListSqlOptions & { anchor?: ListAnchor; countLimit?: number },
): ListStatement {
  const sql = new Sql();
  const source = idSource(sql, set, filters, opts.now, opts.versionLookup);
  const fromId = opts.anchor ? sql.p(opts.anchor.id) : undefined;
  const skip = offset - (opts.anchor?.position ?? 0);
  let rows: string;
  if (source.kind === 'runners' && source.where.length === 0 && !fromId && skip >= RUNNER_ID_BLOCK) {
    // The whole fleet, from a deep offset: the page's first id is found
    // from the maintained block counts (runnerIdAtOffsetSql), not by
    // skipping `skip` ids.
    rows = `SELECT ${ENTITY_COLUMNS} FROM runners r WHERE r.id >= (${runnerIdAtOffsetSql(sql.p(skip))}) ORDER BY r.id LIMIT ${sql.p(limit)}`;
  } else if (source.kind === 'runners') {
    // Read the page's rows in primary key order from its first id on: one
    // range scan. The first id is found on ids alone (an index-only scan
    // when no filter needs a column), so OFFSET never fetches skipped rows.
    const where = fromId ? [...source.where, `r.id >= ${fromId}`] : [...source.where];
    if (skip > 0) where.push(`r.id >= (${idsSql(source, fromId)} ORDER BY 1 OFFSET ${sql.p(skip)} LIMIT 1)`);
    rows = `SELECT ${ENTITY_COLUMNS} FROM runners r${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id LIMIT ${sql.p(limit)}`;
  } else if (source.kind === 'versions') {
    // Each matching version's managers come out of runner_managers(version,
    // runner_id) in runner_id order, so the first skip + limit runners of the
    // list are among the first skip + limit of every version: read only
    // those, instead of every match (a runner listed under two versions is
    // still counted once by DISTINCT).
    const k = sql.p(skip + limit);
    const from = fromId ? ` AND m.runner_id >= ${fromId}` : '';
    rows = `SELECT ${ENTITY_COLUMNS} FROM (
        SELECT DISTINCT x.id FROM unnest(ARRAY(${source.versions})) vv(version)
        CROSS JOIN LATERAL (SELECT DISTINCT m.runner_id AS id FROM runner_managers m WHERE m.version = vv.version${from} ORDER BY 1 LIMIT ${k}) x
        ORDER BY 1 LIMIT ${sql.p(limit)} OFFSET ${sql.p(skip)}) page
      JOIN runners r ON r.id = page.id`;
  } else if (source.kind === 'union') {
    // Every branch comes out of its index in id order, so the first skip +
    // limit ids of the list are among the first skip + limit of every
    // branch: read only those. The plan then no longer depends on how many
    // runners each source holds, and is kept (generic: see ListStatement).
    const k = sql.p(skip + limit);
    const from = fromId ? ` WHERE b.id >= ${fromId}` : '';
    const firsts = source.branches.map((branch) => `(SELECT b.id FROM (${branch}) b${from} ORDER BY 1 LIMIT ${k})`);
    rows = `SELECT ${ENTITY_COLUMNS} FROM (SELECT u.id FROM (${firsts.join('\n      UNION ')}) u ORDER BY 1 LIMIT ${sql.p(limit)} OFFSET ${sql.p(skip)}) page
      JOIN runners r ON r.id = page.id`;
  } else {
    // Ids from elsewhere: page on ids, then fetch only the page's rows.
    rows = `SELECT ${ENTITY_COLUMNS} FROM (${idsSql(source, fromId)} ORDER BY 1 LIMIT ${sql.p(limit)} OFFSET ${sql.p(skip)}) page
      JOIN runners r ON r.id = page.id`;
  }
  // The capped count rides along as the last column (one statement per page): the whole fleet's from
  // the block counts, any other list's as runnerCountSql counts it. The latter is planned with its values.
  const wholeFleet = source.kind === 'runners' && source.where.length === 0;
  let total: string | undefined;
  if (opts.countLimit !== undefined) {
    total = wholeFleet
      ? `(SELECT LEAST(COALESCE(sum(b.runners), 0), ${sql.p(opts.countLimit)})::int FROM runner_id_blocks b)`
      : `(${cappedCountSql(sql, idSource(sql, set, filters, opts.now, opts.versionLookup), opts.countLimit)})`;
  }
  const text = withEntityExtras(sql, rows, 'ASC', total);
  const generic = wholeFleet || ((source.kind === 'union' || source.kind === 'versions') && total === undefined);
  return { text, values: sql.params, generic };
}

/**
 * The page's rows with the creator and whether a job is executing, in id
 * order. The job probe is a LATERAL … LIMIT 1 rather than EXISTS so that it
 * stays one jobs(runner_id, status) lookup per listed runner; an EXISTS may
 * be planned as a hash of every running job in the instance. Column order is
 * PageRow's: rows are read as arrays.
 */
function withEntityExtras(sql: Sql, rows: string, order: 'ASC' | 'DESC', total?: string): string {
  return `SELECT r.id, r.description, r.active, r.runner_type, r.name, r.contacted_at, r.created_at,
         u.id AS creator_id, u.username AS creator_username, u.name AS creator_name, u.state AS creator_state,
         busy.id IS NOT NULL AS executing${total ? `, ${total} AS total` : ''}
    FROM (${rows}) r
    LEFT JOIN users u ON u.id = r.creator_id
    LEFT JOIN LATERAL (SELECT j.id FROM jobs j WHERE j.runner_id = r.id AND j.status = ANY(${sql.p(EXECUTING_JOB_STATUSES)}::text[]) LIMIT 1) busy ON TRUE
    ORDER BY r.id ${order}`;
}

/**
 * Keyset mode (`pagination=keyset`, extension on the runner lists): the
 * first `limit` runners after the id `afterId` in id order, ascending or
 * descending. Every source is read from the cursor on in its index order and
 * stops after `limit` rows, so page 5,000 costs what page 1 costs (no
 * OFFSET, no anchors, no count).
 */
export function runnerKeysetPageSql(
  set: RunnerSet,
  filters: RunnerFilterSpec,
  afterId: number | undefined,
  limit: number,
  opts: RunnerListSqlOptions & { descending: boolean },
): ListStatement {
  const sql = new Sql();
  const source = idSource(sql, set, filters, opts.now, opts.versionLookup);
  const order = opts.descending ? 'DESC' : 'ASC';
  const after = (col: string) => (afterId === undefined ? [] : [`${col} ${opts.descending ? '<' : '>'} ${sql.p(afterId)}`]);
  let rows: string;
  if (source.kind === 'runners') {
    const where = [...source.where, ...after('r.id')];
    rows = `SELECT ${ENTITY_COLUMNS} FROM runners r${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id ${order} LIMIT ${sql.p(limit)}`;
  } else if (source.kind === 'union') {
    // Each branch from the cursor on, in its index order, limited: the merge needs no more.
    const k = sql.p(limit);
    const cond = after('b.id');
    const firsts = source.branches.map((branch) => `(SELECT b.id FROM (${branch}) b${cond.length ? ` WHERE ${cond[0]}` : ''} ORDER BY 1 ${order} LIMIT ${k})`);
    rows = `SELECT ${ENTITY_COLUMNS} FROM (SELECT u.id FROM (${firsts.join('\n      UNION ')}) u ORDER BY 1 ${order} LIMIT ${k}) page
      JOIN runners r ON r.id = page.id`;
  } else {
    const cond = after('a.id');
    rows = `SELECT ${ENTITY_COLUMNS} FROM (SELECT a.id FROM (${source.ids}) a${cond.length ? ` WHERE ${cond[0]}` : ''} ORDER BY 1 ${order} LIMIT ${sql.p(limit)}) page
      JOIN runners r ON r.id = page.id`;
  }
  const text = withEntityExtras(sql, rows, order);
  return { text, values: sql.params, generic: (source.kind === 'runners' && source.where.length === 0) || source.kind === 'union' };
}

/**
 * Every `every`-th id of the list (positions 0, every, 2·every, …), id
 * ascending: one pass over the list that later deep pages start from.
 */
export function runnerAnchorsSql(set: RunnerSet, filters: RunnerFilterSpec, every: number, opts: RunnerListSqlOptions): ListStatement {
  const sql = new Sql();
  const source = idSource(sql, set, filters, opts.now, opts.versionLookup);
  const text = `SELECT a.id FROM (SELECT l.id, row_number() OVER (ORDER BY l.id) - 1 AS position FROM (${idsSql(source)}) l) a
    WHERE a.position % ${sql.p(every)} = 0 ORDER BY a.id`;
  return { text, values: sql.params, generic: source.kind === 'runners' && source.where.length === 0 };
}

/** A page row, columns in the order runnerPageSql selects them. */
type PageRow = [
  id: number,
  description: string | null,
  active: boolean,
  runner_type: number,
  name: string | null,
  contacted_at: Date | null,
  created_at: Date,
  creator_id: number | null,
  creator_username: string | null,
  creator_name: string | null,
  creator_state: string | null,
  executing: boolean,
  /** Only when the statement carries the list's count (runnerPageSql's countLimit). */
  total?: number,
];

// Rows come as arrays (rowMode 'array'): a page is a hundred of them, and
// building an object per row only to take it apart again showed in profiles.
function toListItem(row: PageRow): RunnerListItem {
  const creatorId = row[7];
  return {
    runner: { id: row[0], description: row[1], active: row[2], runner_type: row[3], name: row[4], contacted_at: row[5], created_at: row[6] },
    extras: {
      creator: creatorId === null ? null : { id: creatorId, username: row[8]!, name: row[9]!, state: row[10]! },
      executing: row[11],
    },
  };
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

/** Decides 'range' or 'scan' for this database (one catalog query). */
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
  const bytewise = [...ORDER_PROBE].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const named = BYTEWISE_LOCALES[provider]?.test(locale) ?? false;
  return named && row.sorted.join('\n') === bytewise.join('\n') ? 'range' : 'scan';
}

/**
 * Counts from this size on are cached (X-Total, X-Total-Pages and rel="last"
 * of a big list may be up to CACHE_FRESH_MS + CACHE_STALE_MS old); smaller
 * ones are cheap and always exact.
 */
const CACHED_COUNT_MIN = 1_000;
/** Cached counts and anchors are fresh this long, then served while one refresh runs for this much longer (ShortLivedCache). */
const CACHE_FRESH_MS = 1_000;
const CACHE_STALE_MS = 1_000;
/**
 * A count over the cap shows in no header (X-Total, X-Total-Pages and
 * rel="last" are left out, as GitLab does past 10,000), and proving it
 * means finding cap + 1 matches: up to a few hundred thousand rows for a
 * common filter at a million runners. So "over the cap" is kept longer.
 * The one thing this delays: X-Total reappearing, for up to twice this
 * long, once deletions bring such a list down to the cap.
 */
const OVER_CAP_FRESH_MS = 15_000;
/**
 * Pages at this offset or deeper start from a remembered position (the same
 * threshold where GitLab stops counting): OFFSET n reads n index entries, an
 * anchor at most ANCHOR_EVERY.
 */
export const DEEP_OFFSET = 10_000;
const ANCHOR_EVERY = 1_000;

interface PoolState {
  versionLookup?: Promise<VersionLookup>;
  counts: ShortLivedCache<number>;
  overCap: ShortLivedCache<number>;
  anchors: ShortLivedCache<number[]>;
}
const poolStates = new WeakMap<pg.Pool, PoolState>();

function poolState(pool: pg.Pool): PoolState {
  let state = poolStates.get(pool);
  if (!state) {
    state = {
      counts: new ShortLivedCache<number>(CACHE_FRESH_MS, CACHE_STALE_MS),
      overCap: new ShortLivedCache<number>(OVER_CAP_FRESH_MS, OVER_CAP_FRESH_MS),
      anchors: new ShortLivedCache<number[]>(CACHE_FRESH_MS, CACHE_STALE_MS, 100),
    };
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
 * One page source over a runner set and filters.
 * - Counts of CACHED_COUNT_MIN or more are reused for up to ~2 s.
 * - Pages at DEEP_OFFSET or deeper start from the nearest remembered
 *   position (every ANCHOR_EVERY-th id of the list, found in one pass and
 *   reused for up to ~2 s), so they read at most ANCHOR_EVERY + limit index
 *   entries instead of offset + limit. Such a page shows the rows at its
 *   positions as of up to ~2 s ago (rows deleted meanwhile before it shift
 *   it by as many); the rows themselves are always read fresh. Shallower
 *   pages are always exact.
 */
export function runnerPageSource(ctx: AppContext, set: RunnerSet, filters: RunnerFilterSpec, now: number = Date.now()): PageSource<RunnerListItem> {
  const state = poolState(ctx.pool);
  const key = JSON.stringify([set, filters]);
  const sqlOptions = async (): Promise<RunnerListSqlOptions> => ({
    now,
    versionLookup: filters.versionPrefix === undefined ? 'range' : await versionLookupFor(ctx.pool),
  });
  // The whole fleet finds deep pages from the block counts instead (runnerIdAtOffsetSql).
  const wholeFleet = set.kind === 'all' && filterSql(new Sql(), filters, now, 'range').length === 0;
  const anchorFor = async (offset: number): Promise<ListAnchor | undefined> => {
    if (offset < DEEP_OFFSET || wholeFleet) return undefined;
    const anchors = await state.anchors.get(key, async () => {
      const st = runnerAnchorsSql(set, filters, ANCHOR_EVERY, await sqlOptions());
      const res = await queryPrepared<{ id: number }>(ctx, st);
      return res.rows.map((r) => r.id);
    });
    const index = Math.min(Math.floor(offset / ANCHOR_EVERY), anchors.length - 1);
    return index > 0 ? { id: anchors[index]!, position: index * ANCHOR_EVERY } : undefined;
  };
  const items = async (offset: number, limit: number) => {
    const st = runnerPageSql(set, filters, offset, limit, { ...(await sqlOptions()), anchor: await anchorFor(offset) });
    const res = await queryPreparedArrays<PageRow>(ctx, st);
    return res.rows.map(toListItem);
  };
  // Counts of CACHED_COUNT_MIN or more are kept (and over the cap longer); concurrent requests share one computation.
  const countNow = async (limit: number) => {
    const st = runnerCountSql(set, filters, limit, await sqlOptions());
    // Not prepared: a generic plan cannot know how selective the filters
    // are, and may count by scanning runners (big counts are cached anyway).
    const res = await ctx.pool.query<{ n: number }>(st.text, st.values);
    return res.rows[0]?.n ?? 0;
  };
  const keptCount = (limit: number, compute: () => Promise<number>) => {
    const countKey = `${key}|${limit}`;
    return state.overCap.get(countKey, () => state.counts.get(countKey, compute, (n) => n >= CACHED_COUNT_MIN), (n) => n >= limit);
  };
  return {
    count: async (limit) => {
      if (wholeFleet) {
        // Exact and cheap at any size: read every time.
        const st = runnerCountSql(set, filters, limit, await sqlOptions());
        const res = await queryPrepared<{ n: number }>(ctx, { ...st, generic: true });
        return res.rows[0]?.n ?? 0;
      }
      return keptCount(limit, () => countNow(limit));
    },
    items,
    itemsWithCount: async (offset, limit, countLimit) => {
      if (wholeFleet) {
        const st = runnerPageSql(set, filters, offset, limit, { ...(await sqlOptions()), countLimit });
        const res = await queryPreparedArrays<PageRow>(ctx, st);
        return { items: res.rows.map(toListItem), total: totalOf(res.rows, offset) };
      }
      const countKey = `${key}|${countLimit}`;
      if (state.overCap.has(countKey) || state.counts.has(countKey)) {
        // A count of this list is kept: the page alone (count() answers from the cache).
        return { items: await items(offset, limit), total: undefined };
      }
      // No count kept (a small list, or one not asked for in a while): this request reads its page
      // and the count in one statement, planned with its values as a count must be (countNow);
      // requests for the same list meanwhile wait for that count, as they would for countNow.
      let page: RunnerListItem[] | undefined;
      const total = await keptCount(countLimit, async () => {
        const st = runnerPageSql(set, filters, offset, limit, { ...(await sqlOptions()), anchor: await anchorFor(offset), countLimit });
        const res = await ctx.pool.query<PageRow>({ text: st.text, values: st.values, rowMode: 'array' });
        page = res.rows.map(toListItem);
        return totalOf(res.rows, offset) ?? (await countNow(countLimit));
      });
      return { items: page ?? (await items(offset, limit)), total };
    },
  };
}

/** The count a page statement carried: on its rows, or 0 when the first page is empty (past the last page it is unknown). */
const totalOf = (rows: PageRow[], offset: number): number | undefined => rows[0]?.[12] ?? (offset === 0 ? 0 : undefined);

/** One keyset page (runnerKeysetPageSql), as list items. */
export async function runnerKeysetPage(
  ctx: AppContext,
  set: RunnerSet,
  filters: RunnerFilterSpec,
  page: { afterId?: number; limit: number; descending: boolean },
  now: number = Date.now(),
): Promise<RunnerListItem[]> {
  const versionLookup = filters.versionPrefix === undefined ? 'range' : await versionLookupFor(ctx.pool);
  const st = runnerKeysetPageSql(set, filters, page.afterId, page.limit, { now, versionLookup, descending: page.descending });
  const res = await queryPreparedArrays<PageRow>(ctx, st);
  return res.rows.map(toListItem);
}
