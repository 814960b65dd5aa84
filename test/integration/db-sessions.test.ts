import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/db/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// The session settings src/db/client.ts gives its two pools (see
// src/db/prepared.ts for why there are two).

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const show = async (pool: { query: (q: string) => Promise<{ rows: Record<string, string>[] }> }, name: string) =>
  (await pool.query(`SHOW ${name}`)).rows[0]![name];

describe('database sessions', () => {
  it('plans per execution on the main pool and keeps generic plans on the prepared-statement pool, both with random_page_cost 1.1', async () => {
    expect(await show(t.ctx.pool, 'plan_cache_mode')).toBe('auto');
    expect(await show(t.ctx.preparedPool, 'plan_cache_mode')).toBe('force_generic_plan');
    expect(await show(t.ctx.pool, 'random_page_cost')).toBe('1.1');
    expect(await show(t.ctx.preparedPool, 'random_page_cost')).toBe('1.1');
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
