import client from 'prom-client';

// One Prometheus registry per app instance (several can share a process in
// tests), found from the AppContext like the runner cache is. Names and
// labels follow GitLab's own metrics where GitLab exports the same thing
// (docs.gitlab.com/administration/monitoring/prometheus/gitlab_metrics);
// everything GitLab has no metric for is under one prefix, RUNNERS_API_PREFIX.
//
// Hot paths only bump counters here (a label lookup and an add); anything
// that needs the database is computed when Prometheus scrapes, from a cached
// snapshot (src/services/metrics/fleet-snapshot.ts).

export const RUNNERS_API_PREFIX = 'runners_api_';

/** Gitlab::Ci::Queue::Metrics::QUEUE_DURATION_SECONDS_BUCKETS. */
const QUEUE_DURATION_BUCKETS = [1, 3, 10, 30, 60, 300, 900, 1800, 3600];
/** Gitlab::Metrics::RailsSlis / http_request_duration_seconds buckets. */
const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25];

/** runners.runner_type → GitLab's runner_type names (the `type` label of the authentication counters). */
const RUNNER_TYPE_LABELS: Record<number, string> = { 1: 'instance_type', 2: 'group_type', 3: 'project_type' };

export type PollOutcome = 'job' | 'no_job' | 'client_error' | 'server_error';

/** Counts kept by the token caches themselves (one `++` on each lookup) and read at scrape time. */
export interface CacheCounts {
  hits: number;
  misses: number;
}

/**
 * Requests of one route template and method: answers by status and the
 * duration histogram (per bucket, not yet cumulative), in plain numbers.
 */
interface RouteTally {
  method: string;
  route: string;
  byStatus: Map<number, number>;
  /** One slot per HTTP_DURATION_BUCKETS bound, then one for +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Every request is counted here, on the hot path, with a map lookup and a few
 * additions; the Prometheus metrics are written from these numbers when they
 * are scraped. (prom-client's own `inc` / `observe` hash and check the labels
 * on every call, which was a measurable share of a poll answered from memory.)
 */
class RequestTallies {
  private readonly byRoute = new Map<string, Map<string, RouteTally>>();

  observe(method: string, route: string, status: number, seconds: number): void {
    let methods = this.byRoute.get(route);
    if (!methods) this.byRoute.set(route, (methods = new Map()));
    let tally = methods.get(method);
    if (!tally) {
      tally = { method, route, byStatus: new Map(), buckets: new Array<number>(HTTP_DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      methods.set(method, tally);
    }
    tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
    // Prometheus' `le`: the first bound the value is at or below.
    let bucket = 0;
    while (bucket < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[bucket]!) bucket++;
    tally.buckets[bucket]! += 1;
    tally.sum += seconds;
    tally.count += 1;
  }

  *all(): Iterable<RouteTally> {
    for (const methods of this.byRoute.values()) yield* methods.values();
  }

  clear(): void {
    this.byRoute.clear();
  }
}

/** Counts by one numeric key (a status code, a runner type), written into a labelled counter when scraped. */
class KeyedCounts {
  private readonly counts = new Map<number, number>();

  add(key: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  entries(): Iterable<[number, number]> {
    return this.counts.entries();
  }

  clear(): void {
    this.counts.clear();
  }
}

/**
 * http_request_duration_seconds, exported from the request tallies in the
 * shape prom-client gives its own histograms (`_bucket` with `le` first,
 * cumulative; `_sum`; `_count`).
 */
class RequestDurationHistogram {
  readonly name = 'http_request_duration_seconds';
  readonly help = 'Time to answer a request, by route template and method';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(private readonly tallies: RequestTallies) {}

  get() {
    const values: { labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string }[] = [];
    for (const t of this.tallies.all()) {
      const shared = { method: t.method, route: t.route };
      let cumulative = 0;
      HTTP_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += t.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: shared, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: shared, value: t.count, metricName: `${this.name}_bucket` },
        { labels: {}, sharedLabels: shared, value: t.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: shared, value: t.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.tallies.clear();
  }
}

const POLL_OUTCOME = (status: number): PollOutcome => (status === 201 ? 'job' : status === 204 ? 'no_job' : status < 500 ? 'client_error' : 'server_error');

export class AppMetrics {
  readonly registry = new client.Registry();

  private readonly requests = new RequestTallies();
  private readonly polls = new KeyedCounts();
  private readonly runnerAuths = new KeyedCounts();

  readonly httpRequests: client.Counter<'method' | 'route' | 'status'>;
  readonly jobRequests: client.Counter<'outcome' | 'status'>;
  readonly runnerAuthSuccess: client.Counter<'type'>;

  readonly runnerAuthFailure = new client.Counter({
    name: 'gitlab_ci_runner_authentication_failure_total',
    help: 'Total number of times that runner authentication has failed',
    registers: [this.registry],
  });

  readonly jobQueueDuration = new client.Histogram({
    name: 'job_queue_duration_seconds',
    help: 'Time a job waited in the queue until a runner took it',
    labelNames: ['shared_runner'] as const,
    buckets: QUEUE_DURATION_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    const { requests, polls, runnerAuths } = this;
    this.httpRequests = new client.Counter({
      name: 'http_requests_total',
      help: 'Requests handled, by route template, method and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const t of requests.all()) for (const [status, n] of t.byStatus) this.labels(t.method, t.route, String(status)).inc(n);
      },
    });
    this.registry.registerMetric(new RequestDurationHistogram(requests) as unknown as client.Metric);
    this.jobRequests = new client.Counter({
      name: `${RUNNERS_API_PREFIX}job_requests_total`,
      help: 'Runner polls (POST /api/v4/jobs/request) by outcome: job (201), no_job (204), client_error (4xx), server_error (5xx)',
      labelNames: ['outcome', 'status'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [status, n] of polls.entries()) this.labels(POLL_OUTCOME(status), String(status)).inc(n);
      },
    });
    this.runnerAuthSuccess = new client.Counter({
      name: 'gitlab_ci_runner_authentication_success_total',
      help: 'Total number of times that runner authentication has succeeded',
      labelNames: ['type'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [type, n] of runnerAuths.entries()) this.labels(RUNNER_TYPE_LABELS[type] ?? String(type)).inc(n);
      },
    });
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** One finished request; `route` is the route template ('' when no route matched). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe(method, route, status, seconds);
  }

  observePoll(status: number): void {
    this.polls.add(status);
  }

  /** A runner token was accepted (GitLab counts this in authenticate_runner!). */
  runnerAuthenticated(runnerTypeId: number): void {
    this.runnerAuths.add(runnerTypeId);
  }

  /** A runner took a job that was queued at `queuedAt`. */
  observeJobTaken(queuedAt: Date, instanceRunner: boolean, now = Date.now()): void {
    this.jobQueueDuration.labels(String(instanceRunner)).observe(Math.max(0, now - queuedAt.getTime()) / 1000);
  }
}

const byContext = new WeakMap<object, AppMetrics>();

/** The metrics of the app that owns `ctx` (created on first use). */
export function appMetrics(ctx: object): AppMetrics {
  let metrics = byContext.get(ctx);
  if (!metrics) {
    metrics = new AppMetrics();
    byContext.set(ctx, metrics);
  }
  return metrics;
}
