import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import type { PageSource } from '../../lib/pagination.js';
import type { RunnerScope } from '../../schemas/runners.js';
import { AccessLevel } from '../../policies/access-levels.js';
import { ONLINE_CONTACT_TIMEOUT_MS, RUNNER_TYPE_IDS, STALE_TIMEOUT_MS } from './runner-core.js';

// The SQL behind every runner list (runners-api.md §4.1, 4.2, 4.10, 4.13).
// Lists are built as one WHERE clause over `runners r` so that PostgreSQL
// can walk the primary key in id order and stop after the page, using the
// (runner_type, id), contacted_at, created_at and GIN(tag_list) indexes for
// the filters. Counts stop at a LIMIT, as GitLab's count_with_limit.

/** Collects positional parameters while a query is assembled. */
export class Sql {
  readonly params: unknown[] = [];
  /** Adds a value and returns its placeholder, e.g. `$3`. */
  p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
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

function setSql(sql: Sql, set: RunnerSet): string {
  switch (set.kind) {
    case 'all':
      return 'TRUE';
    case 'available_to_user': {
      const maintainerProjects = projectsWithAccessSql(sql, set.userId, AccessLevel.MAINTAINER);
      const u = sql.p(set.userId);
      return `r.id IN (
        SELECT rp.runner_id FROM runner_projects rp WHERE rp.project_id IN (${maintainerProjects})
        UNION
        SELECT rn.runner_id FROM runner_namespaces rn WHERE rn.namespace_id IN (
          SELECT n.id FROM namespaces n WHERE n.kind = 'group'
             AND n.traversal_ids && ARRAY(SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${u} AND gm.access_level >= ${AccessLevel.OWNER})))`;
    }
    case 'project': {
      const parts = [`r.id IN (SELECT rp.runner_id FROM runner_projects rp WHERE rp.project_id = ${sql.p(set.projectId)})`];
      if (set.groupIds.length) parts.push(`r.id IN (SELECT rn.runner_id FROM runner_namespaces rn WHERE rn.namespace_id = ANY(${sql.p(set.groupIds)}::int[]))`);
      if (set.includeInstance) parts.push(`r.runner_type = ${RUNNER_TYPE_IDS.instance_type}`);
      return `(${parts.join(' OR ')})`;
    }
    case 'group': {
      const parts = [`r.id IN (SELECT rn.runner_id FROM runner_namespaces rn WHERE rn.namespace_id = ANY(${sql.p(set.groupIds)}::int[]))`];
      if (set.includeInstance) parts.push(`r.runner_type = ${RUNNER_TYPE_IDS.instance_type}`);
      return `(${parts.join(' OR ')})`;
    }
  }
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

export interface RunnerFilterSpec {
  /** Already checked against the endpoint's allowed scopes. */
  scope?: RunnerScope;
  type?: RunnerScope;
  status?: RunnerScope;
  paused?: boolean;
  tagList?: string[];
  versionPrefix?: string;
}

/** Filters in GitLab's order (scope → type → status → paused → version_prefix → tag_list), all AND-ed. */
function filterSql(sql: Sql, f: RunnerFilterSpec, now: number): string[] {
  const where: string[] = [];
  if (f.scope) where.push(scopeSql(sql, f.scope, now));
  if (f.type) where.push(scopeSql(sql, f.type, now));
  if (f.status) where.push(scopeSql(sql, f.status, now));
  if (f.paused !== undefined) where.push(scopeSql(sql, f.paused ? 'paused' : 'active', now));
  if (f.versionPrefix !== undefined) {
    const m = versionPrefixMatch(f.versionPrefix);
    // A semi-join rather than GitLab's plain join: a runner with two matching
    // managers is listed once, so pages and X-Total stay consistent.
    // A match always starts with the value, so a LIKE prefix narrows the rows
    // (through the version index where the collation allows) before the regex.
    const prefix = `${m.value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      `EXISTS (SELECT 1 FROM runner_managers m WHERE m.runner_id = r.id AND m.version LIKE ${sql.p(prefix)}::text
         AND substring(m.version from ${sql.p(m.regex)}::text) = ${sql.p(m.value)}::text)`,
    );
  }
  if (f.tagList && f.tagList.length > 0) where.push(`r.tag_list @> ${sql.p(f.tagList)}::text[]`);
  return where;
}

/** One page source over a runner set and filters, id ascending (GitLab's default paginate order). */
export function runnerPageSource(ctx: AppContext, set: RunnerSet, filters: RunnerFilterSpec, now: number = Date.now()): PageSource<Runner> {
  const build = () => {
    const sql = new Sql();
    const where = [setSql(sql, set), ...filterSql(sql, filters, now)].join(' AND ');
    return { sql, where };
  };
  return {
    count: async (limit) => {
      const { sql, where } = build();
      const res = await ctx.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM runners r WHERE ${where} LIMIT ${sql.p(limit)}) capped`,
        sql.params,
      );
      return res.rows[0]?.n ?? 0;
    },
    items: async (offset, limit) => {
      const { sql, where } = build();
      const res = await ctx.pool.query<Runner>(
        `SELECT r.* FROM runners r WHERE ${where} ORDER BY r.id ASC LIMIT ${sql.p(limit)} OFFSET ${sql.p(offset)}`,
        sql.params,
      );
      return res.rows;
    },
  };
}
