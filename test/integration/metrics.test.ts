import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { loadConfig } from '../../src/config.js';
import { parseAllowList } from '../../src/lib/metrics/allow-list.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createListeningApp } from '../helpers/listen.js';
import { createPipeline, singleJob } from '../helpers/ci.js';

// GET /-/metrics (docs/metrics.md): who may read it, and that each value
// moves with the action that should move it. The exposition text is parsed
// here, not by prom-client.

type Samples = Map<string, number>;

/** `name{a="x",b="y"} 12` lines → "name{a="x",b="y"}" (labels sorted) → value. Comments are skipped. */
function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]));
  }
  return samples;
}

/** The sample `name` with exactly these labels (0 when absent, as Prometheus' counters start). */
function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort();
  return samples.get(parts.length ? `${name}{${parts.join(',')}}` : name) ?? 0;
}

let t: TestApp;
let group: Namespace;
let project: Project;

async function scrape(app: TestApp = t): Promise<Samples> {
  const res = await app.app.inject({ method: 'GET', url: '/-/metrics', remoteAddress: '127.0.0.1' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body);
}

const poll = (token: string) =>
  t.api({ method: 'POST', url: '/api/v4/jobs/request', token: null, payload: { token, info: { version: '17.5.1' } } });

beforeAll(async () => {
  // A short refresh interval, so that the fleet gauges move within a test (still never per scrape).
  t = await createTestApp({ METRICS_GAUGE_REFRESH_SECONDS: '0.2' });
  group = await t.fx.group();
  project = await t.fx.project({ namespace: group });
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  await t.fx.runner({ type: 'instance_type', contactedAt: new Date(now - 60_000) });
  await t.fx.runner({ type: 'instance_type', contactedAt: new Date(now - 3 * 3600 * 1000), active: false });
  await t.fx.runner({ type: 'group_type', group, contactedAt: null });
  await t.fx.runner({ type: 'project_type', projects: [project], contactedAt: null, createdAt: new Date(now - 10 * day) });
});
afterAll(async () => {
  await t?.close();
});

describe('who may read /-/metrics', () => {
  it('answers loopback by default, over real HTTP, without a token', async () => {
    const server = await createListeningApp();
    try {
      const res = await fetch(`${server.url}/-/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# TYPE http_requests_total counter');
    } finally {
      await server.close();
    }
  });

  it('answers 404, as for an unknown path, to an address outside METRICS_ALLOWED_IPS', async () => {
    const other = await createTestApp({ METRICS_ALLOWED_IPS: '10.1.0.0/16, 192.168.7.7' });
    try {
      const asLoopback = await other.app.inject({ method: 'GET', url: '/-/metrics', remoteAddress: '127.0.0.1' });
      const unknown = await other.app.inject({ method: 'GET', url: '/-/no-such-page', remoteAddress: '127.0.0.1' });
      expect(asLoopback.statusCode).toBe(404);
      expect(asLoopback.body).toBe(unknown.body.replace('/-/no-such-page', '/-/metrics'));
      expect((await other.app.inject({ method: 'GET', url: '/-/metrics', remoteAddress: '10.1.200.3' })).statusCode).toBe(200);
      expect((await other.app.inject({ method: 'GET', url: '/-/metrics', remoteAddress: '192.168.7.7' })).statusCode).toBe(200);
      expect((await other.app.inject({ method: 'GET', url: '/-/metrics', remoteAddress: '192.168.7.8' })).statusCode).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('matches addresses and ranges of both families, IPv4 clients of a dual-stack socket included', () => {
    const list = parseAllowList('127.0.0.0/8,::1/128,2001:db8::/32,10.0.0.5');
    const cases: [string, boolean][] = [
      ['127.0.0.1', true],
      ['127.255.0.9', true],
      ['::ffff:127.0.0.1', true],
      ['::1', true],
      ['2001:db8:1::7', true],
      ['2001:db9::1', false],
      ['10.0.0.5', true],
      ['10.0.0.6', false],
      ['192.0.2.1', false],
      ['not-an-ip', false],
    ];
    expect(cases.map(([ip]) => [ip, list.allows(ip)])).toEqual(cases);
  });

  it('refuses to start with an entry that is not an address or range', () => {
    expect(() => loadConfig({ METRICS_ALLOWED_IPS: '127.0.0.1,10.0.0.0/33' })).toThrow('METRICS_ALLOWED_IPS: not an IP address or CIDR range: "10.0.0.0/33"');
    expect(() => loadConfig({ METRICS_ALLOWED_IPS: 'localhost' })).toThrow('not an IP address or CIDR range: "localhost"');
  });
});

describe('values that move with what the server does', () => {
  it('counts requests by route template, method and status, with their durations', async () => {
    const before = await scrape();
    const runner = await t.fx.runner({ type: 'instance_type' });
    for (let i = 0; i < 3; i++) expect((await t.api({ method: 'GET', url: `/api/v4/runners/${runner.runner.id}` })).statusCode).toBe(200);
    expect((await t.api({ method: 'GET', url: '/api/v4/runners/999999' })).statusCode).toBe(404);
    const after = await scrape();
    const labels = { method: 'GET', route: '/api/v4/runners/:id' };
    expect(sample(after, 'http_requests_total', { ...labels, status: '200' }) - sample(before, 'http_requests_total', { ...labels, status: '200' })).toBe(3);
    expect(sample(after, 'http_requests_total', { ...labels, status: '404' }) - sample(before, 'http_requests_total', { ...labels, status: '404' })).toBe(1);
    expect(sample(after, 'http_request_duration_seconds_count', labels) - sample(before, 'http_request_duration_seconds_count', labels)).toBe(4);
    expect(sample(after, 'http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(sample(after, 'http_request_duration_seconds_count', labels));
  });

  it('counts polls by outcome, runner authentications, queue time and token cache hits', async () => {
    const { token } = await t.fx.runner({ type: 'project_type', projects: [project] });
    const before = await scrape();

    expect((await poll('glrt-not-a-real-token')).statusCode).toBe(403);
    expect((await poll(token)).statusCode).toBe(204);
    expect((await poll(token)).statusCode).toBe(204);
    await createPipeline(t, project, singleJob());
    expect((await poll(token)).statusCode).toBe(201);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect({
      job: delta('runners_api_job_requests_total', { outcome: 'job', status: '201' }),
      no_job: delta('runners_api_job_requests_total', { outcome: 'no_job', status: '204' }),
      forbidden: delta('runners_api_job_requests_total', { outcome: 'client_error', status: '403' }),
      auth_success_project: delta('gitlab_ci_runner_authentication_success_total', { type: 'project_type' }),
      auth_failure: delta('gitlab_ci_runner_authentication_failure_total'),
      queued_jobs_taken_by_project_runners: delta('job_queue_duration_seconds_count', { shared_runner: 'false' }),
      taken_within_a_minute: delta('job_queue_duration_seconds_bucket', { shared_runner: 'false', le: '60' }),
    }).toEqual({ job: 1, no_job: 2, forbidden: 1, auth_success_project: 3, auth_failure: 1, queued_jobs_taken_by_project_runners: 1, taken_within_a_minute: 1 });
    // The first poll of a token reads the database, later ones are answered from the cache.
    expect(delta('runners_api_token_cache_lookups_total', { cache: 'runner_token', result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(delta('runners_api_token_cache_lookups_total', { cache: 'runner_token', result: 'miss' })).toBeGreaterThanOrEqual(2);
    // Every scrape above was one PRIVATE-TOKEN request or more: root's token is cached.
    expect(delta('runners_api_token_cache_lookups_total', { cache: 'personal_access_token', result: 'hit' })).toBeGreaterThanOrEqual(1);
  });

  it('reports runners by type and status, managers by version and unfinished jobs from a cached snapshot', async () => {
    // beforeAll: online instance runner, paused instance runner last seen 3 h ago, a group runner never
    // contacted, a project runner created 10 days ago and never contacted (stale); the earlier tests added an
    // instance runner and a project runner whose polls reported 17.5.1 and took a job. The snapshot a scrape
    // answers from may predate those polls, so wait for one that has them all.
    const total = (s: Samples) => [...s.entries()].filter(([k]) => k.startsWith('runners_api_runners{')).reduce((sum, [, v]) => sum + v, 0);
    const view = (s: Samples) => ({
      runners: total(s),
      pausedOffline: sample(s, 'runners_api_runners', { runner_type: 'instance_type', status: 'offline', paused: 'true' }),
      groupNeverContacted: sample(s, 'runners_api_runners', { runner_type: 'group_type', status: 'never_contacted', paused: 'false' }),
      projectStale: sample(s, 'runners_api_runners', { runner_type: 'project_type', status: 'stale', paused: 'false' }),
      managersOn1751: sample(s, 'runners_api_runner_managers', { version: '17.5.1' }),
      runningJobs: sample(s, 'runners_api_jobs', { status: 'running' }),
    });
    await expect
      .poll(async () => view(await scrape()), { timeout: 20_000, interval: 100 })
      .toEqual({ runners: 6, pausedOffline: 1, groupNeverContacted: 1, projectStale: 1, managersOn1751: 1, runningJobs: 1 });

    // A new runner shows once a scrape finds the snapshot older than the refresh interval and refreshes it.
    await t.fx.runner({ type: 'group_type', group, contactedAt: new Date() });
    await expect
      .poll(async () => sample(await scrape(), 'runners_api_runners', { runner_type: 'group_type', status: 'online', paused: 'false' }), { timeout: 20_000, interval: 100 })
      .toBe(1);
    expect(sample(await scrape(), 'runners_api_fleet_snapshot_age_seconds')).toBeLessThan(5);
  });

  it('reports both database pools and the default process metrics', async () => {
    const s = await scrape();
    for (const cls of ['main', 'prepared']) {
      expect(sample(s, 'gitlab_database_connection_pool_size', { class: cls })).toBe(5);
      const connections = sample(s, 'gitlab_database_connection_pool_connections', { class: cls });
      expect(sample(s, 'gitlab_database_connection_pool_busy', { class: cls }) + sample(s, 'gitlab_database_connection_pool_idle', { class: cls })).toBe(connections);
      expect(s.has(`gitlab_database_connection_pool_waiting{class="${cls}"}`)).toBe(true);
    }
    expect(sample(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(s.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(s.has('process_cpu_seconds_total')).toBe(true);
  });
});
