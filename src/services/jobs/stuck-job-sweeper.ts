import type { AppContext } from '../../context.js';
import { transitionJobNow } from './job-state.js';

// GitLab's StuckCiJobsWorker and timed-out-builds service: jobs that can no
// longer finish by themselves are failed, so runners' job_execution_status
// and pipelines never stay "running" forever. Run by one leader across
// instances (src/services/background/leader.ts); each job moves through the
// job-state module with a conditional update, so a runner's own final PUT
// racing the sweeper leaves exactly one winner.

/** Jobs handled per category and sweep: a backlog is worked off over several sweeps. */
const BATCH = 200;

export interface SweepResult {
  /** Running (or canceling) jobs whose runner stopped sending updates. */
  stale: number;
  /** Running jobs past their own timeout. */
  timedOut: number;
  /** Pending jobs no runner took in time. */
  pendingTooLong: number;
}

async function ids(ctx: AppContext, sql: string, values: unknown[]): Promise<number[]> {
  const res = await ctx.pool.query<{ id: number }>(sql, values);
  return res.rows.map((r) => r.id);
}

export async function sweepStuckJobs(ctx: AppContext): Promise<SweepResult> {
  const result: SweepResult = { stale: 0, timedOut: 0, pendingTooLong: 0 };

  // Past its own timeout (the effective one fixed when a runner took it:
  // the job's or project's, capped by the runner's maximum_timeout).
  for (const id of await ids(
    ctx,
    `SELECT id FROM jobs WHERE status = 'running' AND timeout IS NOT NULL AND started_at IS NOT NULL
        AND started_at + make_interval(secs => timeout) < now() ORDER BY id LIMIT $1`,
    [BATCH],
  )) {
    const r = await transitionJobNow(ctx, id, ['running'], { to: 'failed', failureReason: 'job_execution_timeout' });
    if (r.changed) result.timedOut++;
  }

  // No PUT or trace PATCH for STUCK_JOB_TIMEOUT_SECONDS: the runner is gone.
  // A job already being canceled is simply canceled.
  for (const row of (
    await ctx.pool.query<{ id: number; status: string }>(
      `SELECT id, status FROM jobs WHERE status IN ('running', 'canceling') AND updated_at < now() - make_interval(secs => $1)
        ORDER BY id LIMIT $2`,
      [ctx.config.STUCK_JOB_TIMEOUT_SECONDS, BATCH],
    )
  ).rows) {
    const r =
      row.status === 'canceling'
        ? await transitionJobNow(ctx, row.id, ['canceling'], { to: 'canceled' })
        : await transitionJobNow(ctx, row.id, ['running'], { to: 'failed', failureReason: 'stuck_or_timeout_failure' });
    if (r.changed) result.stale++;
  }

  // Pending for PENDING_JOB_TIMEOUT_SECONDS: no runner was able to take it.
  for (const id of await ids(
    ctx,
    `SELECT id FROM jobs WHERE status = 'pending' AND COALESCE(queued_at, created_at) < now() - make_interval(secs => $1)
      ORDER BY id LIMIT $2`,
    [ctx.config.PENDING_JOB_TIMEOUT_SECONDS, BATCH],
  )) {
    const r = await transitionJobNow(ctx, id, ['pending'], { to: 'failed', failureReason: 'stuck_or_timeout_failure' });
    if (r.changed) result.pendingTooLong++;
  }

  if (result.stale + result.timedOut + result.pendingTooLong > 0) ctx.log.info({ swept: result }, 'stuck jobs failed');
  return result;
}
