import crypto from 'node:crypto';
import type pg from 'pg';

// Named (server-side prepared) statements for the hot read queries, run on
// sessions that always use the statement's generic plan.
//
// A list query's planning costs PostgreSQL more than running it (0.5–1 ms
// for a page at 100,000 runners against 0.2–0.4 ms of execution). A named
// statement is parsed once per connection, but PostgreSQL's own choice
// (plan_cache_mode=auto) never settles on the generic plan for these: with
// LIMIT and OFFSET as parameters the generic plan's estimate is far above
// the custom ones, so it would plan every execution anyway. The sessions of
// ctx.preparedPool use plan_cache_mode=force_generic_plan instead; every
// statement sent through queryPrepared must therefore have a good generic
// plan, which test/integration/list-query-plans.test.ts checks with
// EXPLAIN (GENERIC_PLAN). Everything else (counts, whose plan depends on how
// selective the filters are) stays on ctx.pool with custom plans.
//
// The name is derived from the text, so the same SQL always maps to the same
// statement. Only SQL assembled from a bounded set of shapes belongs here
// (values go in parameters): every distinct text stays prepared on every
// pooled connection for the connection's life.

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

/** The statement, named after its text, run with its generic plan. */
export function queryPrepared<R extends pg.QueryResultRow>(
  ctx: { preparedPool: pg.Pool },
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  return ctx.preparedPool.query<R>({ name: nameFor(text), text, values });
}

/** queryPrepared with each row as an array of its columns, in SELECT order (no object per row). */
export function queryPreparedArrays<R extends unknown[]>(
  ctx: { preparedPool: pg.Pool },
  text: string,
  values: unknown[],
): Promise<pg.QueryArrayResult<R>> {
  return ctx.preparedPool.query<R>({ name: nameFor(text), text, values, rowMode: 'array' });
}
