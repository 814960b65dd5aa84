import type pg from 'pg';

// A cheap fingerprint of the whole database: per table, the row count and a
// checksum of its rows (each row as JSON, hashed; the hashes summed, so row
// order does not matter). Used to
// prove that a rejected request changed nothing. New tables are picked up
// from the catalog.
//
// Columns that legitimately change when a request only *reads* are left out:
//   - personal_access_tokens.last_used_at: set on every authenticated request.
//   - runners.contacted_at: the runner heartbeat (GitLab's lib/api/ci/runner.rb).
//   - runner_managers: the heartbeat columns, refreshed by verify and
//     jobs/request (contacted_at, ip_address, version, revision, platform,
//     architecture, executor_type, config, runtime_features, labels,
//     updated_at). Rows appearing or disappearing still count.

export const VOLATILE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  personal_access_tokens: ['last_used_at'],
  runners: ['contacted_at'],
  runner_managers: [
    'contacted_at', 'ip_address', 'version', 'revision', 'platform', 'architecture', 'executor_type', 'config',
    'runtime_features', 'labels', 'updated_at',
  ],
};

/** Bookkeeping tables that are not application data. */
const IGNORED_TABLES = new Set(['_prisma_migrations', 'schema_migrations']);

export interface TableState {
  rows: number;
  checksum: string;
}
export type DbSnapshot = Record<string, TableState>;

const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;
const quoteLiteral = (s: string) => `'${s.replaceAll("'", "''")}'`;

let cachedSql: { tables: string; sql: string } | undefined;

async function snapshotSql(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const tables = rows.map((r) => r.table_name).filter((t) => !IGNORED_TABLES.has(t));
  const key = tables.join(',');
  if (cachedSql?.tables === key) return cachedSql.sql;
  const parts = tables.map((t) => {
    const drop = (VOLATILE_COLUMNS[t] ?? []).map((c) => ` - ${quoteLiteral(c)}`).join('');
    // An order-independent sum of 64-bit row hashes: no sort, linear in the rows.
    return `SELECT ${quoteLiteral(t)} AS t, count(*)::int AS n,
      coalesce(sum(hashtextextended(j, 0)::numeric), 0)::text AS h
      FROM (SELECT (to_jsonb(x)${drop})::text AS j FROM ${quoteIdent(t)} x) s`;
  });
  cachedSql = { tables: key, sql: parts.join('\nUNION ALL\n') };
  return cachedSql.sql;
}

export async function snapshotDb(pool: pg.Pool): Promise<DbSnapshot> {
  const { rows } = await pool.query<{ t: string; n: number; h: string }>(await snapshotSql(pool));
  return Object.fromEntries(rows.map((r) => [r.t, { rows: r.n, checksum: r.h }]));
}

/** The tables whose rows differ between two snapshots, e.g. `["runners: 3 → 2 rows"]`. */
export function diffSnapshots(before: DbSnapshot, after: DbSnapshot): string[] {
  const out: string[] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[table];
    const b = after[table];
    if (!a || !b) out.push(`${table}: table ${a ? 'dropped' : 'created'}`);
    else if (a.rows !== b.rows) out.push(`${table}: ${a.rows} → ${b.rows} rows`);
    else if (a.checksum !== b.checksum) out.push(`${table}: contents changed`);
  }
  return out;
}

/**
 * The next transaction id PostgreSQL will hand out. Read-only work takes
 * none, so an unchanged mark proves nothing was written in between; a
 * changed one (a write, or a write that rolled back) calls for a full
 * snapshot. Much cheaper than snapshotDb on every request.
 */
export async function writeMark(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x');
  return rows[0]!.x;
}

/** The highest id in every table that has one, to undo a suite's inserts later. */
export async function rowMarks(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.column_name = 'id'`,
  );
  const marks: Record<string, number> = {};
  for (const { table_name } of rows) {
    if (IGNORED_TABLES.has(table_name)) continue;
    const { rows: m } = await pool.query<{ m: number | null }>(`SELECT max(id)::int AS m FROM ${quoteIdent(table_name)}`);
    marks[table_name] = m[0]!.m ?? 0;
  }
  return marks;
}

/**
 * Deletes every row inserted after `marks` (ids above the mark), in whatever
 * order the foreign keys allow, so a long suite keeps the database small.
 */
export async function deleteRowsAfter(pool: pg.Pool, marks: Record<string, number>): Promise<void> {
  let pending = Object.keys(marks);
  for (let pass = 0; pending.length > 0 && pass < 10; pass++) {
    const failed: string[] = [];
    for (const table of pending) {
      try {
        await pool.query(`DELETE FROM ${quoteIdent(table)} WHERE id > $1`, [marks[table]]);
      } catch {
        failed.push(table); // a row of another table still points here: next pass
      }
    }
    pending = failed;
  }
  if (pending.length > 0) throw new Error(`could not delete new rows of ${pending.join(', ')}`);
}
