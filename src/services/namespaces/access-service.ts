import type { AppContext } from '../../context.js';
import type { Namespace, Project } from '../../generated/prisma/client.js';
import { AccessLevel, type PolicyActor, type Visibility } from '../../policies/access-levels.js';
import { groupAbilities, projectAbilities, type GroupFacts, type NamespaceAbility, type ProjectFacts } from '../../policies/namespace-policy.js';
import { forbidden, notFound } from '../../lib/errors.js';
import type { NamespacedId } from '../../schemas/common.js';
import { getSettings } from '../settings/settings-service.js';

// Loads the facts the pure namespace policy decides on: membership levels
// (inherited down the group tree through traversal_ids), visibility and the
// registration switches. Also the one place that resolves `:id` of
// /groups/:id and /projects/:id.

export type ProjectWithNamespace = Project & { namespace: Namespace };

/** Max access level of `userId` on a group, counting memberships of its ancestors. */
export async function groupAccessLevel(ctx: AppContext, userId: number, group: Pick<Namespace, 'traversal_ids'>): Promise<number> {
  const rows = await ctx.pool.query<{ level: number | null }>(
    'SELECT max(access_level) AS level FROM group_members WHERE user_id = $1 AND group_id = ANY($2::int[])',
    [userId, group.traversal_ids],
  );
  return rows.rows[0]?.level ?? AccessLevel.NO_ACCESS;
}

/** Max access level on a project: direct membership, inherited group membership, or owner of the personal namespace. */
export async function projectAccessLevel(ctx: AppContext, userId: number, project: ProjectWithNamespace): Promise<number> {
  if (project.namespace.kind === 'user' && project.namespace.owner_id === userId) return AccessLevel.OWNER;
  const rows = await ctx.pool.query<{ level: number | null }>(
    `SELECT max(level) AS level FROM (
       SELECT access_level AS level FROM project_members WHERE user_id = $1 AND project_id = $2
       UNION ALL
       SELECT access_level FROM group_members WHERE user_id = $1 AND group_id = ANY($3::int[])
     ) levels`,
    [userId, project.id, project.namespace.kind === 'group' ? project.namespace.traversal_ids : []],
  );
  return rows.rows[0]?.level ?? AccessLevel.NO_ACCESS;
}

/** Access levels of one user on many projects at once: Map<projectId, level>. */
export async function projectAccessLevels(ctx: AppContext, userId: number, projectIds: number[]): Promise<Map<number, number>> {
  if (projectIds.length === 0) return new Map();
  const rows = await ctx.pool.query<{ id: number; level: number }>(
    `SELECT p.id, GREATEST(
        COALESCE((SELECT access_level FROM project_members pm WHERE pm.project_id = p.id AND pm.user_id = $1), 0),
        COALESCE((SELECT max(gm.access_level) FROM group_members gm WHERE gm.user_id = $1 AND gm.group_id = ANY(n.traversal_ids) AND n.kind = 'group'), 0),
        CASE WHEN n.kind = 'user' AND n.owner_id = $1 THEN 50 ELSE 0 END
      ) AS level
     FROM projects p JOIN namespaces n ON n.id = p.namespace_id
     WHERE p.id = ANY($2::int[])`,
    [userId, projectIds],
  );
  return new Map(rows.rows.map((r) => [r.id, r.level]));
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

export async function loadProjectFacts(ctx: AppContext, actor: PolicyActor | null, project: ProjectWithNamespace): Promise<ProjectFacts> {
  const settings = await getSettings(ctx);
  const [accessLevel, rootAllows] = await Promise.all([
    actor ? projectAccessLevel(ctx, actor.id, project) : Promise.resolve(0),
    project.namespace.kind === 'group' ? rootGroupAllowsRegistrationToken(ctx, project.namespace) : Promise.resolve(true),
  ]);
  return {
    visibility: project.visibility as Visibility,
    accessLevel,
    registrationTokenAllowed: settings.allow_runner_registration_token && rootAllows,
    runnerRegistrationEnabled: project.runner_registration_enabled && settings.valid_runner_registrars.includes('project'),
    archived: project.archived,
  };
}

export async function findGroup(ctx: AppContext, id: NamespacedId): Promise<Namespace | null> {
  const where = 'id' in id ? { id: id.id } : { full_path: id.fullPath };
  const ns = await ctx.prisma.namespace.findFirst({ where: { ...where, kind: 'group' } });
  return ns;
}

export async function findProject(ctx: AppContext, id: NamespacedId): Promise<ProjectWithNamespace | null> {
  const where = 'id' in id ? { id: id.id } : { path_with_namespace: id.fullPath };
  return ctx.prisma.project.findFirst({ where, include: { namespace: true } });
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
  const project = await findProject(ctx, id);
  if (!project) throw notFound('Project');
  const can = projectAbilities(actor, await loadProjectFacts(ctx, actor, project));
  if (!can.has('read')) throw notFound('Project');
  return { subject: project, can };
}

/** `authorize!(ability)`: 403 {"message":"403 Forbidden"} unless allowed. */
export function authorize<A extends string>(can: Set<A>, ability: A, reason?: string): void {
  if (!can.has(ability)) throw forbidden(reason);
}
