import type { AppContext } from '../../context.js';
import { findProjectJob } from './job-query-service.js';
import { transitionJobNow } from './job-state.js';

// POST /projects/:id/jobs/:job_id/cancel (GitLab's Jobs API, `build.cancel`).
// A job no runner has yet is canceled at once. A running job whose runner
// cancels gracefully (it announced `cancel_gracefully`, as every current
// gitlab-runner does) becomes `canceling`: the runner reads `Job-Status:
// canceling` on its next trace PATCH or PUT, runs after_script, and its
// final PUT makes the job `canceled`. Other runners' jobs are canceled at
// once; such a runner reads `Job-Status: canceled` (a 403) and aborts.
// A finished job is left as it is (GitLab answers with it unchanged).

/** Statuses `build.cancel` takes straight to canceled. */
const CANCELABLE_AT_ONCE = ['created', 'waiting_for_resource', 'preparing', 'pending', 'manual', 'scheduled'];

async function cancelsGracefully(ctx: AppContext, runnerManagerId: number | null): Promise<boolean> {
  if (runnerManagerId === null) return false;
  const res = await ctx.pool.query<{ graceful: boolean | null }>(
    `SELECT (runtime_features ->> 'cancel_gracefully')::boolean AS graceful FROM runner_managers WHERE id = $1`,
    [runnerManagerId],
  );
  return res.rows[0]?.graceful === true;
}

export async function cancelJob(ctx: AppContext, projectId: number, jobId: number): Promise<void> {
  const job = await findProjectJob(ctx, projectId, jobId);
  if (CANCELABLE_AT_ONCE.includes(job.status)) {
    const r = await transitionJobNow(ctx, job.id, CANCELABLE_AT_ONCE, { to: 'canceled' });
    // A runner took it meanwhile: cancel it as a running job.
    if (r.changed || r.status !== 'running') return;
  } else if (job.status !== 'running') {
    return;
  }
  const graceful = await cancelsGracefully(ctx, job.runner_manager_id);
  await transitionJobNow(ctx, job.id, ['running'], { to: graceful ? 'canceling' : 'canceled' });
}
