import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import { apiError, forbidden, notFound } from '../../lib/errors.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import type { NamespaceAbility } from '../../policies/namespace-policy.js';
import { canUnassignRunner, runnerAbilities } from '../../policies/runner-policy.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import { authorize, projectAccessLevel } from '../namespaces/access-service.js';
import { findRunner, loadOwnership, loadRunnerFacts } from './runner-access-service.js';
import { RUNNER_TYPE_NAMES } from './runner-core.js';
import { checkUnmodifiedSince } from './runner-service.js';
import { withLockedRunner } from './runner-lock.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';
import { AUDIT_EVENTS, projectEntity, recordRunnerAuditEvents } from '../audit/audit-service.js';

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

  // Decided again under the runner's lock: a concurrent assign, unassign or
  // delete may have changed the runner since the checks above.
  await withLockedRunner(ctx, runner.id, async (sql, locked) => {
    if (locked.ownership.projectIds.includes(project.id)) throw apiError(400, `${ALREADY_ASSIGNED} - runner_error`);
    await sql.query('INSERT INTO runner_projects (runner_id, project_id) VALUES ($1, $2)', [runner.id, project.id]);
    const own = locked.ownership;
    // The owner project is gone: the runner now belongs to the oldest remaining assignment.
    const ownerExists = own.ownerProjectId !== null && own.ownerProjectId === locked.runner.sharding_key_id;
    if (!ownerExists) {
      await sql.query('UPDATE runners SET sharding_key_id = $2, updated_at = now() WHERE id = $1', [runner.id, own.projectIds[0] ?? project.id]);
    }
    // GitLab's AssignRunnerService audits under the project the runner was assigned to.
    await recordRunnerAuditEvents(sql, [runner.id], { eventName: AUDIT_EVENTS.runnerAssigned, message: 'Assigned CI runner to project', entity: projectEntity(project) });
  }).catch((err: unknown) => {
    // The project was deleted meanwhile (foreign key), or another instance inserted the same link.
    const code = (err as { code?: string }).code;
    if (code === '23505') throw apiError(400, `${ALREADY_ASSIGNED} - runner_error`);
    if (code === '23503') throw notFound('Project');
    throw err;
  });
  // The runner may now take this project's pending jobs.
  await runnersChanged(ctx, [runner.id]);
  return ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } }).catch(() => {
    throw notFound('Runner');
  });
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
  // The link and its runner in one statement: a runner deleted under this
  // request is simply not found (two reads could see the link but no runner).
  const found = await ctx.pool.query<Runner & { link_updated_at: Date }>(
    `SELECT r.*, rp.updated_at AS link_updated_at FROM runner_projects rp JOIN runners r ON r.id = rp.runner_id
      WHERE rp.runner_id = $1 AND rp.project_id = $2`,
    [runnerId, project.id],
  );
  const runner = found.rows[0];
  if (!runner) throw notFound('Runner');
  const ownership = await loadOwnership(ctx, runner);
  const isOwnerProject = ownership.ownerProjectId === project.id;
  if (!actor.admin) {
    if (runner.locked) throw forbidden('Runner is locked');
    const projectAccess = await projectAccessLevel(ctx, actor.id, project);
    const facts = { projectAccess, locked: runner.locked, isOwnerProject, projectArchived: project.archived };
    if (!canUnassignRunner(actor, facts)) throw forbidden('No access granted');
  }
  checkUnmodifiedSince(ifUnmodifiedSince, runner.link_updated_at);
  // UnassignRunnerService: what the policy refuses everyone, admins hear in words.
  if (isOwnerProject) throw forbidden('You cannot unassign a runner from the owner project. Delete the runner instead');
  if (project.archived) throw forbidden("User not allowed to manage project's runners");
  // Under the runner's lock: a concurrent unassign or delete may have won
  // since the lookup (this caller then gets the 404), or a concurrent change
  // may have made this project the owner or locked the runner.
  await withLockedRunner(ctx, runnerId, async (sql, locked) => {
    if (!locked.ownership.projectIds.includes(project.id)) throw notFound('Runner');
    if (locked.ownership.ownerProjectId === project.id) {
      throw forbidden('You cannot unassign a runner from the owner project. Delete the runner instead');
    }
    if (!actor.admin && locked.runner.locked) throw forbidden('Runner is locked');
    await sql.query('DELETE FROM runner_projects WHERE runner_id = $1 AND project_id = $2', [runnerId, project.id]);
    await recordRunnerAuditEvents(sql, [runnerId], { eventName: AUDIT_EVENTS.runnerUnassigned, message: 'Unassigned CI runner from project', entity: projectEntity(project) });
  });
  await runnersChanged(ctx, [runnerId]);
}
