import type pg from 'pg';
import type { AppContext } from '../../context.js';

// The CI write paths (job hand-out, state changes, log appends) run as plain
// SQL on one pooled connection: they need row locks (FOR UPDATE SKIP LOCKED)
// and must not be cut short by an ORM's interactive-transaction timeouts when
// many runners poll at once.

export type Sql = pg.PoolClient;

export async function withTransaction<T>(ctx: AppContext, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
