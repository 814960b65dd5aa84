import crypto from 'node:crypto';
import type pg from 'pg';

// Named (server-side prepared) statements for the hot read queries. A list
// query's planning costs PostgreSQL as much as running it (0.3–0.5 ms at
// 100,000 runners); a named statement is parsed once per connection, and
// after five executions PostgreSQL may keep a generic plan when it is no
// worse than the custom ones. test/integration/list-query-plans.test.ts checks
// the generic plans as well as the custom ones.
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

/** `pool.query(prepared(text, values))`: the statement, named after its text. */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  return { name: nameFor(text), text, values };
}
