import type { AppContext } from '../../context.js';
import type { Runner, RunnerManager } from '../../generated/prisma/client.js';
import { apiError, forbidden } from '../../lib/errors.js';
import { CREATION_STATE, RUNNER_TYPE_IDS } from '../runners/runner-core.js';

// `authenticate_runner!` (runner-protocol.md §8): find the runner by the body
// `token` (expired tokens are not found → 403), then heartbeat the runner and
// the runner manager for `system_id` (or '<legacy>').

export const LEGACY_SYSTEM_XID = '<legacy>';

export interface RunnerInfo {
  name?: string;
  version?: string;
  revision?: string;
  platform?: string;
  architecture?: string;
  executor?: string;
  features?: Record<string, unknown>;
  config?: Record<string, unknown>;
  labels?: Record<string, unknown>;
}

/** Ci::RunnerManager `executor_type` enum; any other executor name is stored as 'unknown'. */
export const EXECUTOR_TYPES = [
  'unknown', 'custom', 'shell', 'docker', 'docker-windows', 'docker-ssh', 'ssh', 'parallels',
  'virtualbox', 'docker+machine', 'docker-ssh+machine', 'kubernetes', 'docker-autoscaler', 'instance',
] as const;

/** The runner for a runner token, or 403 {"message":"403 Forbidden"} (unknown, empty or expired). */
export async function findRunnerByToken(ctx: AppContext, token: string | undefined): Promise<Runner> {
  if (!token) throw forbidden();
  const runner = await ctx.prisma.runner.findUnique({ where: { token_digest: ctx.secrets.digest(token) } });
  if (!runner) throw forbidden();
  if (runner.token_expires_at && runner.token_expires_at.getTime() < Date.now()) throw forbidden();
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

const present = (v: unknown): boolean => {
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
};

/**
 * What RunnerManager#heartbeat keeps from `get_runner_details_from_request`:
 * only the info keys that were sent and are non-blank (attributes_for_keys);
 * `config` is always written when `info` is sent (as {gpus} or {}). A null
 * field means "not sent, keep the stored value".
 */
function managerDetails(info: RunnerInfo | undefined) {
  if (!info || !present(info)) {
    return { version: null, revision: null, platform: null, architecture: null, executor_type: null, config: null, runtime_features: null, labels: null };
  }
  const pick = (v: unknown) => (present(v) && typeof v === 'string' ? v : null);
  const gpus = info.config?.gpus;
  return {
    version: pick(info.version),
    revision: pick(info.revision),
    platform: pick(info.platform),
    architecture: pick(info.architecture),
    executor_type: present(info.executor)
      ? ((EXECUTOR_TYPES as readonly string[]).includes(info.executor!) ? info.executor! : 'unknown')
      : null,
    config: JSON.stringify(present(gpus) ? { gpus } : {}),
    runtime_features: present(info.features) ? JSON.stringify(info.features) : null,
    labels: present(info.labels) ? JSON.stringify(info.labels) : null,
  };
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
  const m = managerDetails(details.info);
  const { rows } = await ctx.pool.query<RunnerManager>(
    `WITH touched AS (
       UPDATE runners SET contacted_at = $3,
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
       contacted_at = EXCLUDED.contacted_at,
       creation_state = EXCLUDED.creation_state,
       updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [
      runner.id, systemXid, now, details.finishCreation === true, CREATION_STATE.finished,
      m.version, m.revision, m.platform, m.architecture, m.executor_type, details.ipAddress ?? null,
      m.config, m.runtime_features, m.labels,
    ],
  );
  const manager = rows[0];
  if (!manager) throw forbidden();
  runner.contacted_at = now;
  if (details.finishCreation) runner.creation_state = CREATION_STATE.finished;
  return manager;
}

export interface AuthenticatedRunner {
  runner: Runner;
  manager: RunnerManager;
}

/**
 * `authenticate_runner!` for the endpoints that heartbeat (verify,
 * reset_authentication_token, jobs/request): 403 for a bad token, then the
 * runner and its manager are heartbeated with the request's info and IP.
 */
export async function authenticateRunner(ctx: AppContext, token: string | undefined, details: HeartbeatDetails): Promise<AuthenticatedRunner> {
  const runner = await findRunnerByToken(ctx, token);
  const manager = await heartbeatRunner(ctx, runner, details);
  return { runner, manager };
}
