import type { AppContext } from '../../context.js';
import type { Runner, RunnerManager } from '../../generated/prisma/client.js';
import { appMetrics } from '../../lib/metrics/app-metrics.js';
import { apiError, forbidden } from '../../lib/errors.js';
import { CREATION_STATE, RUNNER_TYPE_IDS } from '../runners/runner-core.js';
import {
  changesStored,
  detailsFromRequest,
  detailsFromRow,
  mergeDetails,
  sameRequest,
  type RunnerInfo,
  type StoredManagerDetails,
} from '../runner-cache/manager-details.js';
import { runnerCache } from '../runner-cache/runner-cache.js';
import type { CachedRunner } from '../runner-cache/runner-token-cache.js';
import { loadPollRow, type PollRow } from './poll-loader.js';

export { EXECUTOR_TYPES, type RunnerInfo } from '../runner-cache/manager-details.js';

// `authenticate_runner!` (GitLab's lib/api/ci/runner.rb): find the runner by the body
// `token` (expired tokens are not found → 403), then heartbeat the runner and
// the runner manager for `system_id` (or '<legacy>').
//
// Two flavours:
//  - authenticateRunner / heartbeatRunner (verify, reset_authentication_token):
//    straight to the database, the manager is written before the answer.
//  - authenticatePoll (jobs/request, the hot path): from the runner cache when
//    possible. A plain contact is coalesced; a manager this instance has not
//    written yet, changed details, a first contact or a finished creation are
//    written before the answer (batched with concurrent polls).

export const LEGACY_SYSTEM_XID = '<legacy>';

/** A stored contacted_at older than this is refreshed at once, so `online` never lags (threshold: 2 h). */
const STALE_CONTACT_MS = 60 * 60 * 1000;
/** A manager's plain contact is queued for writing once its stored contact is this old (≤ this + one flush behind). */
export const CONTACT_REWRITE_MS = 45_000;

const isExpired = (runner: Pick<Runner, 'token_expires_at'>, now = Date.now()) =>
  runner.token_expires_at !== null && runner.token_expires_at.getTime() < now;

/** The runner for a runner token, or 403 {"message":"403 Forbidden"} (unknown, empty or expired). */
export async function findRunnerByToken(ctx: AppContext, token: string | undefined): Promise<Runner> {
  if (!token) throw forbidden();
  const { rows } = await ctx.pool.query<Runner>('SELECT * FROM runners WHERE token_digest = $1', [ctx.secrets.digest(token)]);
  const runner = rows[0];
  if (!runner || isExpired(runner)) throw forbidden();
  appMetrics(ctx).runnerAuthenticated(runner.runner_type);
  return runner;
}

/**
 * GitLab raises UnknownRunnerOwnerError for a group or project runner whose
 * owner is gone (its group or every project was deleted); verify turns that
 * into 422 {"message":"Runner is orphaned"}.
 */
export async function assertRunnerHasOwner(ctx: AppContext, runner: Runner): Promise<void> {
  if (runner.runner_type === RUNNER_TYPE_IDS.instance_type) return;
  const owners =
    runner.runner_type === RUNNER_TYPE_IDS.group_type
      ? await ctx.prisma.runnerNamespace.count({ where: { runner_id: runner.id } })
      : await ctx.prisma.runnerProject.count({ where: { runner_id: runner.id } });
  if (owners === 0) throw apiError(422, 'Runner is orphaned');
}

export interface HeartbeatDetails {
  systemId?: string | null;
  info?: RunnerInfo;
  ipAddress?: string;
  /** Only jobs/request marks the runner's creation as finished. */
  finishCreation?: boolean;
}

/**
 * Ci::Runner#heartbeat + ensure_manager + RunnerManager#heartbeat, as one SQL
 * statement: it is atomic, survives any number of concurrent heartbeats of the
 * same new manager (ON CONFLICT instead of find-or-create), and finds nothing
 * to heartbeat if the runner was deleted meanwhile (→ 403, like a bad token).
 * Like GitLab's update_columns it does not bump runners.updated_at, which
 * DELETE's If-Unmodified-Since compares against.
 */
export async function heartbeatRunner(ctx: AppContext, runner: Runner, details: HeartbeatDetails): Promise<RunnerManager> {
  const now = new Date();
  const systemXid = details.systemId || LEGACY_SYSTEM_XID;
  const m = detailsFromRequest(details.info, details.ipAddress);
  const { rows } = await ctx.pool.query<RunnerManager>(
    `WITH touched AS (
       UPDATE runners SET contacted_at = GREATEST(contacted_at, $3),
         creation_state = CASE WHEN $4::boolean THEN $5::int ELSE creation_state END
       WHERE id = $1 RETURNING id
     )
     INSERT INTO runner_managers AS rm
       (runner_id, system_xid, version, revision, platform, architecture, executor_type, ip_address,
        config, runtime_features, labels, contacted_at, creation_state, created_at, updated_at)
     SELECT touched.id, $2, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb, $3, $5, $3, $3 FROM touched
     ON CONFLICT (runner_id, system_xid) DO UPDATE SET
       version = COALESCE(EXCLUDED.version, rm.version),
       revision = COALESCE(EXCLUDED.revision, rm.revision),
       platform = COALESCE(EXCLUDED.platform, rm.platform),
       architecture = COALESCE(EXCLUDED.architecture, rm.architecture),
       executor_type = COALESCE(EXCLUDED.executor_type, rm.executor_type),
       ip_address = COALESCE(EXCLUDED.ip_address, rm.ip_address),
       config = COALESCE(EXCLUDED.config, rm.config),
       runtime_features = COALESCE(EXCLUDED.runtime_features, rm.runtime_features),
       labels = COALESCE(EXCLUDED.labels, rm.labels),
       contacted_at = GREATEST(rm.contacted_at, EXCLUDED.contacted_at),
       creation_state = EXCLUDED.creation_state,
       updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [
      runner.id, systemXid, now, details.finishCreation === true, CREATION_STATE.finished,
      m.version, m.revision, m.platform, m.architecture, m.executor_type, m.ip_address,
      m.config, m.runtime_features, m.labels,
    ],
  );
  const manager = rows[0];
  if (!manager) throw forbidden();
  runner.contacted_at = now;
  if (details.finishCreation) runner.creation_state = CREATION_STATE.finished;
  // The poll path compares later requests with what is stored now.
  const entry = runnerCache(ctx).runners.entryById(runner.id);
  if (entry) {
    entry.managers.set(systemXid, { id: manager.id, details: detailsFromRow(manager), seen: null, contactQueuedAt: now.getTime() });
    entry.storedContactedAt = now.getTime();
  }
  return manager;
}

export interface AuthenticatedRunner {
  runner: Runner;
  manager: RunnerManager;
}

/**
 * `authenticate_runner!` for verify and reset_authentication_token: 403 for
 * a bad token, then the runner and its manager are heartbeated with the
 * request's info and IP.
 */
export async function authenticateRunner(ctx: AppContext, token: string | undefined, details: HeartbeatDetails): Promise<AuthenticatedRunner> {
  const runner = await findRunnerByToken(ctx, token);
  const manager = await heartbeatRunner(ctx, runner, details);
  return { runner, manager };
}

// ---------------------------------------------------------------------------
// The poll path (POST /jobs/request).

export interface PolledRunner {
  runner: Runner;
  groupId: number | null;
  /** The cache entry (absent while the caches are off). */
  entry: CachedRunner | undefined;
  /**
   * Set when the runner was read from the database by this request: whether
   * a job it may take was pending at that moment. Undefined when the runner
   * came from the cache (nothing was asked).
   */
  pendingJob: boolean | undefined;
  /** The pending-job epoch read before the database was asked (for the "idle" memo). */
  epochBeforeQuery: number;
  systemXid: string;
  details: HeartbeatDetails;
}

function splitPollRow(row: PollRow): { runner: Runner; groupId: number | null; pendingJob: boolean; manager: { id: number; details: StoredManagerDetails } | null } {
  const {
    group_id, pending_job, m_id, m_version, m_revision, m_platform, m_architecture, m_executor_type, m_ip_address, m_config, m_runtime_features, m_labels,
    ...runner
  } = row;
  const manager =
    m_id === null
      ? null
      : {
          id: m_id,
          details: detailsFromRow({
            version: m_version, revision: m_revision, platform: m_platform, architecture: m_architecture, executor_type: m_executor_type,
            ip_address: m_ip_address, config: m_config, runtime_features: m_runtime_features, labels: m_labels,
          }),
        };
  return { runner, groupId: group_id, pendingJob: pending_job, manager };
}

/**
 * `authenticate_runner!(creation_state: :finished)` for jobs/request. From
 * the cache; a runner not cached is read from the database with what its
 * poll needs (whether anything is pending for it) in the same statement.
 */
export async function authenticatePoll(
  ctx: AppContext,
  token: string | undefined,
  details: HeartbeatDetails,
): Promise<PolledRunner> {
  if (!token) throw forbidden();
  const hub = runnerCache(ctx);
  const cache = hub.runners;
  const digest = ctx.secrets.knownDigest(token) ?? ctx.secrets.digest(token);
  const systemXid = details.systemId || LEGACY_SYSTEM_XID;
  const now = Date.now();

  let entry = cache.get(digest);
  if (entry && isExpired(entry.runner, now)) throw forbidden();
  let pendingJob: boolean | undefined;
  const epochBeforeQuery = cache.epoch;

  if (!entry) {
    const generation = cache.beginLoad();
    const row = await loadPollRow(ctx, digest, systemXid);
    if (!row) throw forbidden();
    const loaded = splitPollRow(row);
    if (isExpired(loaded.runner, now)) throw forbidden();
    ctx.secrets.rememberDigest(token, digest);
    pendingJob = loaded.pendingJob;
    const fresh: CachedRunner = {
      digest,
      runner: loaded.runner,
      groupId: loaded.groupId,
      managers: new Map(),
      storedContactedAt: loaded.runner.contacted_at?.getTime() ?? null,
      idle: null,
      lastUsed: now,
    };
    if (loaded.manager) fresh.managers.set(systemXid, { id: loaded.manager.id, details: loaded.manager.details, seen: null, contactQueuedAt: 0 });
    entry = cache.put(fresh, generation) ? fresh : undefined;
    if (!entry) return pollResult(ctx, fresh, undefined, systemXid, details, pendingJob, epochBeforeQuery, now);
  }
  return pollResult(ctx, entry, entry, systemXid, details, pendingJob, epochBeforeQuery, now);
}

/** Heartbeats (coalesced or written now) and builds the result. `entry` is undefined when the facts are not cached. */
async function pollResult(
  ctx: AppContext,
  facts: CachedRunner,
  entry: CachedRunner | undefined,
  systemXid: string,
  details: HeartbeatDetails,
  pendingJob: boolean | undefined,
  epochBeforeQuery: number,
  now: number,
): Promise<PolledRunner> {
  const hub = runnerCache(ctx);
  const runner = facts.runner;
  const stored = facts.managers.get(systemXid);
  const finishCreation = details.finishCreation === true && runner.creation_state !== CREATION_STATE.finished;
  const staleContact = facts.storedContactedAt === null || now - facts.storedContactedAt > STALE_CONTACT_MS;

  // Written before the answer (rare): a manager this instance knows nothing
  // about (it may not exist yet: a job hand-out and GET …/managers need the
  // row), a runner's first contact ever, or its creation finishing. Changed
  // details and a contact that makes an offline runner online again are
  // written within a second; plain contacts with the next flush, and only
  // once the manager's stored contact is CONTACT_REWRITE_MS old: a runner
  // polling every few seconds costs one row write a minute, not one per
  // flush, and contacted_at is never more than a minute behind.
  const firstContact = runner.contacted_at === null && facts.storedContactedAt === null;
  let detailsChanged = false;
  let update: ReturnType<typeof detailsFromRequest> | undefined;
  if (stored && !sameRequest(stored.seen, details.info, details.ipAddress)) {
    update = detailsFromRequest(details.info, details.ipAddress);
    detailsChanged = changesStored(update, stored.details);
    if (!detailsChanged) stored.seen = { info: details.info, ipAddress: details.ipAddress };
  }

  const at = new Date(now);
  if (!stored || finishCreation || firstContact) {
    update ??= detailsFromRequest(details.info, details.ipAddress);
    const managerId = await hub.heartbeats.writeNow({ runnerId: runner.id, systemXid, details: update, at, finishCreation });
    // The runner was deleted since it was read: like a bad token.
    if (managerId === null) {
      if (entry) hub.runners.evictRunners([runner.id]);
      throw forbidden();
    }
    facts.managers.set(systemXid, { id: managerId, details: mergeDetails(stored?.details ?? null, update), seen: { info: details.info, ipAddress: details.ipAddress }, contactQueuedAt: now });
    runner.contacted_at = at;
    if (finishCreation) runner.creation_state = CREATION_STATE.finished;
  } else if (detailsChanged) {
    hub.heartbeats.touch({ runnerId: runner.id, systemXid, details: update!, at, finishCreation: false }, { soon: true });
    facts.managers.set(systemXid, { id: stored.id, details: mergeDetails(stored.details, update!), seen: { info: details.info, ipAddress: details.ipAddress }, contactQueuedAt: now });
  } else if (staleContact || now - stored.contactQueuedAt >= CONTACT_REWRITE_MS) {
    hub.heartbeats.touch({ runnerId: runner.id, systemXid, details: NO_DETAILS, at, finishCreation: false }, { soon: staleContact });
    stored.contactQueuedAt = now;
  } else {
    // The stored contact is recent enough.
    return { runner, groupId: facts.groupId, entry, pendingJob, epochBeforeQuery, systemXid, details };
  }
  facts.storedContactedAt = now;

  return { runner, groupId: facts.groupId, entry, pendingJob, epochBeforeQuery, systemXid, details };
}

/** The polling manager's id: known, or written now (a job hand-out needs the row). */
export async function pollingManagerId(ctx: AppContext, polled: PolledRunner): Promise<number> {
  const known = polled.entry?.managers.get(polled.systemXid);
  if (known) return known.id;
  const manager = await heartbeatRunner(ctx, polled.runner, polled.details);
  return manager.id;
}

/** A contact that changes nothing but contacted_at. */
const NO_DETAILS: StoredManagerDetails = Object.freeze({
  version: null, revision: null, platform: null, architecture: null, executor_type: null,
  ip_address: null, config: null, runtime_features: null, labels: null,
});
