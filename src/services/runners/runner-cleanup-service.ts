import type { AppContext } from '../../context.js';
import type { Namespace } from '../../generated/prisma/client.js';
import { forbidden } from '../../lib/errors.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import { atLeastOneOf } from '../../schemas/common.js';
import { CLEANUP_FILTER_KEYS, type RunnerCleanupInput } from '../../schemas/runner-cleanup.js';
import type { AuditAuthor } from '../audit/audit-context.js';
import { AUDIT_EVENTS } from '../audit/audit-service.js';
import { withTransaction } from '../pipelines/transaction.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';
import { RUNNER_TYPE_NAMES } from './runner-core.js';
import { deleteRunnersAudited } from './runner-deletion.js';
import { runnerCountSql, runnerKeysetPage, versionLookupFor, type RunnerFilterSpec, type RunnerSet } from './runner-queries.js';

// Bulk deletion of runners by filter (extension: POST /runners/cleanup,
// POST /groups/:id/runners/cleanup, `admin runners cleanup`). Dry run unless
// told otherwise; at least one filter, so "delete everything" is never one
// request away. Deletes in batches, each batch one transaction with its audit
// events, oldest ids first, at most `limit` runners.

const BATCH_SIZE = 100;

export interface CleanupRunner {
  id: number;
  description: string | null;
  runner_type: string;
  contacted_at: string | null;
}

export interface CleanupResult {
  dry_run: boolean;
  /** Every runner the filters match (also beyond `limit`). */
  matched: number;
  deleted: number;
  /** The runners deleted (or, in a dry run, that would be), at most `limit`. */
  runners: CleanupRunner[];
}

/** Which runners a cleanup may touch: every runner (admins) or one group's own runners (its Owners). */
export type CleanupScope = { kind: 'instance' } | { kind: 'group'; group: Namespace };

export function authorizeInstanceCleanup(actor: PolicyActor): void {
  if (!actor.admin) throw forbidden();
}

function scopeSet(scope: CleanupScope): RunnerSet {
  return scope.kind === 'instance' ? { kind: 'all' } : { kind: 'group', groupIds: [scope.group.id], includeInstance: false };
}

export function cleanupFilterSpec(input: RunnerCleanupInput): RunnerFilterSpec {
  return {
    type: input.type,
    status: input.status,
    paused: input.paused,
    tagList: input.tag_list,
    versionPrefix: input.version_prefix,
    contactedBefore: input.contacted_before,
  };
}

export async function cleanupRunners(
  ctx: AppContext,
  scope: CleanupScope,
  input: RunnerCleanupInput,
  opts: { author?: AuditAuthor; pruned?: boolean } = {},
): Promise<CleanupResult> {
  atLeastOneOf(input as Record<string, unknown>, [...CLEANUP_FILTER_KEYS]);
  const set = scopeSet(scope);
  const spec = cleanupFilterSpec(input);
  const now = Date.now();
  const versionLookup = spec.versionPrefix === undefined ? 'range' : await versionLookupFor(ctx.pool);
  const countSt = runnerCountSql(set, spec, 2_147_483_647, { now, versionLookup });
  const matched = (await ctx.pool.query<{ n: number }>(countSt.text, countSt.values)).rows[0]?.n ?? 0;

  const listed: CleanupRunner[] = [];
  let deleted = 0;
  let afterId: number | undefined;
  while (listed.length < input.limit) {
    const page = await runnerKeysetPage(ctx, set, spec, { afterId, limit: Math.min(BATCH_SIZE, input.limit - listed.length), descending: false }, now);
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.runner.id;
    let ids = page.map((p) => p.runner.id);
    if (!input.dry_run) {
      const event = opts.pruned
        ? { eventName: AUDIT_EVENTS.runnerPruned, message: 'Deleted stale CI runner (scheduled pruning)', author: opts.author }
        : { eventName: AUDIT_EVENTS.runnersBulkDeleted, message: 'Deleted CI runner in bulk cleanup', author: opts.author };
      const gone = await withTransaction(ctx, (tx) => deleteRunnersAudited(tx, ids, event));
      // Their tokens must stop working on every instance.
      await runnersChanged(ctx, gone);
      const kept = new Set(gone);
      ids = ids.filter((id) => kept.has(id));
      deleted += gone.length;
    }
    for (const item of page) {
      if (!ids.includes(item.runner.id)) continue;
      listed.push({
        id: item.runner.id,
        description: item.runner.description,
        runner_type: RUNNER_TYPE_NAMES[item.runner.runner_type]!,
        contacted_at: item.runner.contacted_at ? item.runner.contacted_at.toISOString() : null,
      });
    }
  }
  return { dry_run: input.dry_run, matched, deleted, runners: listed };
}
