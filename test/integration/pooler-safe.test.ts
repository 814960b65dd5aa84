import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, RunnerSimulator } from '../helpers/runner-simulator.js';
import { startWireProxy, type WireProxy } from '../helpers/pg-wire-proxy.js';

// DATABASE_URL marked ?pgbouncer=true leads to a transaction-mode pooler
// (docs/scaling.md): the pooled connections must never carry a named
// statement (the pooler hands each transaction to whichever server
// connection is free, where the name is unknown or already taken) nor
// session settings. A wire proxy stands where PgBouncer would and reads
// every Parse message the server's pools send.

/** Polls, heartbeats, registration, lists, a job handed out and finished: every hot path with a named statement. */
async function exercise(t: TestApp) {
  const group = await t.fx.group();
  const project = await t.fx.project({ namespace: group });
  const { token } = await t.fx.runner({ projects: [project] });
  const sim = RunnerSimulator.forApp(t.app);
  expect((await sim.verify(token)).statusCode).toBe(200);
  expect((await sim.requestJob(token)).statusCode).toBe(204);
  await createPipeline(t, project, singleJob('build'));
  const res = await sim.requestJob(token);
  expect(res.statusCode).toBe(201);
  const job = decodeJobResponse(res);
  expect((await sim.updateJob(job.id, job.token, { state: 'success' })).statusCode).toBe(200);
  for (const url of ['/api/v4/runners/all', '/api/v4/runners/all?page=2&per_page=1', `/api/v4/projects/${project.id}/runners`, '/api/v4/runners/all?tag_list=x']) {
    expect((await t.api({ method: 'GET', url })).statusCode).toBe(200);
  }
  // Coalesced heartbeats are written when the app closes.
}

/**
 * A server whose pools go through a fresh wire proxy (marked as a pooler or
 * not); the session work goes direct. Under `npm run test:pooler` the marked
 * server's proxy stands in front of the real PgBouncer (transaction mode), so
 * what is read is what reaches it; the unmarked one goes to PostgreSQL, since
 * its named statements are not meant for a pooler.
 */
async function serverThroughProxy(mark: boolean): Promise<{ t: TestApp; proxy: WireProxy }> {
  const pooler = process.env.TEST_DATABASE_POOLER_URL;
  const target = new URL(mark && pooler ? pooler : inject('pgAdminUrl'));
  const proxy = await startWireProxy({ host: target.hostname, port: Number(target.port) });
  const t = await createTestApp({}, {
    connectVia: (databaseUrl) => {
      const u = new URL(databaseUrl);
      u.host = `127.0.0.1:${proxy.port}`;
      if (mark) u.searchParams.set('pgbouncer', 'true');
      return { url: u.toString(), directUrl: mark ? databaseUrl : undefined };
    },
  });
  return { t, proxy };
}

describe('DATABASE_URL marked ?pgbouncer=true', () => {
  let t: TestApp;
  let proxy: WireProxy;
  beforeAll(async () => {
    ({ t, proxy } = await serverThroughProxy(true));
    await exercise(t);
    await t.app.close(); // flushes the coalesced heartbeats through the pool
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
  });

  it('sends no statement name through the pooler: every Parse names the unnamed statement', () => {
    // The hot paths did go through the proxy...
    expect(proxy.log.parseTexts.some((q) => q.includes('runner_managers'))).toBe(true);
    expect(proxy.log.parseTexts.some((q) => /FROM runners/i.test(q))).toBe(true);
    // ...and none of them named its statement.
    expect(proxy.log.parseNames.filter((n) => n !== '')).toEqual([]);
  });

  it('sets nothing in the pooled sessions: no options startup parameter, no SET, no LISTEN, no session advisory lock', () => {
    expect(proxy.log.startups.length).toBeGreaterThan(0);
    expect(proxy.log.startups.filter((p) => 'options' in p)).toEqual([]);
    const statements = [...proxy.log.queries, ...proxy.log.parseTexts];
    expect(statements.filter((q) => /^\s*(SET|RESET)\s/i.test(q) && !/^\s*SET\s+LOCAL\s/i.test(q))).toEqual([]);
    expect(statements.filter((q) => /\bLISTEN\b|pg_advisory_lock\(/i.test(q))).toEqual([]);
  });
});

describe('DATABASE_URL without the mark', () => {
  it('keeps named statements (planned once per connection) and the session settings', async () => {
    const { t, proxy } = await serverThroughProxy(false);
    try {
      await exercise(t);
      expect(proxy.log.parseNames.filter((n) => n !== '').length).toBeGreaterThan(0);
      expect(proxy.log.startups.some((p) => (p.options ?? '').includes('random_page_cost=1.1'))).toBe(true);
    } finally {
      await t.close();
      await proxy.close();
    }
  });
});

describe('configuration', () => {
  it('refuses a pooled DATABASE_URL without DATABASE_DIRECT_URL, naming the variable', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://app@pgbouncer:6432/gitlab_runners?pgbouncer=true' })).toThrow(/DATABASE_DIRECT_URL/);
    expect(() =>
      loadConfig({
        DATABASE_URL: 'postgresql://app@pgbouncer:6432/gitlab_runners?pgbouncer=true',
        DATABASE_DIRECT_URL: 'postgresql://app@db:5432/gitlab_runners',
      }),
    ).not.toThrow();
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://app@db:5432/gitlab_runners' })).not.toThrow();
  });
});
