import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline } from '../helpers/ci.js';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';

// How many statements the benchmarked requests (bench/README.md) send to
// PostgreSQL: a load-independent measure of their cost. Every pool of the
// server, Prisma's included, talks through pg.Client#query.

let t: TestApp;
let group: Namespace & { runnersToken: string };
let project: Project & { runnersToken: string };
let statements: string[] = [];
const originalQuery = pg.Client.prototype.query;

beforeAll(async () => {
  // No background task may run while statements are counted.
  t = await createTestApp({ STALE_RUNNER_PRUNING_INTERVAL_SECONDS: '0' });
  group = await t.fx.group();
  project = await t.fx.project({ namespace: group });
  pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
    const q = args[0];
    const text: string = typeof q === 'string' ? q : (q?.text ?? String(q));
    // The cache listener's keep-alive probe (runner-cache/notifications.ts) runs on its own timer.
    if (text !== 'SELECT 1') statements.push(text);
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
});
afterAll(async () => {
  pg.Client.prototype.query = originalQuery;
  await t?.close();
});

/** The first words of each statement one request sends. */
async function statementsOf(request: () => Promise<{ statusCode: number }>, expectedStatus: number): Promise<string[]> {
  statements = [];
  const res = await request();
  expect(res.statusCode).toBe(expectedStatus);
  return statements.map((s) => s.trim().split(/\s+/).slice(0, 2).join(' '));
}

describe('SQL round trips of the benchmarked requests', () => {
  it('registration with a project or group token: one statement reads the token, one writes runner, owner link and audit event', async () => {
    for (const token of [project.runnersToken, group.runnersToken]) {
      const sent = await statementsOf(() => t.api({ method: 'POST', url: '/api/v4/runners', payload: { token, description: 'counted' }, token: null }), 201);
      expect(sent).toEqual(['SELECT s.allow_runner_registration_token', 'WITH r']);
    }
  });

  it('an empty poll of a known runner is answered from memory: no statement (its heartbeat is written in batches later)', async () => {
    const { token } = await t.fx.runner({ projects: [project] });
    const poll = () =>
      t.app.inject({ method: 'POST', url: '/api/v4/jobs/request', payload: { token, info: { name: 'gitlab-runner' } }, headers: { 'content-type': 'application/json' } });
    await statementsOf(poll, 204); // the first poll loads the runner
    expect([await statementsOf(poll, 204), await statementsOf(poll, 204)]).toEqual([[], []]);
  });

  it('a hand-out to a known runner with jobs pending is one statement per job, and the poll after the backlog is gone one more', async () => {
    const handoutProject = await t.fx.project({ namespace: group });
    const { token } = await t.fx.runner({ projects: [handoutProject] });
    const poll = () =>
      t.app.inject({ method: 'POST', url: '/api/v4/jobs/request', payload: { token, info: { name: 'gitlab-runner' } }, headers: { 'content-type': 'application/json' } });
    await statementsOf(poll, 204); // the first poll loads the runner
    await createPipeline(t, handoutProject, 'one:\n  script: [a]\ntwo:\n  script: [b]\n');
    expect([await statementsOf(poll, 201), await statementsOf(poll, 201), await statementsOf(poll, 204), await statementsOf(poll, 204)]).toEqual([
      ['WITH runner_ok'],
      ['WITH runner_ok'],
      ['WITH runner_ok'],
      [],
    ]);
  });

  it('runner details: one statement once the personal access token is known', async () => {
    const { runner } = await t.fx.runner({ projects: [project] });
    const details = () => t.api({ method: 'GET', url: `/api/v4/runners/${runner.id}` });
    await statementsOf(details, 200);
    expect(await statementsOf(details, 200)).toEqual(['SELECT r.id,']);
  });

  it('a list page is one statement with its count (project runners: the project lookup, then the page)', async () => {
    await t.fx.runner({ group, tags: ['docker', 'linux'], contactedAt: new Date() });
    await t.fx.runner({ projects: [project], tags: ['docker'], contactedAt: new Date() });
    await t.fx.runner({ tags: ['docker', 'linux'], contactedAt: new Date() });
    const pages = {
      all: '/api/v4/runners/all?per_page=100&page=1',
      tags: '/api/v4/runners/all?tag_list=docker,linux&status=online&per_page=100',
      version: '/api/v4/runners/all?version_prefix=16.1',
      project: `/api/v4/projects/${project.id}/runners?page=1`,
    };
    const sent: Record<string, string[]> = {};
    for (const [name, url] of Object.entries(pages)) {
      await statementsOf(() => t.api({ method: 'GET', url }), 200);
      sent[name] = await statementsOf(() => t.api({ method: 'GET', url }), 200);
    }
    // Counts under 1,000 are never kept, so each of these pages counts its list again, in its own statement.
    expect(sent).toEqual({
      all: ['SELECT r.id,'],
      tags: ['SELECT r.id,'],
      version: ['SELECT r.id,'],
      project: ['SELECT p.*,', 'SELECT r.id,'],
    });
  });

  it('requests for a list at once share one count: one statement counts, the others read their page only', async () => {
    const url = (page: number) => `/api/v4/runners/all?tag_list=docker&status=online&per_page=1&page=${page}`;
    statements = [];
    const responses = await Promise.all([1, 2, 3, 1].map((page) => t.api({ method: 'GET', url: url(page) })));
    expect(responses.map((r) => [r.statusCode, r.headers['x-total']])).toEqual([
      [200, '3'],
      [200, '3'],
      [200, '3'],
      [200, '3'],
    ]);
    expect(statements.filter((s) => s.includes('count(*)')).length).toBe(1);
    expect(statements.length).toBe(4);
  });
});
