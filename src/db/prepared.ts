import crypto from 'node:crypto';
import type pg from 'pg';

// Named (server-side prepared) statements for the hot read queries.
//
// A named statement is parsed once per connection. Planning is the other
// half: for a runner page at 100,000 runners PostgreSQL spends more time
// planning (0.5–2 ms) than executing (0.2–0.5 ms), and its own choice
// (plan_cache_mode=auto) never settles on the generic plan for list pages,
// because with LIMIT and OFFSET as parameters the generic estimate assumes a
// tenth of the rows are wanted.
//
// A statement whose generic plan is as good as any custom one says so
// (`generic: true`) and runs on ctx.preparedPool, whose sessions use
// plan_cache_mode=force_generic_plan: planned once per connection. That
// holds for single-row lookups and for list pages whose plan cannot depend
// on the values (which ones: ListStatement in runner-queries.ts). It does not
// where the values decide the plan: filters (a rare tag wants the GIN index,
// a common one the primary key in id order). Those are planned per execution
// on ctx.pool.
// test/integration/list-query-plans.test.ts checks the generic plans
// (EXPLAIN (GENERIC_PLAN)) of every `generic` statement.
//
// The name is derived from the text, so the same SQL always maps to the same
// statement. Only SQL assembled from a bounded set of shapes belongs here
// (values go in parameters): every distinct text stays prepared on every
// pooled connection for the connection's life.

/** A statement for queryPrepared. */
export interface PreparedQuery {
  text: string;
  values: unknown[];
  /** Its generic plan is as good as a custom one, whatever the values: never re-plan it. */
  generic: boolean;
}

const names = new Map<string, string>();
const MAX_NAMES = 10_000;

function nameFor(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMES) names.clear();
    name = `q_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}

const poolFor = (ctx: { pool: pg.Pool; preparedPool: pg.Pool }, q: PreparedQuery) => (q.generic ? ctx.preparedPool : ctx.pool);

/** The statement, named after its text. */
export function queryPrepared<R extends pg.QueryResultRow>(ctx: { pool: pg.Pool; preparedPool: pg.Pool }, q: PreparedQuery): Promise<pg.QueryResult<R>> {
  return poolFor(ctx, q).query<R>({ name: nameFor(q.text), text: q.text, values: q.values });
}

/** queryPrepared with each row as an array of its columns, in SELECT order (no object per row). */
export function queryPreparedArrays<R extends unknown[]>(
  ctx: { pool: pg.Pool; preparedPool: pg.Pool },
  q: PreparedQuery,
): Promise<pg.QueryArrayResult<R>> {
  return poolFor(ctx, q).query<R>({ name: nameFor(q.text), text: q.text, values: q.values, rowMode: 'array' });
}

/** queryPrepared on a connection the caller holds (a transaction's), planned per execution like the statements of ctx.pool. */
export function queryPreparedOn<R extends pg.QueryResultRow>(client: pg.PoolClient, q: PreparedQuery): Promise<pg.QueryResult<R>> {
  return client.query<R>({ name: nameFor(q.text), text: q.text, values: q.values });
}
