import type pg from 'pg';
import { recordRunnerAuditEvents, type RunnerAuditInput } from '../audit/audit-service.js';

// Deleting runners with their audit events, inside the caller's transaction:
// the rows are locked first, so an event is written only for a runner this
// transaction really deletes (a concurrent delete of the same runner waits,
// then finds nothing). runner_projects, runner_namespaces and runner_managers
// go with a runner (ON DELETE CASCADE); jobs keep their history with
// runner_id set to NULL. Callers announce the deletion (runnersChanged) after
// the commit.

export async function deleteRunnersAudited(tx: pg.PoolClient, ids: number[], audit: RunnerAuditInput): Promise<number[]> {
  if (ids.length === 0) return [];
  const locked = await tx.query<{ id: number }>('SELECT id FROM runners WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE', [ids]);
  const lockedIds = locked.rows.map((r) => r.id);
  if (lockedIds.length === 0) return [];
  await recordRunnerAuditEvents(tx, lockedIds, audit);
  await tx.query('DELETE FROM runners WHERE id = ANY($1::int[])', [lockedIds]);
  return lockedIds;
}
