import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import { apiError, forbidden, notFound } from '../../lib/errors.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import type { NamespaceAbility } from '../../policies/namespace-policy.js';
import { canUnassignRunner, runnerAbilities } from '../../policies/runner-policy.js';
import { authorize, projectAccessLevel, type ProjectWithNamespace } from '../namespaces/access-service.js';
import { findRunner, loadOwnership, loadRunnerFacts } from './runner-access-service.js';
import { RUNNER_TYPE_NAMES } from './runner-core.js';
import { checkUnmodifiedSince } from './runner-service.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';

// Assigning an existing project runner to another project and taking it
// away again (docs.gitlab.com/api/runners). The project was already found
// and `read_runners` checked by the caller (the routes' before-block).

/** GitLab's message when the runner_projects uniqueness validation fails. */
const ALREADY_ASSIGNED = 'Validation failed: Runner projects runner has already been taken';

/**
 * POST /projects/:id/runners, in GitLab's order: create_runners on the
 * project → runner exists → not a group runner → (admins skip) not locked
 * and `assign_runner` → AssignRunnerService.
 */
export async function assignRunner(
  ctx: AppContext,
  actor: PolicyActor,
  project: ProjectWithNamespace,
  projectCan: Set<NamespaceAbility>,
  runnerId: number,
): Promise<Runner> {
  authorize(projectCan, 'create_runners');
  const runner = await findRunner(ctx, runnerId);
  const type = RUNNER_TYPE_NAMES[runner.runner_type];
  if (type === 'group_type') throw forbidden('Runner is a group runner');
  const ownership = await loadOwnership(ctx, runner);
  if (actor.admin) {
    // GitLab's assign_to raises (a 500) for an instance runner; refuse it plainly.
    if (type === 'instance_type') throw forbidden('Runner is an instance runner');
  } else {
    if (runner.locked) throw forbidden('Runner is locked');
    const can = runnerAbilities(actor, await loadRunnerFacts(ctx, actor, runner, ownership));
    if (!can.has('assign_runner')) throw forbidden('No access granted');
  }
  if (ownership.projectIds.includes(project.id)) throw apiError(400, `${ALREADY_ASSIGNED} - runner_error`);

  const ownerExists = ownership.ownerProjectId !== null && ownership.ownerProjectId === runner.sharding_key_id;
  try {
    await ctx.prisma.$transaction([
      ctx.prisma.runnerProject.create({ data: { runner_id: runner.id, project_id: project.id } }),
      // The owner project is gone: the runner now belongs to the oldest remaining assignment.
      ...(ownerExists ? [] : [ctx.prisma.runner.update({ where: { id: runner.id }, data: { sharding_key_id: ownership.projectIds[0] ?? project.id } })]),
    ]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'P2002') throw apiError(400, `${ALREADY_ASSIGNED} - runner_error`);
    // The runner was deleted by a concurrent request since the lookup.
    if (code === 'P2003' || code === 'P2025') throw notFound('Runner');
    throw err;
  }
  // The runner may now take this project's pending jobs.
  await runnersChanged(ctx, [runner.id]);
  return ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
}

/**
 * DELETE /projects/:id/runners/:runner_id: the runner must be assigned to
 * this project (else 404 Runner); non-admins need an unlocked runner and
 * Maintainer+ here, and nobody can unassign the owner project.
 */
export async function unassignRunner(
  ctx: AppContext,
  actor: PolicyActor,
  project: ProjectWithNamespace,
  runnerId: number,
  ifUnmodifiedSince: string | undefined,
): Promise<void> {
  const link = await ctx.prisma.runnerProject.findUnique({
    where: { runner_id_project_id: { runner_id: runnerId, project_id: project.id } },
    include: { runner: true },
  });
  if (!link) throw notFound('Runner');
  const ownership = await loadOwnership(ctx, link.runner);
  const isOwnerProject = ownership.ownerProjectId === project.id;
  if (!actor.admin) {
    if (link.runner.locked) throw forbidden('Runner is locked');
    const projectAccess = await projectAccessLevel(ctx, actor.id, project);
    const facts = { projectAccess, locked: link.runner.locked, isOwnerProject, projectArchived: project.archived };
    if (!canUnassignRunner(actor, facts)) throw forbidden('No access granted');
  }
  checkUnmodifiedSince(ifUnmodifiedSince, link.updated_at);
  // UnassignRunnerService: what the policy refuses everyone, admins hear in words.
  if (isOwnerProject) throw forbidden('You cannot unassign a runner from the owner project. Delete the runner instead');
  if (project.archived) throw forbidden("User not allowed to manage project's runners");
  // A concurrent unassign may have won since the lookup: this caller then gets the 404.
  const { count } = await ctx.prisma.runnerProject.deleteMany({ where: { id: link.id } });
  await runnersChanged(ctx, [runnerId]);
  if (count === 0) throw notFound('Runner');
}
