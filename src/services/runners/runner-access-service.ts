import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import { forbidden, notFound } from '../../lib/errors.js';
import { AccessLevel, type PolicyActor } from '../../policies/access-levels.js';
import { runnerAbilities, type RunnerAbility, type RunnerFacts } from '../../policies/runner-policy.js';
import { groupAccessLevel, projectAccessLevels } from '../namespaces/access-service.js';
import { RUNNER_TYPE_NAMES } from './runner-core.js';

// Loads the facts Ci::RunnerPolicy decides on (runners-api.md §3) for one
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

export async function loadOwnership(ctx: AppContext, runner: Runner): Promise<RunnerOwnership> {
  const type = RUNNER_TYPE_NAMES[runner.runner_type];
  if (type === 'group_type') {
    const link = await ctx.prisma.runnerNamespace.findUnique({ where: { runner_id: runner.id } });
    return { projectIds: [], ownerProjectId: null, groupId: link?.namespace_id ?? runner.sharding_key_id };
  }
  if (type === 'project_type') {
    const links = await ctx.prisma.runnerProject.findMany({ where: { runner_id: runner.id }, orderBy: { id: 'asc' }, select: { project_id: true } });
    const projectIds = links.map((l) => l.project_id);
    let ownerProjectId = projectIds[0] ?? null;
    if (runner.sharding_key_id !== null) {
      const owner = await ctx.prisma.project.findUnique({ where: { id: runner.sharding_key_id }, select: { id: true } });
      if (owner) ownerProjectId = owner.id;
    }
    return { projectIds, ownerProjectId, groupId: null };
  }
  return { projectIds: [], ownerProjectId: null, groupId: null };
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
