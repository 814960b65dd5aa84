import type { AppContext } from '../../context.js';
import type { JobRelations, JobRow } from '../../domain/job.js';
import type { Pipeline, User } from '../../generated/prisma/client.js';
import { ApiError } from '../../lib/errors.js';
import { decodeIdCursor, type PageSource } from '../../lib/pagination.js';
import { AccessLevel, type PolicyActor } from '../../policies/access-levels.js';
import type { RunnerJobsQuery } from '../../schemas/runners.js';
import { authorizeRunner, findRunnerFor, type RunnerAccess } from './runner-access-service.js';
import { projectsWithAccessSql, Sql } from './runner-queries.js';
import { loadProjectViews } from './runner-view-service.js';

// GET /runners/:id/jobs (docs.gitlab.com/api/runners): Ci::RunnerJobsFinder with
// offset or keyset pagination.

const JOB_COLUMNS = `j.id, j.project_id, j.pipeline_id, j.name, j.stage, j.stage_idx, j.status, j.ref, j.tag, j.protected,
  j.tag_list, j.allow_failure, j.options, j.timeout, j.user_id, j.runner_id, j.runner_manager_id, j.token_digest,
  j.failure_reason, j.exit_code, j.coverage, j.trace_checksum, j.created_at, j.updated_at, j.queued_at, j.started_at,
  j.finished_at, j.erased_at`;

/** `authenticate_list_runners_jobs!`: admins, else `read_builds`. */
export async function findRunnerForJobs(ctx: AppContext, actor: PolicyActor, id: number): Promise<RunnerAccess> {
  const access = await findRunnerFor(ctx, actor, id);
  if (!actor.admin) authorizeRunner(access, 'read_builds');
  return access;
}

/** The finder's WHERE clause: runner, manager (system_id), status, and Reporter+ visibility for non-admins. */
async function jobsWhere(ctx: AppContext, actor: PolicyActor, runnerId: number, q: RunnerJobsQuery, sql: Sql): Promise<string> {
  const where = [`j.runner_id = ${sql.p(runnerId)}`];
  if (q.system_id) {
    const manager = await ctx.prisma.runnerManager.findUnique({
      where: { runner_id_system_xid: { runner_id: runnerId, system_xid: q.system_id } },
      select: { id: true },
    });
    // An unknown system_id is not an error: the list is just empty.
    where.push(manager ? `j.runner_manager_id = ${sql.p(manager.id)}` : 'FALSE');
  }
  if (q.status) where.push(`j.status = ${sql.p(q.status)}`);
  if (!actor.admin) where.push(`j.project_id IN (${projectsWithAccessSql(sql, actor.id, AccessLevel.REPORTER)})`);
  return where.join(' AND ');
}

/**
 * Offset mode. The finder orders only when `order_by=id` is given (then by
 * `sort`, default desc); otherwise the paginator's id ASC applies. With a
 * system_id GitLab skips the count.
 */
export function runnerJobsSource(ctx: AppContext, actor: PolicyActor, runnerId: number, q: RunnerJobsQuery): { source: PageSource<JobRow>; skipCount: boolean } {
  const direction = q.order_by === 'id' && q.sort === 'asc' ? 'ASC' : q.order_by === 'id' ? 'DESC' : 'ASC';
  return {
    skipCount: !!q.system_id,
    source: {
      count: async (limit) => {
        const sql = new Sql();
        const where = await jobsWhere(ctx, actor, runnerId, q, sql);
        const res = await ctx.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT 1 FROM jobs j WHERE ${where} LIMIT ${sql.p(limit)}) capped`,
          sql.params,
        );
        return res.rows[0]?.n ?? 0;
      },
      items: async (offset, limit) => {
        const sql = new Sql();
        const where = await jobsWhere(ctx, actor, runnerId, q, sql);
        const res = await ctx.pool.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM jobs j WHERE ${where} ORDER BY j.id ${direction} LIMIT ${sql.p(limit)} OFFSET ${sql.p(offset)}`,
          sql.params,
        );
        return res.rows;
      },
    },
  };
}

/**
 * Keyset mode (`pagination=keyset`): jobs support only `order_by=id`,
 * `sort=desc`, as GitLab's CursorBasedKeyset; anything else → 405.
 * Returns up to `per_page + 1` rows past the cursor; the route's keysetPage
 * makes the page and its rel="next" link from them.
 */
export async function keysetRunnerJobs(
  ctx: AppContext,
  actor: PolicyActor,
  runnerId: number,
  q: RunnerJobsQuery,
): Promise<JobRow[]> {
  if (q.sort !== 'desc') throw new ApiError(405, { error: 'Keyset pagination is not yet available for this type of request' });
  const sql = new Sql();
  let where = await jobsWhere(ctx, actor, runnerId, q, sql);
  if (q.cursor !== undefined && q.cursor !== '') where += ` AND j.id < ${sql.p(decodeIdCursor(q.cursor))}`;
  const res = await ctx.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs j WHERE ${where} ORDER BY j.id DESC LIMIT ${sql.p(q.per_page + 1)}`, sql.params);
  return res.rows;
}

/** What JobBasicWithProject shows besides each job row, by job id: users, pipelines and projects loaded once per page. */
export async function loadRunnerJobRelations(ctx: AppContext, actor: PolicyActor, jobs: JobRow[]): Promise<Map<number, JobRelations>> {
  if (jobs.length === 0) return new Map();
  const userIds = [...new Set(jobs.map((j) => j.user_id).filter((id): id is number => id !== null))];
  const [users, pipelines, projects] = await Promise.all([
    userIds.length ? ctx.prisma.user.findMany({ where: { id: { in: userIds } } }) : Promise.resolve([] as User[]),
    ctx.prisma.pipeline.findMany({ where: { id: { in: [...new Set(jobs.map((j) => j.pipeline_id))] } } }),
    ctx.prisma.project.findMany({ where: { id: { in: [...new Set(jobs.map((j) => j.project_id))] } }, include: { namespace: true } }),
  ]);
  const views = await loadProjectViews(ctx, actor, projects);
  const userById = new Map(users.map((u) => [u.id, u]));
  const pipelineById = new Map<number, Pipeline>(pipelines.map((p) => [p.id, p]));
  const viewById = new Map(views.map((v) => [v.project.id, v]));
  return new Map(
    jobs.map((job) => [
      job.id,
      { user: job.user_id !== null ? (userById.get(job.user_id) ?? null) : null, pipeline: pipelineById.get(job.pipeline_id)!, project: viewById.get(job.project_id)! },
    ]),
  );
}
