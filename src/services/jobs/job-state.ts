import type { AppContext } from '../../context.js';
import { processPipeline } from '../pipelines/pipeline-processing.js';
import { withTransaction, type Sql } from '../pipelines/transaction.js';
import { runnerQueues } from './runner-queue.js';

// The one place that moves a job from one status to another once it is out
// of the queue (finish, drop, cancel), with the side effects every such move
// needs: timestamps, the pipeline moving on (next stage queued or skipped,
// pipeline status), and, after the commit, the runners' queues ticked when
// jobs were queued. Whoever writes (the runner's PUT, the trace size limit,
// the stuck-job sweeper, the cancel API) goes through here, so job and
// pipeline states, and anything kept in step with job status, stay
// consistent.

/** Statuses in which a runner is working on the job (it may send PUT / PATCH trace). */
export const PROCESSING_STATUSES = ['running', 'canceling'] as const;
export const FINISHED_JOB_STATUSES = ['success', 'failed', 'canceled', 'skipped'] as const;

export interface JobChange {
  to: 'success' | 'failed' | 'canceled' | 'canceling';
  failureReason?: string | null;
  exitCode?: number | null;
  traceChecksum?: string | null;
}

export interface TransitionResult {
  /** False when the job was not in one of the `from` statuses (someone else moved it first). */
  changed: boolean;
  /** The job's status after the call. */
  status: string | undefined;
  /** Jobs queued by the pipeline moving on. */
  queued: number;
}

/**
 * Moves job `jobId` to `change.to` if (and only if) it is in one of `from`,
 * inside the caller's transaction. Finishing statuses stamp finished_at and
 * move the pipeline on. Call `afterCommit` with the result once committed.
 */
export async function transitionJob(sql: Sql, jobId: number, from: readonly string[], change: JobChange): Promise<TransitionResult> {
  const finishing = change.to !== 'canceling';
  const { rows } = await sql.query<{ pipeline_id: number; status: string }>(
    `UPDATE jobs SET status = $3,
            failure_reason = CASE WHEN $3 = 'failed' THEN $4 ELSE NULL END,
            exit_code = CASE WHEN $3 = 'failed' THEN $5::int ELSE exit_code END,
            trace_checksum = COALESCE($6, trace_checksum),
            finished_at = CASE WHEN $7 THEN now() ELSE finished_at END,
            updated_at = now()
      WHERE id = $1 AND status = ANY($2::text[])
      RETURNING pipeline_id, status`,
    [jobId, from, change.to, change.failureReason ?? null, change.exitCode ?? null, change.traceChecksum ?? null, finishing],
  );
  const row = rows[0];
  if (!row) {
    const current = await sql.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [jobId]);
    return { changed: false, status: current.rows[0]?.status, queued: 0 };
  }
  const { queued } = await processPipeline(sql, row.pipeline_id);
  return { changed: true, status: row.status, queued };
}

/** What must happen once a transition is committed. */
export function afterCommit(ctx: AppContext, result: Pick<TransitionResult, 'queued'>): void {
  if (result.queued > 0) runnerQueues(ctx).tickAll();
}

/** transitionJob in a transaction of its own. */
export async function transitionJobNow(ctx: AppContext, jobId: number, from: readonly string[], change: JobChange): Promise<TransitionResult> {
  const result = await withTransaction(ctx, (sql) => transitionJob(sql, jobId, from, change));
  afterCommit(ctx, result);
  return result;
}
