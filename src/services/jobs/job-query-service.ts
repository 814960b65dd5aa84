import type { AppContext } from '../../context.js';
import type { Pipeline, Runner, RunnerManager, User } from '../../generated/prisma/client.js';
import { apiError } from '../../lib/errors.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import { executingManagerIds, loadProjectViews, loadRunnerExtras } from '../runners/runner-view-service.js';
import type { JobRow, ProjectJobRelations } from '../../domain/job.js';

// Reads behind GET /projects/:id/jobs, /jobs/:job_id, /jobs/:job_id/trace
// and /pipelines/:pipeline_id/jobs, with every related row a page of
// Entities::Ci::Job needs loaded in one query per kind.

/** ActiveRecord::RecordNotFound as GitLab's API renders it. */
const recordNotFound = () => apiError(404, '404 Not found');

export interface JobScope {
  projectId: number;
  pipelineId?: number;
  statuses?: string[];
}

const jobWhere = (s: JobScope) => ({
  project_id: s.projectId,
  ...(s.pipelineId !== undefined ? { pipeline_id: s.pipelineId } : {}),
  ...(s.statuses?.length ? { status: { in: s.statuses } } : {}),
});

export async function countJobs(ctx: AppContext, scope: JobScope, limit: number): Promise<number> {
  const rows = await ctx.prisma.job.findMany({ where: jobWhere(scope), select: { id: true }, take: limit });
  return rows.length;
}

/** `trace` is left out: a page of jobs never needs the logs. */
const JOB_COLUMNS = {
  id: true, project_id: true, pipeline_id: true, name: true, stage: true, stage_idx: true, status: true, ref: true,
  tag: true, protected: true, tag_list: true, allow_failure: true, options: true, timeout: true, user_id: true,
  runner_id: true, runner_manager_id: true, token_digest: true, failure_reason: true, exit_code: true, coverage: true,
  trace_checksum: true, created_at: true, updated_at: true, queued_at: true, started_at: true, finished_at: true, erased_at: true,
} as const;

/** Newest first, as GitLab's `builds.order(id: :desc)`. */
export function listJobs(ctx: AppContext, scope: JobScope, offset: number, limit: number): Promise<JobRow[]> {
  return ctx.prisma.job.findMany({ where: jobWhere(scope), select: JOB_COLUMNS, orderBy: { id: 'desc' }, skip: offset, take: limit });
}

export async function findProjectJob(ctx: AppContext, projectId: number, jobId: number): Promise<JobRow> {
  const job = await ctx.prisma.job.findFirst({ where: { id: jobId, project_id: projectId }, select: JOB_COLUMNS });
  if (!job) throw recordNotFound();
  return job;
}

/** The stored log as bytes (empty when nothing was sent yet). */
export async function readTrace(ctx: AppContext, projectId: number, jobId: number): Promise<Buffer> {
  const job = await ctx.prisma.job.findFirst({ where: { id: jobId, project_id: projectId }, select: { trace: true } });
  if (!job) throw recordNotFound();
  return job.trace ? Buffer.from(job.trace) : Buffer.alloc(0);
}

/**
 * Everything Entities::Ci::Job shows besides the job row, for a page of jobs
 * of one project. `showManagers`: the reader may see runner managers.
 */
export async function loadJobRelations(
  ctx: AppContext,
  actor: PolicyActor,
  project: ProjectWithNamespace,
  jobs: JobRow[],
  showManagers: boolean,
): Promise<Map<number, ProjectJobRelations>> {
  const ids = <K extends keyof JobRow>(key: K) => [...new Set(jobs.map((j) => j[key]).filter((v): v is NonNullable<JobRow[K]> => v !== null))] as number[];
  const [[view], users, pipelines, runners, managers] = await Promise.all([
    loadProjectViews(ctx, actor, [project]),
    ctx.prisma.user.findMany({ where: { id: { in: ids('user_id') } } }),
    ctx.prisma.pipeline.findMany({ where: { id: { in: ids('pipeline_id') } } }),
    ctx.prisma.runner.findMany({ where: { id: { in: ids('runner_id') } } }),
    showManagers ? ctx.prisma.runnerManager.findMany({ where: { id: { in: ids('runner_manager_id') } } }) : Promise.resolve([] as RunnerManager[]),
  ]);
  const [runnerExtras, busyManagers] = await Promise.all([loadRunnerExtras(ctx, runners), executingManagerIds(ctx, managers)]);
  const byId = <T extends { id: number }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
  const userMap = byId<User>(users);
  const pipelineMap = byId<Pipeline>(pipelines);
  const runnerMap = byId<Runner>(runners);
  const managerMap = byId<RunnerManager>(managers);
  return new Map(
    jobs.map((job) => {
      const runner = job.runner_id !== null ? runnerMap.get(job.runner_id) : undefined;
      const manager = job.runner_manager_id !== null ? managerMap.get(job.runner_manager_id) : undefined;
      return [
        job.id,
        {
          user: job.user_id !== null ? (userMap.get(job.user_id) ?? null) : null,
          pipeline: pipelineMap.get(job.pipeline_id)!,
          project: view!,
          runner: runner ? { runner, extras: runnerExtras.get(runner.id)! } : null,
          manager: showManagers ? (manager ? { manager, executing: busyManagers.has(manager.id) } : null) : undefined,
        },
      ];
    }),
  );
}
