import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import { notFound } from '../../lib/errors.js';
import { withTransaction, type Sql } from '../pipelines/transaction.js';
import { OWNERSHIP_COLUMNS, ownershipFrom, type OwnershipColumns, type RunnerOwnership } from './runner-access-service.js';

// Every write that depends on a runner's current state (update, assign,
// unassign, delete) runs with the runner's row locked, so concurrent writers
// take turns and each one decides on the state the previous one left: the
// result is always that of some serial order, and a runner deleted meanwhile
// is a plain 404. The lock is a short transaction that does no other I/O:
// policy checks run before it, on the pool.

export interface LockedRunner {
  runner: Runner;
  ownership: RunnerOwnership;
}

const LOCK_SQL = 'SELECT * FROM runners WHERE id = $1 FOR UPDATE';
// Read after the lock is held, in a statement of its own: under READ
// COMMITTED that statement sees every write committed before the lock was
// granted (a subquery in the locking statement would not).
const OWNERSHIP_SQL = `SELECT ${OWNERSHIP_COLUMNS} FROM runners r WHERE r.id = $1`;

/** Runs `fn` in a transaction holding the runner's row lock; 404 Runner when it is gone. */
export async function withLockedRunner<T>(ctx: AppContext, id: number, fn: (sql: Sql, locked: LockedRunner) => Promise<T>): Promise<T> {
  return withTransaction(ctx, async (sql) => {
    const res = await sql.query<Runner>(LOCK_SQL, [id]);
    const runner = res.rows[0];
    if (!runner) throw notFound('Runner');
    const own = await sql.query<OwnershipColumns>(OWNERSHIP_SQL, [id]);
    return fn(sql, { runner, ownership: ownershipFrom(own.rows[0]!) });
  });
}
