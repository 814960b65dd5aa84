import type { AppContext } from '../../context.js';
import type { Runner, RunnerManager } from '../../generated/prisma/client.js';
import { checkUnmodifiedSince } from '../../lib/conditional-request.js';
import { notFound } from '../../lib/errors.js';
import { assertRunnerHasOwner, authenticateRunner, findRunnerByToken, heartbeatRunner, type HeartbeatDetails } from '../runner-auth/runner-auth-service.js';
import { resetRunnerToken, type ResetToken } from '../runner-auth/token-reset-service.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';

// What gitlab-runner does with its own token (GitLab's lib/api/ci/runner.rb):
// verify, reset it, unregister itself or one of its managers.

/** POST /runners/verify: heartbeats the runner and the manager for `system_id` (GitLab's lib/api/ci/runner.rb). */
export async function verifyRunner(ctx: AppContext, token: string, details: HeartbeatDetails): Promise<{ runner: Runner; manager: RunnerManager }> {
  const runner = await findRunnerByToken(ctx, token);
  await assertRunnerHasOwner(ctx, runner);
  const manager = await heartbeatRunner(ctx, runner, details);
  return { runner, manager };
}

/**
 * POST /runners/reset_authentication_token: authenticate (with heartbeat),
 * then swap the token only if it is still the one presented, so the old token
 * stops working at once and concurrent resets leave one working token.
 */
export async function resetAuthenticationToken(ctx: AppContext, token: string, details: HeartbeatDetails): Promise<ResetToken> {
  const { runner } = await authenticateRunner(ctx, token, details);
  return resetRunnerToken(ctx, runner, { currentDigest: ctx.secrets.digest(token) });
}

/**
 * DELETE /runners: no heartbeat (`ensure_runner_manager: false`);
 * If-Unmodified-Since against runners.updated_at → 412. Deleting cascades to
 * the runner's projects, group link and managers; its jobs keep their rows.
 */
export async function unregisterRunner(ctx: AppContext, token: string, ifUnmodifiedSince: string | string[] | undefined): Promise<void> {
  const runner = await findRunnerByToken(ctx, token);
  checkUnmodifiedSince(ifUnmodifiedSince, runner.updated_at);
  // deleteMany: a concurrent unregister of the same runner is not an error.
  await ctx.prisma.runner.deleteMany({ where: { id: runner.id } });
  // Its token must stop working on every instance, not only this one.
  await runnersChanged(ctx, [runner.id]);
}

/** DELETE /runners/managers: removes one manager of the runner; the runner remains. */
export async function unregisterRunnerManager(
  ctx: AppContext,
  token: string,
  systemId: string,
  ifUnmodifiedSince: string | string[] | undefined,
): Promise<void> {
  const runner = await findRunnerByToken(ctx, token);
  const manager = await ctx.prisma.runnerManager.findUnique({
    where: { runner_id_system_xid: { runner_id: runner.id, system_xid: systemId } },
  });
  if (!manager) throw notFound('Runner manager not found');
  checkUnmodifiedSince(ifUnmodifiedSince, manager.updated_at);
  await ctx.prisma.runnerManager.deleteMany({ where: { id: manager.id } });
  // Instances that wrote this manager must not assume it still exists.
  await runnersChanged(ctx, [runner.id]);
}
