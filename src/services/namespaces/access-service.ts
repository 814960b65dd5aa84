import type { AppContext } from '../../context.js';
import { queryPrepared } from '../../db/prepared.js';
import type { Namespace, Project } from '../../generated/prisma/client.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import { AccessLevel, type PolicyActor, type Visibility } from '../../policies/access-levels.js';
import { groupAbilities, projectAbilities, type GroupFacts, type NamespaceAbility, type ProjectFacts } from '../../policies/namespace-policy.js';
import { forbidden, notFound } from '../../lib/errors.js';
import type { NamespacedId } from '../../schemas/common.js';
import { getSettings } from '../settings/settings-service.js';

// Loads the facts the pure namespace policy decides on: membership levels
// (inherited down the group tree through traversal_ids), visibility and the
// registration switches. Also the one place that resolves `:id` of
// /groups/:id and /projects/:id.

/** Max access level of `userId` on a group, counting memberships of its ancestors. */
export async function groupAccessLevel(ctx: AppContext, userId: number, group: Pick<Namespace, 'traversal_ids'>): Promise<number> {
  const rows = await ctx.pool.query<{ level: number | null }>(
    'SELECT max(access_level) AS level FROM group_members WHERE user_id = $1 AND group_id = ANY($2::int[])',
    [userId, group.traversal_ids],
  );
  return rows.rows[0]?.level ?? AccessLevel.NO_ACCESS;
}

/**
 * The max access level of the user `u` (a placeholder) on project `p` in
 * namespace `n`: direct membership, membership of the project's group or an
 * ancestor, or Owner of the personal namespace. The one definition every
 * project access query uses.
 */
function projectAccessLevelSql(u: string): string {
  return `GREATEST(
         COALESCE((SELECT pm.access_level FROM project_members pm WHERE pm.project_id = p.id AND pm.user_id = ${u}), 0),
         COALESCE((SELECT max(gm.access_level) FROM group_members gm
                    WHERE n.kind = 'group' AND gm.user_id = ${u} AND gm.group_id = ANY(n.traversal_ids)), 0),
         CASE WHEN n.kind = 'user' AND n.owner_id = ${u} THEN ${AccessLevel.OWNER} ELSE 0 END)`;
}

/** Access levels of one user on many projects at once: Map<projectId, level>. */
export async function projectAccessLevels(ctx: AppContext, userId: number, projectIds: number[]): Promise<Map<number, number>> {
  if (projectIds.length === 0) return new Map();
  const rows = await ctx.pool.query<{ id: number; level: number }>(
    `SELECT p.id, ${projectAccessLevelSql('$1')} AS level
       FROM projects p JOIN namespaces n ON n.id = p.namespace_id
      WHERE p.id = ANY($2::int[])`,
    [userId, projectIds],
  );
  return new Map(rows.rows.map((r) => [r.id, r.level]));
}

/** Max access level of `userId` on one project. */
export async function projectAccessLevel(ctx: AppContext, userId: number, project: Pick<Project, 'id'>): Promise<number> {
  return (await projectAccessLevels(ctx, userId, [project.id])).get(project.id) ?? AccessLevel.NO_ACCESS;
}

async function rootGroupAllowsRegistrationToken(ctx: AppContext, ns: Namespace): Promise<boolean> {
  const rootId = ns.traversal_ids[0] ?? ns.id;
  if (rootId === ns.id) return ns.allow_runner_registration_token;
  const root = await ctx.prisma.namespace.findUnique({ where: { id: rootId }, select: { allow_runner_registration_token: true } });
  return root?.allow_runner_registration_token ?? true;
}

export async function loadGroupFacts(ctx: AppContext, actor: PolicyActor | null, group: Namespace): Promise<GroupFacts> {
  const settings = await getSettings(ctx);
  const [accessLevel, rootAllows, ancestorsDisabled] = await Promise.all([
    actor ? groupAccessLevel(ctx, actor.id, group) : Promise.resolve(0),
    rootGroupAllowsRegistrationToken(ctx, group),
    ctx.prisma.namespace.count({ where: { id: { in: group.traversal_ids }, runner_registration_enabled: false } }),
  ]);
  return {
    visibility: group.visibility as Visibility,
    accessLevel,
    registrationTokenAllowed: settings.allow_runner_registration_token && rootAllows,
    runnerRegistrationEnabled: ancestorsDisabled === 0 && settings.valid_runner_registrars.includes('group'),
  };
}

/** The facts of a project the caller has already read, as findProjectFor reads them (a project deleted since is a 404). */
export async function loadProjectFacts(ctx: AppContext, actor: PolicyActor | null, project: Pick<Project, 'id'>): Promise<ProjectFacts> {
  const found = await loadProjectWithFacts(ctx, actor, { id: project.id });
  if (!found) throw notFound('Project');
  return found.facts;
}

export async function findGroup(ctx: AppContext, id: NamespacedId): Promise<Namespace | null> {
  const where = 'id' in id ? { id: id.id } : { full_path: id.fullPath };
  const ns = await ctx.prisma.namespace.findFirst({ where: { ...where, kind: 'group' } });
  return ns;
}

// Every Namespace column, spelled out so the project lookup can return the
// namespace as typed columns (ns_*) next to p.*; `satisfies` fails the build
// when the model gains or loses a column.
const NAMESPACE_COLUMNS = Object.keys({
  id: true, kind: true, name: true, path: true, full_path: true, description: true, parent_id: true, traversal_ids: true,
  owner_id: true, visibility: true, shared_runners_enabled: true, allow_descendants_override_disabled_shared_runners: true,
  allow_runner_registration_token: true, runner_registration_enabled: true, runners_token_encrypted: true,
  runners_token_digest: true, runner_token_expiration_interval: true, subgroup_runner_token_expiration_interval: true,
  project_runner_token_expiration_interval: true, allow_stale_runner_pruning: true, created_at: true, updated_at: true,
} satisfies Record<keyof Namespace, true>) as (keyof Namespace)[];

/**
 * The project, its namespace and its ProjectFacts, in one statement: every
 * /projects/:id route starts here, and as separate queries (four through
 * Prisma) the lookup cost more than a runner page. The root group's
 * registration-token switch as in rootGroupAllowsRegistrationToken (which
 * groups still use).
 */
function projectLookupSql(by: 'id' | 'path'): string {
  return `SELECT p.*, ${NAMESPACE_COLUMNS.map((c) => `n.${c} AS ns_${c}`).join(', ')},
       CASE WHEN $2::int IS NULL THEN 0 ELSE ${projectAccessLevelSql('$2')} END AS facts_access_level,
       CASE WHEN n.kind = 'group' THEN COALESCE(
              (SELECT root.allow_runner_registration_token FROM namespaces root WHERE root.id = COALESCE(n.traversal_ids[1], n.id)), true)
            ELSE true END AS facts_root_allows,
       s.allow_runner_registration_token AS facts_settings_allow,
       s.valid_runner_registrars AS facts_settings_registrars
  FROM projects p
  JOIN namespaces n ON n.id = p.namespace_id
  LEFT JOIN application_settings s ON s.id = 1
 WHERE ${by === 'id' ? 'p.id = $1::int' : 'p.path_with_namespace = $1::text'}`;
}
export const PROJECT_BY_ID_SQL = projectLookupSql('id');
export const PROJECT_BY_PATH_SQL = projectLookupSql('path');

async function loadProjectWithFacts(
  ctx: AppContext,
  actor: PolicyActor | null,
  id: NamespacedId,
): Promise<{ project: ProjectWithNamespace; facts: ProjectFacts } | null> {
  const [text, key] = 'id' in id ? [PROJECT_BY_ID_SQL, id.id] : [PROJECT_BY_PATH_SQL, id.fullPath];
  const res = await queryPrepared<Record<string, unknown>>(ctx, { text, values: [key, actor?.id ?? null], generic: true });
  const row = res.rows[0];
  if (!row) return null;
  const project: Record<string, unknown> = {};
  const namespace: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('ns_')) namespace[k.slice(3)] = v;
    else if (!k.startsWith('facts_')) project[k] = v;
  }
  const withNamespace = { ...(project as Project), namespace: namespace as Namespace };
  // The settings row exists from bootstrap on; getSettings recreates it otherwise.
  const settings =
    row.facts_settings_allow === null
      ? await getSettings(ctx)
      : { allow_runner_registration_token: row.facts_settings_allow as boolean, valid_runner_registrars: row.facts_settings_registrars as string[] };
  return {
    project: withNamespace,
    facts: {
      visibility: withNamespace.visibility as Visibility,
      accessLevel: row.facts_access_level as number,
      registrationTokenAllowed: settings.allow_runner_registration_token && (row.facts_root_allows as boolean),
      runnerRegistrationEnabled: withNamespace.runner_registration_enabled && settings.valid_runner_registrars.includes('project'),
      archived: withNamespace.archived,
    },
  };
}

export interface Authorized<T> {
  subject: T;
  can: Set<NamespaceAbility>;
}

/**
 * GitLab's `user_group` / `find_group!`: 404 "Group Not Found" when the group
 * does not exist or the actor may not see it; then the abilities.
 */
export async function findGroupFor(ctx: AppContext, actor: PolicyActor | null, id: NamespacedId): Promise<Authorized<Namespace>> {
  const group = await findGroup(ctx, id);
  if (!group) throw notFound('Group');
  const can = groupAbilities(actor, await loadGroupFacts(ctx, actor, group));
  if (!can.has('read')) throw notFound('Group');
  return { subject: group, can };
}

export async function findProjectFor(ctx: AppContext, actor: PolicyActor | null, id: NamespacedId): Promise<Authorized<ProjectWithNamespace>> {
  const found = await loadProjectWithFacts(ctx, actor, id);
  if (!found) throw notFound('Project');
  const can = projectAbilities(actor, found.facts);
  if (!can.has('read')) throw notFound('Project');
  return { subject: found.project, can };
}

/** `authorize!(ability)`: 403 {"message":"403 Forbidden"} unless allowed. */
export function authorize<A extends string>(can: Set<A>, ability: A, reason?: string): void {
  if (!can.has(ability)) throw forbidden(reason);
}
