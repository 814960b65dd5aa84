import type { AppContext } from '../../context.js';
import { queryPrepared } from '../../db/prepared.js';
import type { Runner } from '../../generated/prisma/client.js';
import { forbidden, notFound } from '../../lib/errors.js';
import { AccessLevel, type PolicyActor } from '../../policies/access-levels.js';
import { runnerAbilities, type RunnerAbility, type RunnerFacts } from '../../policies/runner-policy.js';
import { groupAccessLevel, projectAccessLevels } from '../namespaces/access-service.js';
import { RUNNER_TYPE_IDS, RUNNER_TYPE_NAMES } from './runner-core.js';

// Loads the facts Ci::RunnerPolicy decides on (GitLab's app/policies) for one
// runner and one user; the pure policy in src/policies/runner-policy.ts
// turns them into abilities.

/** Where a runner belongs: its group, or its projects with the owner first-class. */
export interface RunnerOwnership {
  /** runner_projects, oldest assignment first. */
  projectIds: number[];
  /** runner.owner for project runners: Project(sharding_key_id), else the first-assigned project. */
  ownerProjectId: number | null;
  /** The group of a group runner. */
  groupId: number | null;
}

export interface RunnerAccess {
  runner: Runner;
  ownership: RunnerOwnership;
  can: Set<RunnerAbility>;
}

/** `get_runner`: 404 {"message":"404 Runner Not Found"} for an unknown id. */
export async function findRunner(ctx: AppContext, id: number): Promise<Runner> {
  const runner = await ctx.prisma.runner.findUnique({ where: { id } });
  if (!runner) throw notFound('Runner');
  return runner;
}

/**
 * RunnerOwnership as columns over `runners r`, for findRunnerFor and for
 * RunnerDetails' one statement alike. Each CASE evaluates only the branch of
 * the runner's own type.
 */
export const OWNERSHIP_COLUMNS = `
  CASE WHEN r.runner_type = ${RUNNER_TYPE_IDS.group_type} THEN COALESCE(
    (SELECT rn.namespace_id FROM runner_namespaces rn WHERE rn.runner_id = r.id), r.sharding_key_id) END AS group_ref,
  CASE WHEN r.runner_type = ${RUNNER_TYPE_IDS.project_type} THEN
    ARRAY(SELECT rp.project_id FROM runner_projects rp WHERE rp.runner_id = r.id ORDER BY rp.id) END AS project_ids,
  CASE WHEN r.runner_type = ${RUNNER_TYPE_IDS.project_type} THEN
    (SELECT op.id FROM projects op WHERE op.id = r.sharding_key_id) END AS owner_project_id`;

export interface OwnershipColumns {
  group_ref: number | null;
  project_ids: number[] | null;
  owner_project_id: number | null;
}

export function ownershipFrom(row: OwnershipColumns): RunnerOwnership {
  const projectIds = row.project_ids ?? [];
  return {
    projectIds,
    // runner.owner: Project(sharding_key_id) while it exists, else the first-assigned project.
    ownerProjectId: row.owner_project_id ?? projectIds[0] ?? null,
    groupId: row.group_ref,
  };
}

const OWNERSHIP_SQL = `SELECT ${OWNERSHIP_COLUMNS} FROM runners r WHERE r.id = $1`;

/** Where the runner belongs; a runner deleted meanwhile belongs nowhere. */
export async function loadOwnership(ctx: AppContext, runner: Pick<Runner, 'id'>): Promise<RunnerOwnership> {
  const res = await queryPrepared<OwnershipColumns>(ctx, { text: OWNERSHIP_SQL, values: [runner.id], generic: true });
  return ownershipFrom(res.rows[0] ?? { group_ref: null, project_ids: null, owner_project_id: null });
}

/** Group runners: is the user Maintainer+ of a project in the group (or below) that uses group runners? */
async function maintainsProjectUsingGroup(ctx: AppContext, userId: number, groupId: number): Promise<boolean> {
  const res = await ctx.pool.query<{ found: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM projects p JOIN namespaces n ON n.id = p.namespace_id
        WHERE p.group_runners_enabled AND n.traversal_ids @> ARRAY[$2::int]
          AND (EXISTS (SELECT 1 FROM project_members pm WHERE pm.project_id = p.id AND pm.user_id = $1 AND pm.access_level >= $3)
               OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = $1 AND gm.access_level >= $3 AND gm.group_id = ANY(n.traversal_ids)))
     ) AS found`,
    [userId, groupId, AccessLevel.MAINTAINER],
  );
  return res.rows[0]?.found ?? false;
}

export async function loadRunnerFacts(
  ctx: AppContext,
  actor: PolicyActor,
  runner: Pick<Runner, 'runner_type' | 'locked'>,
  own: RunnerOwnership,
): Promise<RunnerFacts> {
  const type = RUNNER_TYPE_NAMES[runner.runner_type]!;
  const facts: RunnerFacts = {
    type,
    locked: runner.locked,
    projectCount: own.projectIds.length,
    ownerGroupAccess: AccessLevel.NO_ACCESS,
    ownerProjectAccess: AccessLevel.NO_ACCESS,
    maxAssignedProjectAccess: AccessLevel.NO_ACCESS,
    maintainerOfProjectUsingGroup: false,
  };
  if (actor.admin) return facts; // the policy grants admins everything without looking
  if (type === 'group_type' && own.groupId !== null) {
    const group = await ctx.prisma.namespace.findUnique({ where: { id: own.groupId }, select: { traversal_ids: true } });
    if (group) {
      facts.ownerGroupAccess = await groupAccessLevel(ctx, actor.id, group);
      // Only decides anything for users below Maintainer of the group itself.
      if (facts.ownerGroupAccess < AccessLevel.MAINTAINER) {
        facts.maintainerOfProjectUsingGroup = await maintainsProjectUsingGroup(ctx, actor.id, own.groupId);
      }
    }
  }
  if (type === 'project_type') {
    const ids = [...new Set([...own.projectIds, ...(own.ownerProjectId !== null ? [own.ownerProjectId] : [])])];
    const levels = await projectAccessLevels(ctx, actor.id, ids);
    facts.ownerProjectAccess = own.ownerProjectId !== null ? (levels.get(own.ownerProjectId) ?? 0) : 0;
    if (own.ownerProjectId !== null) {
      const owner = await ctx.prisma.project.findUnique({ where: { id: own.ownerProjectId }, select: { archived: true } });
      facts.ownerArchived = owner?.archived ?? false;
    }
    facts.maxAssignedProjectAccess = Math.max(0, ...own.projectIds.map((id) => levels.get(id) ?? 0));
  }
  return facts;
}

/** The runner, where it belongs, and what the actor may do with it. 404 when it does not exist. */
export async function findRunnerFor(ctx: AppContext, actor: PolicyActor, id: number): Promise<RunnerAccess> {
  const runner = await findRunner(ctx, id);
  const ownership = await loadOwnership(ctx, runner);
  const can = runnerAbilities(actor, await loadRunnerFacts(ctx, actor, runner, ownership));
  return { runner, ownership, can };
}

/** `forbidden!("No access granted") unless can?(ability)`. */
export function authorizeRunner(access: Pick<RunnerAccess, 'can'>, ability: RunnerAbility): void {
  if (!access.can.has(ability)) throw forbidden('No access granted');
}
