import crypto from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export function databaseUrl(name: string): string {
  const u = new URL(inject('pgAdminUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database for one test file; `drop()` removes it. */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const template = opts.migrated === false ? 'template0' : inject('templateDb');
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  // Behind a pooler the server sends no session settings: the operator sets
  // them on the database (docs/scaling.md), and a clone does not inherit them.
  if (process.env.TEST_DATABASE_POOLER_URL) await adminQuery(`ALTER DATABASE "${name}" SET random_page_cost = 1.1`);
  return { name, url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/**
 * Where the server's pools connect: the database itself, or, with
 * TEST_DATABASE_POOLER_URL (a PgBouncer in transaction mode in front of
 * TEST_DATABASE_URL, e.g. postgres://u:p@127.0.0.1:6432/), the same database
 * through the pooler, marked ?pgbouncer=true, with the direct URL beside it.
 */
export function poolerFor(url: string): { url: string; directUrl?: string } {
  const pooler = process.env.TEST_DATABASE_POOLER_URL;
  if (!pooler) return { url };
  const u = new URL(pooler);
  u.pathname = new URL(url).pathname;
  u.searchParams.set('pgbouncer', 'true');
  return { url: u.toString(), directUrl: url };
}
