import type { AppContext } from '../../context.js';
import { SYSTEM_AUTHOR, withAuditOrigin } from '../audit/audit-context.js';
import { AUDIT_EVENTS } from '../audit/audit-service.js';
import { runAsLeader, type Leadership } from '../background/leader.js';
import { withTransaction } from '../pipelines/transaction.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';
import { STALE_TIMEOUT_MS } from './runner-core.js';
import { deleteRunnersAudited } from './runner-deletion.js';

// Scheduled pruning of stale runners (extension, docs/fleet-management.md).
// A runner is pruned when it is stale (created and neither created nor
// contacted within GitLab's stale timeout, 7 days) and either the instance
// setting stale_runner_pruning_enabled is on, or it belongs to a group whose
// hierarchy has GitLab's allow_stale_runner_pruning on (the group's and its
// subgroups' runners, and project runners owned by their projects). One
// instance of many runs it per tick (runAsLeader); batches of BATCH_SIZE, each
// one transaction with its ci_runner_pruned events.

const BATCH_SIZE = 500;
/** A tick stops after this many batches; the next tick goes on. */
const MAX_BATCHES_PER_TICK = 20;

const PRUNABLE_SQL = `
  SELECT r.id FROM runners r
   WHERE r.created_at <= $1 AND (r.contacted_at IS NULL OR r.contacted_at <= $1)
     AND ($2::boolean
          OR r.id IN (SELECT rn.runner_id FROM runner_namespaces rn JOIN pruning_groups g ON g.id = rn.namespace_id)
          OR (r.runner_type = 3 AND r.sharding_key_id IN (SELECT p.id FROM projects p JOIN pruning_groups g ON g.id = p.namespace_id)))
   ORDER BY r.id LIMIT $3`;

/** Groups whose own setting or an ancestor's allows pruning. */
const WITH_PRUNING_GROUPS = `WITH pruning_groups AS (
  SELECT n.id FROM namespaces n
   WHERE n.kind = 'group' AND EXISTS (SELECT 1 FROM namespaces a WHERE a.id = ANY(n.traversal_ids || n.id) AND a.allow_stale_runner_pruning))`;

/** One pruning pass; returns how many runners it deleted. */
export async function pruneStaleRunners(ctx: AppContext, now: number = Date.now()): Promise<number> {
  const settings = await ctx.pool.query<{ on: boolean }>('SELECT stale_runner_pruning_enabled AS on FROM application_settings WHERE id = 1');
  const instanceWide = settings.rows[0]?.on === true;
  const deadline = new Date(now - STALE_TIMEOUT_MS);
  let total = 0;
  for (let batch = 0; batch < MAX_BATCHES_PER_TICK; batch++) {
    const { rows } = await ctx.pool.query<{ id: number }>(`${WITH_PRUNING_GROUPS} ${PRUNABLE_SQL}`, [deadline, instanceWide, BATCH_SIZE]);
    if (rows.length === 0) break;
    const gone = await withAuditOrigin({ author: SYSTEM_AUTHOR, ipAddress: null }, () =>
      withTransaction(ctx, (tx) =>
        deleteRunnersAudited(
          tx,
          rows.map((r) => r.id),
          { eventName: AUDIT_EVENTS.runnerPruned, message: 'Deleted stale CI runner (scheduled pruning)' },
        ),
      ),
    );
    await runnersChanged(ctx, gone);
    total += gone.length;
    if (rows.length < BATCH_SIZE) break;
  }
  if (total > 0) ctx.log.info({ pruned: total }, 'stale runners pruned');
  return total;
}

/** Starts the job (STALE_RUNNER_PRUNING_INTERVAL_SECONDS, 0 = off); null when off. */
export function startStaleRunnerPruning(ctx: AppContext): Leadership | null {
  const seconds = ctx.config.STALE_RUNNER_PRUNING_INTERVAL_SECONDS;
  if (!seconds) return null;
  return runAsLeader(
    'stale-runner-pruning',
    seconds * 1000,
    async () => {
      await pruneStaleRunners(ctx);
    },
    { log: (msg, err) => (err ? ctx.log.error({ err }, msg) : ctx.log.info(msg)) },
  );
}
