import type { AppContext } from '../../context.js';
import type { Runner, RunnerManager, User } from '../../generated/prisma/client.js';
import { AccessLevel, type PolicyActor } from '../../policies/access-levels.js';
import { canReadCode } from '../../policies/namespace-policy.js';
import type { ProjectView, ProjectWithNamespace } from '../../domain/project.js';
import type { RunnerExtras, RunnerListItem } from '../../domain/runner-view.js';
import { projectAccessLevels } from '../namespaces/access-service.js';
import { EXECUTING_JOB_STATUSES } from './runner-core.js';

// Batch loaders for what the runner, manager and project entities show
// beyond their own row: one query per kind of data for a whole page, never
// one per item.

/** Creators and job_execution_status for a page of runners. */
export async function loadRunnerExtras(ctx: AppContext, runners: Runner[]): Promise<Map<number, RunnerExtras>> {
  const ids = runners.map((r) => r.id);
  const creatorIds = [...new Set(runners.map((r) => r.creator_id).filter((id): id is number => id !== null))];
  const [creators, executing] = await Promise.all([
    creatorIds.length ? ctx.prisma.user.findMany({ where: { id: { in: creatorIds } } }) : Promise.resolve([] as User[]),
    ids.length
      ? ctx.pool.query<{ runner_id: number }>(
          'SELECT DISTINCT runner_id FROM jobs WHERE runner_id = ANY($1::int[]) AND status = ANY($2::text[])',
          [ids, EXECUTING_JOB_STATUSES],
        )
      : Promise.resolve({ rows: [] as { runner_id: number }[] }),
  ]);
  const byId = new Map(creators.map((u) => [u.id, u]));
  const busy = new Set(executing.rows.map((r) => r.runner_id));
  return new Map(
    runners.map((r) => [r.id, { creator: r.creator_id !== null ? (byId.get(r.creator_id) ?? null) : null, executing: busy.has(r.id) }]),
  );
}

/** Ids of the managers among `managers` that run a job right now. */
export async function executingManagerIds(ctx: AppContext, managers: RunnerManager[]): Promise<Set<number>> {
  if (managers.length === 0) return new Set();
  const res = await ctx.pool.query<{ id: number }>(
    'SELECT DISTINCT runner_manager_id AS id FROM jobs WHERE runner_manager_id = ANY($1::int[]) AND status = ANY($2::text[])',
    [managers.map((m) => m.id), EXECUTING_JOB_STATUSES],
  );
  return new Set(res.rows.map((r) => r.id));
}

/**
 * Project entities for a reader: the names of each namespace chain (for
 * "Group / Sub / Project") and whether the reader may read code (admin, a
 * public or internal project, or Reporter+).
 */
export async function loadProjectViews(ctx: AppContext, actor: PolicyActor, projects: ProjectWithNamespace[]): Promise<ProjectView[]> {
  if (projects.length === 0) return [];
  const ancestorIds = [...new Set(projects.flatMap((p) => p.namespace.traversal_ids))];
  const [ancestors, levels] = await Promise.all([
    ctx.prisma.namespace.findMany({ where: { id: { in: ancestorIds } }, select: { id: true, name: true } }),
    actor.admin ? Promise.resolve(new Map<number, number>()) : projectAccessLevels(ctx, actor.id, projects.map((p) => p.id)),
  ]);
  const names = new Map(ancestors.map((a) => [a.id, a.name]));
  return projects.map((p) => ({
    project: p,
    names,
    readCode: canReadCode(actor, p.visibility, levels.get(p.id) ?? AccessLevel.NO_ACCESS),
  }));
}

/** Runners as list items (what Entities::Ci::Runner shows), with creators and execution status batch-loaded. */
export async function runnerListItems(ctx: AppContext, runners: Runner[]): Promise<RunnerListItem[]> {
  const extras = await loadRunnerExtras(ctx, runners);
  return runners.map((runner) => ({ runner, extras: extras.get(runner.id)! }));
}
