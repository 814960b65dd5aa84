import type pg from 'pg';

// A cheap fingerprint of the whole database: per table, the row count and an
// md5 over its rows (as JSON, sorted, so row order does not matter). Used to
// prove that a rejected request changed nothing. New tables are picked up
// from the catalog.
//
// Columns that legitimately change when a request only *reads* are left out:
//   - personal_access_tokens.last_used_at: set on every authenticated request.
//   - runners.contacted_at: the runner heartbeat (runner-protocol.md §8).
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
    return `SELECT ${quoteLiteral(t)} AS t, count(*)::int AS n,
      md5(coalesce(string_agg(j, E'\\n' ORDER BY j), '')) AS h
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
