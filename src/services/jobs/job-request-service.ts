import type { AppContext } from '../../context.js';
import type { AssignedJob } from '../../domain/assigned-job.js';
import type { JobOptions, PipelineConfig } from '../../domain/ci-job.js';
import type { Runner } from '../../generated/prisma/client.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { newJobToken } from '../../lib/tokens.js';
import { processPipeline } from '../pipelines/pipeline-processing.js';
import { withTransaction } from '../pipelines/transaction.js';
import { authenticatePoll, pollingManagerId, type PolledRunner, type RunnerInfo } from '../runner-auth/runner-auth-service.js';
import { runnerCache } from '../runner-cache/runner-cache.js';
import { newQueueValue } from '../runner-cache/runner-token-cache.js';
import { RUNNER_TYPE_IDS } from '../runners/runner-core.js';
import { claimJob, type ClaimedRow } from './job-claim.js';
import { runnerMatcher } from './job-matching.js';
import { runnerQueues } from './runner-queue.js';

// POST /jobs/request (GitLab's lib/api/ci/runner.rb): authenticate and heartbeat the
// runner, then hand out the oldest pending job it may take. The job is locked
// with FOR UPDATE SKIP LOCKED, so runners polling at the same moment never
// get the same job, and marked running at once (GitLab's legacy flow; the
// runner's later `PUT state=running` is a touch).
//
// Most polls find nothing, and those are answered from memory: the runner
// cache (src/services/runner-cache) knows the runner and remembers at which
// pending-job epoch the database last had nothing for it. Only when the
// epoch moved on (a job was queued somewhere, a project's runner settings
// changed) does a poll read the database, and then in one statement: the
// hand-out (src/services/jobs/job-claim.ts), which checks the cached runner
// against its stored row, takes the job and reads its payload, or says
// whether anything is pending for the runner at all. A runner the cache does
// not know is read first (runner + manager + "anything pending for it?"),
// and the hand-out runs only when that says yes. So a runner busy with a
// backlog costs one statement per job.

export interface JobRequestInput {
  token: string;
  last_update?: string;
  system_id?: string;
  info?: RunnerInfo;
}

export type JobRequestResult = { kind: 'job'; job: AssignedJob } | { kind: 'none'; lastUpdate: string };

/** `reread`: the runner was just found changed behind the cache's back and evicted: no second retry. */
export async function requestJob(ctx: AppContext, input: JobRequestInput, ipAddress: string, reread = false): Promise<JobRequestResult> {
  const cache = runnerCache(ctx).runners;
  const polled = await authenticatePoll(ctx, input.token, { systemId: input.system_id, info: input.info, ipAddress, finishCreation: true });
  const { runner, entry } = polled;
  appMetrics(ctx).runnerAuthenticated(runner.runner_type);
  if (!runner.active) {
    // A paused runner's "idle" value is never kept: once it is unpaused, the
    // value it holds is stale and its next poll looks at the database. Its
    // own value lives as long as the cache entry, which unpausing evicts.
    if (!entry) return { kind: 'none', lastUpdate: newQueueValue() };
    entry.idle = null;
    return { kind: 'none', lastUpdate: (entry.pausedValue ??= newQueueValue()) };
  }
  const idle = entry ? cache.idleValue(entry) : undefined;
  if (idle !== undefined) {
    if (input.last_update !== idle) return { kind: 'none', lastUpdate: idle };
    // GitLab's long polling (Workhorse): hold a poll whose value is current
    // until it changes or the hold ends. Stay clear of the server's
    // idle-connection timeout, which would cut a longer hold.
    const holdMs = Math.min(ctx.config.JOB_REQUEST_LONG_POLL_SECONDS * 1000, ctx.config.REQUEST_TIMEOUT_MS - 5000);
    const deadline = Date.now() + holdMs;
    const unchanged = () => cache.isCurrent(entry!) && cache.idleValue(entry!) === idle;
    // Wake-ups are shared by all held polls: one that concerns another runner just resumes the wait.
    while (unchanged() && Date.now() < deadline && !cache.closed) await cache.waitForChange(deadline - Date.now());
    if (unchanged()) return { kind: 'none', lastUpdate: idle };
    // Something changed during the hold: look again (and authenticate again: the change may be a revoked token).
    return requestJob(ctx, { ...input, last_update: undefined }, ipAddress);
  }
  // Read from the database just now with nothing pending for it.
  const rememberIdle = () => ({ kind: 'none' as const, lastUpdate: entry ? cache.rememberIdle(entry, polled.epochBeforeQuery) : newQueueValue() });
  if (polled.pendingJob === false) return rememberIdle();
  const handout = await assignJob(ctx, polled);
  switch (handout.kind) {
    case 'job':
      return { kind: 'job', job: handout.job };
    case 'nothing-pending':
      return rememberIdle();
    case 'none':
      // No "idle" memo: the candidates were locked by concurrent polls (whose
      // transactions may still roll back) or dropped.
      return { kind: 'none', lastUpdate: newQueueValue() };
    case 'stale':
      // The runner changed and the cache has not heard yet: forget it and
      // poll again, reading it from the database.
      cache.evictRunners([polled.runner.id]);
      if (reread) return { kind: 'none', lastUpdate: newQueueValue() };
      return requestJob(ctx, input, ipAddress, true);
  }
}

/** Attempts one poll makes before giving up: each candidate that cannot run (archived project, held by another transaction) costs one. */
const MAX_PICK_ATTEMPTS = 10;

/** GitLab's bucketed count of a project's jobs running on instance runners ("+Inf" for other runner types). */
function instanceRunnersCount(runner: Runner, running: number): string {
  if (runner.runner_type !== RUNNER_TYPE_IDS.instance_type) return '+Inf';
  return running >= 5 ? '5+' : String(running);
}

/**
 * GitLab's pre-assign check: a job of an archived project is dropped, not
 * run. True when it was dropped here (not meanwhile by someone else).
 */
async function dropArchivedJob(ctx: AppContext, jobId: number): Promise<boolean> {
  return withTransaction(ctx, async (sql) => {
    const { rows } = await sql.query<{ pipeline_id: number }>(
      `UPDATE jobs SET status = 'failed', failure_reason = 'archived_failure', finished_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'pending' AND runner_id IS NULL
       RETURNING pipeline_id`,
      [jobId],
    );
    if (!rows[0]) return false;
    await processPipeline(sql, rows[0].pipeline_id);
    return true;
  });
}

/** What a hand-out came to: a job; nothing pending for the runner at all; nothing it could take now; or a runner the cache has wrong. */
type Handout = { kind: 'job'; job: AssignedJob } | { kind: 'nothing-pending' } | { kind: 'none' } | { kind: 'stale' };

async function assignJob(ctx: AppContext, polled: PolledRunner): Promise<Handout> {
  const { runner } = polled;
  // The job row references the manager: make sure it exists before the hand-out.
  const managerId = await pollingManagerId(ctx, polled);
  const token = newJobToken();
  const claimant = {
    runnerId: runner.id,
    runnerTokenDigest: runner.token_digest,
    description: runner.description,
    managerId,
    tokenDigest: ctx.secrets.digest(token),
    maximumTimeout: runner.maximum_timeout,
  };
  const passedOver: number[] = [];
  let droppedAny = false;
  try {
    for (let attempt = 0; attempt < MAX_PICK_ATTEMPTS; attempt++) {
      const matcher = runnerMatcher(runner, polled.groupId, passedOver);
      const outcome = await claimJob(ctx, matcher, claimant);
      switch (outcome.kind) {
        case 'stale':
          return outcome;
        case 'none':
          // Only the first attempt's answer is about everything pending: later ones exclude the jobs passed over.
          return attempt === 0 && !outcome.anyPending ? { kind: 'nothing-pending' } : { kind: 'none' };
        case 'busy':
          passedOver.push(outcome.candidateId);
          continue;
        case 'archived':
          droppedAny = (await dropArchivedJob(ctx, outcome.candidateId)) || droppedAny;
          passedOver.push(outcome.candidateId);
          continue;
        case 'taken':
          return { kind: 'job', job: assignedJob(outcome.row, token, runner) };
      }
    }
    return { kind: 'none' };
  } finally {
    // Dropping a job may have queued the next stage of its pipeline.
    if (droppedAny) runnerQueues(ctx).tickAll();
  }
}

function assignedJob(row: ClaimedRow, token: string, runner: Runner): AssignedJob {
  return {
    job: {
      id: row.id,
      name: row.name,
      stage: row.stage,
      protected: row.protected,
      user_id: row.user_id,
      created_at: row.created_at,
      queued_at: row.queued_at,
      started_at: row.started_at,
    },
    token,
    timeout: row.timeout,
    options: (row.options ?? {}) as JobOptions,
    pipeline: {
      id: row.pipeline_id,
      iid: row.pipeline_iid,
      ref: row.pipeline_ref,
      sha: row.pipeline_sha,
      before_sha: row.pipeline_before_sha,
      tag: row.pipeline_tag,
      source: row.pipeline_source,
      created_at: row.pipeline_created_at,
    },
    pipelineConfig: (row.pipeline_config ?? { stages: [], variables: [], pipeline_variables: [] }) as PipelineConfig,
    project: {
      id: row.project_id,
      name: row.project_name,
      path: row.project_path,
      path_with_namespace: row.project_path_with_namespace,
      description: row.project_description,
      visibility: row.project_visibility,
      default_branch: row.project_default_branch,
    },
    namespace: { id: row.namespace_id, full_path: row.namespace_full_path },
    rootNamespace: { id: row.root_namespace_id, path: row.root_namespace_path },
    user: row.user_id === null || row.user_username === null ? null : { id: row.user_id, username: row.user_username, name: row.user_name!, email: row.user_email! },
    runner,
    queueSize: row.queue_size,
    instanceRunnersCount: instanceRunnersCount(runner, row.instance_running),
  };
}
