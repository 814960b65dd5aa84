import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import client from 'prom-client';
import type pg from 'pg';
import { parseAllowList } from '../lib/metrics/allow-list.js';
import { defineRoute } from '../lib/route-contract/index.js';
import { appMetrics, RUNNERS_API_PREFIX } from '../lib/metrics/app-metrics.js';
import { runnerCache } from '../services/runner-cache/runner-cache.js';
import { CachedFleetSnapshot, UNFINISHED_JOB_STATUSES } from '../services/metrics/fleet-snapshot.js';

// GET /-/metrics in Prometheus' text format, answered like GitLab's only to
// the addresses in METRICS_ALLOWED_IPS (404 to anyone else, no token), and
// the hook that counts every request. See docs/metrics.md.

/** The endpoints that authenticate with a runner token: a 403 there is a failed runner authentication. */
const RUNNER_TOKEN_ROUTES = new Set([
  'POST /api/v4/jobs/request',
  'POST /api/v4/runners/verify',
  'POST /api/v4/runners/reset_authentication_token',
  'DELETE /api/v4/runners',
  'DELETE /api/v4/runners/managers',
]);
const POLL_ROUTE = '/api/v4/jobs/request';

async function metrics(app: FastifyInstance) {
  const ctx = app.ctx;
  const m = appMetrics(ctx);
  const allowList = parseAllowList(ctx.config.METRICS_ALLOWED_IPS);
  const fleet = new CachedFleetSnapshot(ctx, ctx.config.METRICS_GAUGE_REFRESH_SECONDS * 1000);
  const cache = runnerCache(ctx);
  const registers = [m.registry];

  new client.Gauge({
    name: `${RUNNERS_API_PREFIX}runners`,
    help: 'Runners by type, status (stale, never_contacted, online, offline) and paused, from a snapshot at most METRICS_GAUGE_REFRESH_SECONDS old',
    labelNames: ['runner_type', 'status', 'paused'] as const,
    registers,
    async collect() {
      const snapshot = await fleet.get();
      this.reset();
      for (const type of ['instance_type', 'group_type', 'project_type']) {
        for (const status of ['online', 'offline', 'stale', 'never_contacted']) {
          for (const paused of ['false', 'true']) this.labels(type, status, paused).set(0);
        }
      }
      for (const r of snapshot.runners) this.labels(r.runner_type, r.status, String(r.paused)).set(r.count);
    },
  });
  new client.Gauge({
    name: `${RUNNERS_API_PREFIX}runner_managers`,
    help: 'Runner managers by the version they last reported ("" when none)',
    labelNames: ['version'] as const,
    registers,
    async collect() {
      const snapshot = await fleet.get();
      this.reset();
      for (const v of snapshot.managersByVersion) this.labels(v.version).set(v.count);
    },
  });
  new client.Gauge({
    name: `${RUNNERS_API_PREFIX}jobs`,
    help: 'Jobs that have not finished, by status',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      const snapshot = await fleet.get();
      this.reset();
      for (const status of UNFINISHED_JOB_STATUSES) this.labels(status).set(0);
      for (const j of snapshot.jobsByStatus) this.labels(j.status).set(j.count);
    },
  });
  new client.Gauge({
    name: `${RUNNERS_API_PREFIX}fleet_snapshot_age_seconds`,
    help: 'Age of the snapshot the runner, manager and job gauges come from',
    registers,
    async collect() {
      const snapshot = await fleet.get();
      this.set((Date.now() - snapshot.takenAt) / 1000);
    },
  });

  // GitLab's gitlab_database_connection_pool_* gauges, one `class` per pg pool.
  const pools: [string, pg.Pool][] = [['main', ctx.pool], ['prepared', ctx.preparedPool]];
  const poolGauge = (suffix: string, help: string, read: (p: pg.Pool) => number) =>
    new client.Gauge({
      name: `gitlab_database_connection_pool_${suffix}`,
      help,
      labelNames: ['class'] as const,
      registers,
      collect() {
        for (const [name, pool] of pools) this.labels(name).set(read(pool));
      },
    });
  poolGauge('size', 'Connection pool capacity', (p) => p.options.max ?? 10);
  poolGauge('connections', 'Current connections in the pool', (p) => p.totalCount);
  poolGauge('busy', 'Connections in use', (p) => p.totalCount - p.idleCount);
  poolGauge('idle', 'Connections not in use', (p) => p.idleCount);
  poolGauge('waiting', 'Queries waiting for a connection', (p) => p.waitingCount);

  new client.Counter({
    name: `${RUNNERS_API_PREFIX}token_cache_lookups_total`,
    help: 'Token lookups answered from the in-memory caches (hit) or not (miss): runner tokens and personal access tokens',
    labelNames: ['cache', 'result'] as const,
    registers,
    collect() {
      this.reset();
      const caches = [['runner_token', cache.runners.lookups], ['personal_access_token', cache.pats.lookups]] as const;
      for (const [name, counts] of caches) {
        this.labels(name, 'hit').inc(counts.hits);
        this.labels(name, 'miss').inc(counts.misses);
      }
    },
  });
  new client.Gauge({
    name: `${RUNNERS_API_PREFIX}token_cache_entries`,
    help: 'Runners held in the runner token cache',
    registers,
    collect() {
      this.set(cache.runners.size);
    },
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '';
    const status = reply.statusCode;
    m.observeRequest(request.method, route, status, reply.elapsedTime / 1000);
    if (route === POLL_ROUTE && request.method === 'POST') m.observePoll(status);
    if (status === 403 && RUNNER_TOKEN_ROUTES.has(`${request.method} ${route}`)) m.runnerAuthFailure.inc();
    done();
  });

  defineRoute(
    app,
    {
      method: 'GET', path: '/-/metrics', summary: 'Prometheus metrics (METRICS_ALLOWED_IPS only; 404 to anyone else)', tags: ['monitoring'], auth: 'none',
      responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
    },
    async (_input, request, reply) => {
      if (!allowList.allows(request.ip)) return reply.callNotFound();
      const text = await m.registry.metrics();
      return reply.type(m.registry.contentType).header('cache-control', 'no-store').send(text);
    },
  );
}

export default fp(metrics, { name: 'metrics', dependencies: ['app-context'] });
