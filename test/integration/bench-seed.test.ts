import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBase, seedJobs, seedRunners } from '../../bench/seed.js';
import { SecretBox } from '../../src/lib/tokens.js';
import { sweepStuckJobs } from '../../src/services/jobs/stuck-job-sweeper.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// The bench's data must stay as seeded while it measures: its scenario 1 is
// "a poll that finds no job", and the server under test runs its stuck-job
// sweeper every minute. A seeded running job the sweeper takes for stuck is
// failed, its pipeline processed, and its `created` jobs queued: runners
// then get jobs, and every announcement sends every polling runner back to
// the database, in the middle of whatever scenario the sweep lands on.

let t: TestApp;
let client: pg.Client;

beforeAll(async () => {
  t = await createTestApp();
  client = new pg.Client({ connectionString: t.dbUrl });
  await client.connect();
  const info = await seedBase(client, new SecretBox('bench-seed-test-secret-key-0123456789abcdef'));
  await seedRunners(client, info, 1, 1000);
  await seedJobs(client, info);
}, 120_000);

afterAll(async () => {
  await client?.end();
  await t?.close();
});

const countByStatus = async () => {
  const { rows } = await client.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM jobs GROUP BY status ORDER BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
};

describe('bench seed', () => {
  it('seeds running jobs that the stuck-job sweeper leaves alone, and no pending job', async () => {
    const before = await countByStatus();
    expect(before.running).toBeGreaterThan(0);
    expect(before.created).toBeGreaterThan(0);
    expect(before.pending).toBeUndefined();

    expect(await sweepStuckJobs(t.ctx)).toEqual({ stale: 0, timedOut: 0, pendingTooLong: 0 });
    expect(await countByStatus()).toEqual(before);
  });
});
