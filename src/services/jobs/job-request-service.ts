import type { AppContext } from '../../context.js';
import type { Namespace, Runner, User } from '../../generated/prisma/client.js';
import { newJobToken } from '../../lib/tokens.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { authenticatePoll, pollingManagerId, type PolledRunner, type RunnerInfo } from '../runner-auth/runner-auth-service.js';
import { RUNNER_TYPE_IDS } from '../runners/runner-core.js';
import { processPipeline } from '../pipelines/pipeline-processing.js';
import type { JobOptions, PipelineConfig } from '../pipelines/pipeline-service.js';
import { withTransaction, type Sql } from '../pipelines/transaction.js';
import { runnerCache } from '../runner-cache/runner-cache.js';
import { newQueueValue } from '../runner-cache/runner-token-cache.js';
import { runnerMatcher, type RunnerMatcher } from './job-matching.js';
import { queryPreparedOn } from '../../db/prepared.js';
import { runnerQueues } from './runner-queue.js';
import type { AssignedJob } from '../../presenters/job-request-response.js';

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
// changed) or the runner changed does a poll read the database, and then in
// one statement (runner + manager + "anything pending for it?"); the
// hand-out transaction runs only when that says yes.

export interface JobRequestInput {
  token: string;
  last_update?: string;
  system_id?: string;
  info?: RunnerInfo;
}

export type JobRequestResult = { kind: 'job'; job: AssignedJob } | { kind: 'none'; lastUpdate: string };

/** Candidates one poll looks at before giving up; each one that cannot run (archived project) is dropped on the way. */
const MAX_PICK_ATTEMPTS = 10;

export async function requestJob(ctx: AppContext, input: JobRequestInput, ipAddress: string): Promise<JobRequestResult> {
  const cache = runnerCache(ctx).runners;
  const polled = await authenticatePoll(
    ctx,
    input.token,
    { systemId: input.system_id, info: input.info, ipAddress, finishCreation: true },
    { refreshUnlessIdle: true },
  );
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
  if (!polled.pendingJob) {
    return { kind: 'none', lastUpdate: entry ? cache.rememberIdle(entry, polled.epochBeforeQuery) : newQueueValue() };
  }
  const assigned = await assignJob(ctx, polled);
  // No "idle" memo here: the candidates were locked by concurrent polls (whose
  // transactions may still roll back) or dropped.
  if (!assigned) return { kind: 'none', lastUpdate: newQueueValue() };
  return { kind: 'job', job: await loadAssignedJob(ctx, assigned, runner) };
}

interface Assignment {
  jobId: number;
  token: string;
  timeout: number;
  queueSize: number;
  instanceRunnersCount: string;
}

interface CandidateRow {
  id: number;
  pipeline_id: number;
  project_id: number;
  options: JobOptions | null;
  archived: boolean;
  build_timeout: number;
  instance_running: number;
  queue_size: number;
}

const LOCK_PENDING_SQL = 'SELECT build_id FROM ci_pending_builds WHERE build_id = $1 FOR UPDATE SKIP LOCKED';

/** GitLab's bucketed count of a project's jobs running on instance runners ("+Inf" for other runner types). */
function instanceRunnersCount(runner: Runner, running: number): string {
  if (runner.runner_type !== RUNNER_TYPE_IDS.instance_type) return '+Inf';
  return running >= 5 ? '5+' : String(running);
}

/**
 * The runner's next job, locked in the queue (FOR UPDATE SKIP LOCKED: runners
 * polling at the same moment never get the same job). `exclude`: candidates
 * this transaction already locked and gave up on.
 */
async function nextCandidate(sql: Sql, matcher: RunnerMatcher, exclude: number[]): Promise<number | null> {
  const { rows } = await queryPreparedOn<{ build_id: number; level: number; head: number }>(sql, matcher.next(exclude));
  const found = rows[0];
  if (!found) return null;
  if (!matcher.olderAtSameLevel || found.build_id === found.head) return found.build_id;
  // The runner could not take its project's oldest job: an older one for it may wait in another project at the same level.
  const older = await queryPreparedOn<{ build_id: number | null }>(sql, matcher.olderAtSameLevel(exclude, found.level, found.build_id));
  const olderId = older.rows[0]?.build_id;
  if (olderId == null) return found.build_id;
  const locked = await queryPreparedOn(sql, { text: LOCK_PENDING_SQL, values: [olderId], generic: false });
  return locked.rowCount ? olderId : found.build_id;
}

async function assignJob(ctx: AppContext, polled: PolledRunner): Promise<Assignment | null> {
  const { runner } = polled;
  const matcher = runnerMatcher(runner, polled.groupId);
  // The job row references the manager: make sure it exists before the transaction.
  const runnerManagerId = await pollingManagerId(ctx, polled);
  const result = await withTransaction(ctx, async (sql) => {
    const finishedPipelines: number[] = [];
    const passedOver: number[] = [];
    for (let attempt = 0; attempt < MAX_PICK_ATTEMPTS; attempt++) {
      const candidateId = await nextCandidate(sql, matcher, passedOver);
      if (candidateId === null) return { assignment: null, finishedPipelines };
      // The job row itself: skipped when another transaction holds it (a
      // cancel or a sweeper changing its status), never waited for.
      const { rows } = await queryPreparedOn<CandidateRow>(sql, matcher.candidate(passedOver, candidateId));
      const job = rows[0];
      if (!job) {
        passedOver.push(candidateId);
        continue;
      }
      if (job.archived) {
        // GitLab's pre-assign check: a job of an archived project is dropped, not run.
        await sql.query(
          `UPDATE jobs SET status = 'failed', failure_reason = 'archived_failure', finished_at = now(), updated_at = now() WHERE id = $1`,
          [job.id],
        );
        await processPipeline(sql, job.pipeline_id);
        finishedPipelines.push(job.pipeline_id);
        continue;
      }
      const jobTimeout = job.options?.timeout ?? job.build_timeout;
      const timeout = runner.maximum_timeout ? Math.min(jobTimeout, runner.maximum_timeout) : jobTimeout;
      const token = newJobToken();
      await sql.query(
        `UPDATE jobs SET status = 'running', runner_id = $2, runner_manager_id = $3, started_at = now(),
           token_digest = $4, timeout = $5, trace = NULL, trace_checksum = NULL, updated_at = now()
         WHERE id = $1`,
        [job.id, runner.id, runnerManagerId, ctx.secrets.digest(token), timeout],
      );
      await processPipeline(sql, job.pipeline_id);
      return {
        // queue_size: the runner's matching pending jobs (this one included), up to a cap.
        assignment: { jobId: job.id, token, timeout, queueSize: job.queue_size, instanceRunnersCount: instanceRunnersCount(runner, job.instance_running) },
        finishedPipelines,
      };
    }
    return { assignment: null, finishedPipelines };
  });
  // Dropping a job may have queued the next stage of its pipeline.
  if (result.finishedPipelines.length) runnerQueues(ctx).tickAll();
  return result.assignment;
}

async function loadAssignedJob(ctx: AppContext, a: Assignment, runner: Runner): Promise<AssignedJob> {
  const job = await ctx.prisma.job.findUniqueOrThrow({
    where: { id: a.jobId },
    include: { pipeline: true, project: { include: { namespace: true } } },
  });
  const namespace = job.project.namespace;
  const rootId = namespace.traversal_ids[0] ?? namespace.id;
  const [root, user] = await Promise.all([
    rootId === namespace.id ? Promise.resolve<Namespace | null>(namespace) : ctx.prisma.namespace.findUnique({ where: { id: rootId } }),
    job.user_id ? ctx.prisma.user.findUnique({ where: { id: job.user_id } }) : Promise.resolve<User | null>(null),
  ]);
  return {
    job,
    token: a.token,
    timeout: a.timeout,
    options: (job.options ?? {}) as unknown as JobOptions,
    pipeline: job.pipeline,
    pipelineConfig: (job.pipeline.config ?? { stages: [], variables: [], pipeline_variables: [] }) as unknown as PipelineConfig,
    project: job.project,
    namespace,
    rootNamespace: root ?? namespace,
    user,
    runner,
    queueSize: a.queueSize,
    instanceRunnersCount: a.instanceRunnersCount,
  };
}
