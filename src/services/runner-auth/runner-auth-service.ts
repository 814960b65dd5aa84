import type { AppContext } from '../../context.js';
import type { Runner, RunnerManager } from '../../generated/prisma/client.js';
import { forbidden } from '../../lib/errors.js';
import { CREATION_STATE } from '../runners/runner-core.js';

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

/** The runner for a runner token, or 403 {"message":"403 Forbidden"} (unknown, empty or expired). */
export async function findRunnerByToken(ctx: AppContext, token: string | undefined): Promise<Runner> {
  if (!token) throw forbidden();
  const runner = await ctx.prisma.runner.findUnique({ where: { token_digest: ctx.secrets.digest(token) } });
  if (!runner) throw forbidden();
  if (runner.token_expires_at && runner.token_expires_at.getTime() < Date.now()) throw forbidden();
  return runner;
}

export interface HeartbeatDetails {
  systemId?: string | null;
  info?: RunnerInfo;
  ipAddress?: string;
  /** Only jobs/request marks the runner's creation as finished. */
  finishCreation?: boolean;
}

/** Ci::Runner#heartbeat + ensure_manager + RunnerManager#heartbeat. */
export async function heartbeatRunner(ctx: AppContext, runner: Runner, details: HeartbeatDetails): Promise<RunnerManager> {
  const now = new Date();
  const systemXid = details.systemId || LEGACY_SYSTEM_XID;
  const info = details.info ?? {};
  const managerData = {
    version: info.version ?? null,
    revision: info.revision ?? null,
    platform: info.platform ?? null,
    architecture: info.architecture ?? null,
    executor_type: info.executor ?? null,
    ip_address: details.ipAddress ?? null,
    config: (info.config ?? undefined) as object | undefined,
    runtime_features: (info.features ?? undefined) as object | undefined,
    labels: (info.labels ?? undefined) as object | undefined,
    contacted_at: now,
    creation_state: CREATION_STATE.finished,
  };
  const [, manager] = await ctx.prisma.$transaction([
    // Like GitLab's update_columns: a heartbeat must not bump updated_at,
    // which DELETE's If-Unmodified-Since compares against.
    ctx.prisma.$executeRaw`UPDATE runners SET contacted_at = ${now},
      creation_state = CASE WHEN ${details.finishCreation === true} THEN ${CREATION_STATE.finished} ELSE creation_state END
      WHERE id = ${runner.id}`,
    ctx.prisma.runnerManager.upsert({
      where: { runner_id_system_xid: { runner_id: runner.id, system_xid: systemXid } },
      create: { runner_id: runner.id, system_xid: systemXid, ...managerData },
      update: managerData,
    }),
  ]);
  runner.contacted_at = now;
  return manager;
}
