import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// The session settings src/db/client.ts gives its pools (see
// src/db/prepared.ts for why there are two on a direct URL). Under
// `npm run test:pooler` the pools go through PgBouncer in transaction mode
// (?pgbouncer=true): then there is one pool, it sends no session settings
// (random_page_cost comes from ALTER DATABASE, as docs/scaling.md tells the
// operator, and test/helpers/database.ts does), and only the direct session
// connection (LISTEN, locks) carries them.

const mode = process.env.TEST_DATABASE_POOLER_URL ? 'pooler' : 'direct';

const EXPECTED = {
  direct: {
    pooled: false,
    separatePreparedPool: true,
    plan_cache_mode: { pool: 'auto', preparedPool: 'force_generic_plan' },
    random_page_cost: { pool: '1.1', preparedPool: '1.1' },
    poolOptions: { pool: /-c random_page_cost=1\.1/, preparedPool: /-c random_page_cost=1\.1 .*-c plan_cache_mode=force_generic_plan/ },
  },
  pooler: {
    pooled: true,
    separatePreparedPool: false,
    plan_cache_mode: { pool: 'auto', preparedPool: 'auto' },
    random_page_cost: { pool: '1.1', preparedPool: '1.1' },
    poolOptions: { pool: undefined, preparedPool: undefined },
  },
}[mode];

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const show = async (pool: { query: (q: string) => Promise<{ rows: Record<string, string>[] }> }, name: string) =>
  (await pool.query(`SHOW ${name}`)).rows[0]![name];
/** The `options` startup parameter a pool's connections send (what a pooler would be asked to carry). */
const startupOptions = (pool: pg.Pool) => (pool as unknown as { options: { options?: string } }).options.options || undefined;

describe(`database sessions (${mode} URL)`, () => {
  it('gives each pool the plan cache mode and random_page_cost of its kind, sending session settings only where no pooler stands between', async () => {
    const { ctx, db } = t;
    expect(db.pooled).toBe(EXPECTED.pooled);
    expect(ctx.preparedPool !== ctx.pool).toBe(EXPECTED.separatePreparedPool);
    expect({ pool: await show(ctx.pool, 'plan_cache_mode'), preparedPool: await show(ctx.preparedPool, 'plan_cache_mode') }).toEqual(EXPECTED.plan_cache_mode);
    expect({ pool: await show(ctx.pool, 'random_page_cost'), preparedPool: await show(ctx.preparedPool, 'random_page_cost') }).toEqual(EXPECTED.random_page_cost);
    const options = { pool: startupOptions(ctx.pool), preparedPool: startupOptions(ctx.preparedPool) };
    if (EXPECTED.poolOptions.pool) {
      expect(options.pool).toMatch(EXPECTED.poolOptions.pool);
      expect(options.preparedPool).toMatch(EXPECTED.poolOptions.preparedPool!);
    } else {
      expect(options).toEqual({ pool: undefined, preparedPool: undefined });
    }
  });

  it('opens the session connection (LISTEN, locks) straight to PostgreSQL, with the session settings', async () => {
    const client = new pg.Client(t.db.session);
    await client.connect();
    try {
      expect(await show(client, 'random_page_cost')).toBe('1.1');
      // Not through the pooler: PostgreSQL's own port (TEST_DATABASE_URL's), where a session lasts.
      expect(new URL(String(t.db.session.connectionString)).port).toBe(new URL(inject('pgAdminUrl')).port);
      expect(t.db.session.options).toMatch(/-c random_page_cost=1\.1/);
    } finally {
      await client.end();
    }
  });

  it('keeps the options a DATABASE_URL brings and adds its own after them', async () => {
    const url = new URL(t.dbUrl);
    url.searchParams.set('options', '-c statement_timeout=12345 -c random_page_cost=3');
    const db = connectDatabase(url.toString(), { max: 1 });
    try {
      expect(await show(db.pool, 'statement_timeout')).toBe('12345ms');
      expect(await show(db.preparedPool, 'statement_timeout')).toBe('12345ms');
      // Ours come later on the command line, so they win where both set something.
      expect(await show(db.pool, 'random_page_cost')).toBe('1.1');
    } finally {
      await db.close();
    }
  });
});
