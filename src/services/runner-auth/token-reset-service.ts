import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import { forbidden } from '../../lib/errors.js';
import { computeTokenExpiry, issueRunnerToken, REGISTRATION_TYPE, RUNNER_TYPE_NAMES } from '../runners/runner-core.js';
import { CACHE_CHANNEL } from '../runner-cache/notifications.js';
import { runnerCache } from '../runner-cache/runner-cache.js';
import { RUNNER_AUTHOR } from '../audit/audit-context.js';
import { AUDIT_EVENTS, recordRunnerAuditEvents } from '../audit/audit-service.js';
import { withTransaction } from '../pipelines/transaction.js';

export interface ResetToken {
  token: string;
  token_expires_at: Date | null;
}

/** The groups or projects the runner belongs to: the scope of its token expiry (GitLab's app/models/ci/runner.rb). */
export async function runnerExpiryScope(ctx: AppContext, runner: Runner): Promise<{ groupIds?: number[]; projectIds?: number[] }> {
  const type = RUNNER_TYPE_NAMES[runner.runner_type];
  if (type === 'group_type') {
    const rows = await ctx.prisma.runnerNamespace.findMany({ where: { runner_id: runner.id }, select: { namespace_id: true } });
    return { groupIds: rows.map((r) => r.namespace_id) };
  }
  if (type === 'project_type') {
    const rows = await ctx.prisma.runnerProject.findMany({ where: { runner_id: runner.id }, select: { project_id: true } });
    return { projectIds: rows.map((r) => r.project_id) };
  }
  return {};
}

/**
 * Ci::Runner#reset_token!: a new token of the same kind (`glrt-` for runners
 * created by a user, bare `t<N>_` for registered ones) and a freshly computed
 * expiry. With `currentDigest` the swap is conditional on the token still
 * being the one the caller authenticated with, in a single UPDATE: of many
 * concurrent resets with the same token exactly one wins and the others get
 * 403, so exactly one working token remains.
 */
export async function resetRunnerToken(ctx: AppContext, runner: Runner, opts: { currentDigest?: string } = {}): Promise<ResetToken> {
  const type = RUNNER_TYPE_NAMES[runner.runner_type];
  if (!type) throw new Error(`Unknown runner_type ${runner.runner_type}`);
  const issued = issueRunnerToken(ctx, type, runner.registration_type === REGISTRATION_TYPE.authenticated_user);
  const expiresAt = await computeTokenExpiry(ctx, type, await runnerExpiryScope(ctx, runner));
  // The swap, its audit event and the NOTIFY that makes every instance drop
  // the old token commit together: either all happen or none.
  const rowCount = await withTransaction(ctx, async (tx) => {
    const swapped = await tx.query(
      `WITH swapped AS (
         UPDATE runners SET token_digest = $2, token_expires_at = $3, updated_at = now()
         WHERE id = $1 AND ($4::text IS NULL OR token_digest = $4) RETURNING id
       )
       SELECT pg_notify($5, 'r:' || id) FROM swapped`,
      [runner.id, issued.digest, expiresAt, opts.currentDigest ?? null, CACHE_CHANNEL],
    );
    if (swapped.rowCount) {
      await recordRunnerAuditEvents(tx, [runner.id], { eventName: AUDIT_EVENTS.runnerAuthTokenReset, message: 'Reset CI runner authentication token', author: RUNNER_AUTHOR });
    }
    return swapped.rowCount ?? 0;
  });
  runnerCache(ctx).apply({ kind: 'runners', ids: [runner.id] });
  if (rowCount === 0) throw forbidden();
  runner.token_digest = issued.digest;
  runner.token_expires_at = expiresAt;
  return { token: issued.token, token_expires_at: expiresAt };
}
