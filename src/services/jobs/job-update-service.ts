import zlib from 'node:zlib';
import type { AppContext } from '../../context.js';
import type { Job } from '../../generated/prisma/client.js';
import { ApiError, forbidden } from '../../lib/errors.js';
import { secureCompare } from '../../lib/tokens.js';
import { FAILURE_REASONS } from '../../domain/failure-reasons.js';
import { withTransaction, type Sql } from '../pipelines/transaction.js';
import { runnerCache } from '../runner-cache/runner-cache.js';
import { afterCommit, PROCESSING_STATUSES, transitionJob, transitionJobNow } from './job-state.js';
import { traceUpdateInterval } from './trace-watch.js';

// PUT /jobs/:id and PATCH /jobs/:id/trace (GitLab's lib/api/ci/runner.rb), both
// authenticated by the job token the runner got with the job. The token only
// works while the job is running: afterwards every call is a 403 carrying
// `Job-Status`, which tells the runner to stop.

/** trace_checksum while the runner was asked (412) to send the whole log again. */
const RESEND_REQUESTED = 'resend-requested';

/**
 * Touch a running job's updated_at at most this often (GitLab: 15 minutes),
 * and always well within STUCK_JOB_TIMEOUT_SECONDS, so that a runner that
 * only sends keep-alive PUTs is never taken for a dead one.
 */
const touchIntervalSeconds = (ctx: AppContext) => Math.max(1, Math.min(15 * 60, Math.floor(ctx.config.STUCK_JOB_TIMEOUT_SECONDS / 4)));
/** Heartbeats from PUT/PATCH write contacted_at at most this often; status needs only minute precision. */
const HEARTBEAT_INTERVAL = '30 seconds';

/** `authenticate_job!`: the job, if `token` is its token and it is running. */
export async function authenticateJob(ctx: AppContext, jobId: number, token: string | undefined, ipAddress: string): Promise<Job> {
  if (!token) throw forbidden();
  const job = await ctx.prisma.job.findUnique({ where: { id: jobId } });
  if (!job || !job.token_digest || !secureCompare(job.token_digest, ctx.secrets.digest(token))) throw forbidden();
  // `canceling` too: the runner is still working, and learns of the cancel from the Job-Status header.
  if (!(PROCESSING_STATUSES as readonly string[]).includes(job.status)) {
    throw new ApiError(403, { message: '403 Forbidden - Job is not processing on runner' }, { 'job-status': job.status });
  }
  await heartbeatJobRunner(ctx, job, ipAddress);
  return job;
}

/**
 * `job.runner.heartbeat` + `job.runner_manager.heartbeat(ip_address)`,
 * coalesced: a runner streaming a log calls this every few seconds, and
 * contacted_at only needs to be right to the minute (README, Performance design).
 */
async function heartbeatJobRunner(ctx: AppContext, job: Job, ipAddress: string): Promise<void> {
  if (job.runner_id) {
    await ctx.pool.query(
      `UPDATE runners SET contacted_at = now() WHERE id = $1 AND (contacted_at IS NULL OR contacted_at < now() - $2::interval)`,
      [job.runner_id, HEARTBEAT_INTERVAL],
    );
  }
  if (job.runner_manager_id) {
    const { rowCount } = await ctx.pool.query(
      `UPDATE runner_managers SET contacted_at = now(), ip_address = $3
       WHERE id = $1 AND (contacted_at IS NULL OR contacted_at < now() - $2::interval OR ip_address IS DISTINCT FROM $3)`,
      [job.runner_manager_id, HEARTBEAT_INTERVAL, ipAddress],
    );
    // The poll path compares a poll's details with what it believes is stored
    // (src/services/runner-cache/manager-details.ts): after this write, the
    // next poll compares again and writes its own address if it differs.
    if (rowCount && job.runner_id) runnerCache(ctx).runners.managerAddressWritten(job.runner_id, job.runner_manager_id, ipAddress);
  }
}

export interface JobUpdateInput {
  state?: string;
  failure_reason?: string;
  exit_code?: number;
  checksum?: string;
  output?: { checksum?: string; bytesize?: number };
}

export interface JobUpdateResult {
  status: 200 | 400 | 412;
  /** The job's status after the update, for the Job-Status header. */
  jobStatus: string;
}

/** "crc32:1a2b3c4d" (the runner pads to 8 digits since 15.x, older ones did not) → number. */
function parseChecksum(checksum: string | undefined): number | undefined {
  const m = /^crc32:([0-9a-f]{1,8})$/i.exec(checksum ?? '');
  return m ? parseInt(m[1]!, 16) : undefined;
}

async function storedTraceCrc(sql: Sql, jobId: number): Promise<number> {
  const { rows } = await sql.query<{ trace: Buffer | null }>('SELECT trace FROM jobs WHERE id = $1', [jobId]);
  return zlib.crc32(rows[0]?.trace ?? Buffer.alloc(0));
}

/**
 * Ci::UpdateBuildStateService. `running` is a touch; `success`/`failed`
 * finish the job and move its pipeline on. When the final update's checksum
 * does not match the stored log, the runner is answered 412 once, which makes
 * it send the whole log again from offset 0; a second mismatch is accepted
 * as it is, so a job can never get stuck.
 */
export async function updateJob(ctx: AppContext, job: Job, input: JobUpdateInput): Promise<JobUpdateResult> {
  const state = input.state ?? '';
  if (state === 'running') {
    await ctx.pool.query(
      `UPDATE jobs SET updated_at = now() WHERE id = $1 AND status = ANY($3::text[]) AND updated_at < now() - make_interval(secs => $2)`,
      [job.id, touchIntervalSeconds(ctx), PROCESSING_STATUSES],
    );
    return { status: 200, jobStatus: job.status };
  }
  if (state !== 'success' && state !== 'failed') return { status: 400, jobStatus: job.status };

  const checksum = input.output?.checksum ?? input.checksum;
  const remoteCrc = parseChecksum(checksum);
  const failureReason = state === 'failed' ? normalizeFailureReason(input.failure_reason) : null;

  const outcome = await withTransaction(ctx, async (sql) => {
    const { rows } = await sql.query<{ status: string; trace_checksum: string | null }>(
      'SELECT status, trace_checksum FROM jobs WHERE id = $1 FOR UPDATE',
      [job.id],
    );
    const current = rows[0];
    if (!current || !(PROCESSING_STATUSES as readonly string[]).includes(current.status)) {
      return { kind: 'gone' as const, status: current?.status ?? job.status };
    }
    if (remoteCrc !== undefined && current.trace_checksum !== RESEND_REQUESTED && (await storedTraceCrc(sql, job.id)) !== remoteCrc) {
      await sql.query('UPDATE jobs SET trace_checksum = $2 WHERE id = $1', [job.id, RESEND_REQUESTED]);
      return { kind: 'resend' as const };
    }
    // A job being canceled ends canceled, whatever the runner reports: it acknowledged the cancel.
    const change =
      current.status === 'canceling'
        ? { to: 'canceled' as const, traceChecksum: checksum ?? null }
        : { to: state as 'success' | 'failed', failureReason, exitCode: state === 'failed' ? (input.exit_code ?? null) : null, traceChecksum: checksum ?? null };
    const result = await transitionJob(sql, job.id, PROCESSING_STATUSES, change);
    return { kind: 'finished' as const, queued: result.queued, status: result.status ?? change.to };
  });

  if (outcome.kind === 'gone') {
    throw new ApiError(403, { message: '403 Forbidden - Job is not processing on runner' }, { 'job-status': outcome.status });
  }
  if (outcome.kind === 'resend') return { status: 412, jobStatus: job.status };
  afterCommit(ctx, outcome);
  return { status: 200, jobStatus: outcome.status };
}

/** Ci::BuildPendingState.failure_reasons.fetch(reason, 'unknown_failure'). */
function normalizeFailureReason(reason: string | undefined): string {
  if (!reason) return 'unknown_failure';
  return (FAILURE_REASONS as readonly string[]).includes(reason) ? reason : 'unknown_failure';
}

export type TraceAppendResult =
  | { kind: 'appended'; size: number; jobStatus: string; updateInterval: number }
  | { kind: 'range-mismatch'; size: number; jobStatus: string }
  | { kind: 'size-exceeded' };

/** The `start` of "start-end"; GitLab reads only that (the runner's end is off by one). */
export function contentRangeStart(header: string): number {
  const start = Number.parseInt(header.split('-')[0] ?? '', 10);
  return Number.isFinite(start) && start >= 0 ? start : 0;
}

/**
 * Ci::AppendBuildTraceService: the chunk is appended only if it starts
 * exactly where the stored log ends (checked in the same UPDATE), otherwise
 * nothing is written and the caller answers 416 with the stored size. A log
 * that would outgrow JOB_TRACE_SIZE_LIMIT drops the job.
 */
export async function appendTrace(ctx: AppContext, job: Job, start: number, chunk: Buffer): Promise<TraceAppendResult> {
  if (start + chunk.length > ctx.config.JOB_TRACE_SIZE_LIMIT) {
    await transitionJobNow(ctx, job.id, PROCESSING_STATUSES, { to: 'failed', failureReason: 'trace_size_exceeded' });
    return { kind: 'size-exceeded' };
  }

  const appended = await ctx.pool.query<{ size: number; status: string }>(
    `UPDATE jobs SET trace = COALESCE(trace, ''::bytea) || $3::bytea, updated_at = now()
     WHERE id = $1 AND status = ANY($4::text[]) AND octet_length(COALESCE(trace, ''::bytea)) = $2
     RETURNING octet_length(trace) AS size, status`,
    [job.id, start, chunk, PROCESSING_STATUSES],
  );
  if (appended.rows[0]) {
    const { size, status } = appended.rows[0];
    return { kind: 'appended', size, jobStatus: status, updateInterval: traceUpdateInterval(job.id) };
  }

  // After a 412 the runner re-sends its whole log from 0: replace the stored one.
  if (start === 0) {
    const replaced = await ctx.pool.query<{ size: number; status: string }>(
      `UPDATE jobs SET trace = $2::bytea, updated_at = now()
       WHERE id = $1 AND status = ANY($4::text[]) AND trace_checksum = $3
       RETURNING octet_length(trace) AS size, status`,
      [job.id, chunk, RESEND_REQUESTED, PROCESSING_STATUSES],
    );
    if (replaced.rows[0]) {
      const { size, status } = replaced.rows[0];
      return { kind: 'appended', size, jobStatus: status, updateInterval: traceUpdateInterval(job.id) };
    }
  }

  const { rows } = await ctx.pool.query<{ size: number; status: string }>(
    `SELECT octet_length(COALESCE(trace, ''::bytea)) AS size, status FROM jobs WHERE id = $1`,
    [job.id],
  );
  const row = rows[0];
  if (!row || !(PROCESSING_STATUSES as readonly string[]).includes(row.status)) {
    throw new ApiError(403, { message: '403 Forbidden - Job is not processing on runner' }, { 'job-status': row?.status ?? job.status });
  }
  return { kind: 'range-mismatch', size: row.size, jobStatus: row.status };
}
