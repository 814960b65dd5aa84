import type { AppContext } from '../../context.js';
import type { Runner, RunnerManager } from '../../generated/prisma/client.js';
import { checkUnmodifiedSince } from '../../lib/conditional-request.js';
import { notFound } from '../../lib/errors.js';
import { assertRunnerHasOwner, authenticateRunner, findRunnerByToken, heartbeatRunner, type HeartbeatDetails } from '../runner-auth/runner-auth-service.js';
import { resetRunnerToken, type ResetToken } from '../runner-auth/token-reset-service.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';
import { RUNNER_AUTHOR } from '../audit/audit-context.js';
import { AUDIT_EVENTS, recordRunnerAuditEvents } from '../audit/audit-service.js';
import { withTransaction } from '../pipelines/transaction.js';
import { deleteRunnersAudited } from '../runners/runner-deletion.js';
import { RUNNER_TYPE_NAMES } from '../runners/runner-core.js';

// What gitlab-runner does with its own token (GitLab's lib/api/ci/runner.rb):
// verify, reset it, unregister itself or one of its managers.

/** POST /runners/verify: heartbeats the runner and the manager for `system_id` (GitLab's lib/api/ci/runner.rb). */
export async function verifyRunner(ctx: AppContext, token: string, details: HeartbeatDetails): Promise<{ runner: Runner; manager: RunnerManager }> {
  const runner = await findRunnerByToken(ctx, token);
  await assertRunnerHasOwner(ctx, runner);
  const neverContacted = runner.contacted_at === null;
  const manager = await heartbeatRunner(ctx, runner, details);
  if (neverContacted) await recordFirstVerification(ctx, runner.id);
  return { runner, manager };
}

/**
 * The first verification of a runner (its first contact ever), recorded
 * once: the event is written only while no earlier one exists for the
 * runner, under a transaction-level lock on the runner id so that two
 * concurrent first verifications write one event.
 */
async function recordFirstVerification(ctx: AppContext, runnerId: number): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1), $2)', ['ci_runner_verified', runnerId]);
    const seen = await tx.query('SELECT 1 FROM audit_events WHERE target_type = $1 AND target_id = $2 AND event_name = $3 LIMIT 1', ['Ci::Runner', runnerId, AUDIT_EVENTS.runnerVerified]);
    if (seen.rowCount) return;
    await recordRunnerAuditEvents(tx, [runnerId], { eventName: AUDIT_EVENTS.runnerVerified, message: 'Verified CI runner for the first time', author: RUNNER_AUTHOR });
  });
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
  // A concurrent unregister of the same runner is not an error (and writes one event).
  const type = RUNNER_TYPE_NAMES[runner.runner_type]!.replace('_type', '');
  await withTransaction(ctx, (tx) =>
    deleteRunnersAudited(tx, [runner.id], { eventName: AUDIT_EVENTS.runnerUnregistered, message: `Unregistered ${type} CI runner`, author: RUNNER_AUTHOR }),
  );
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
