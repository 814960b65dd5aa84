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

export class AppMetrics {
  readonly registry = new client.Registry();

  readonly httpRequests = new client.Counter({
    name: 'http_requests_total',
    help: 'Requests handled, by route template, method and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by route template and method',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly jobRequests = new client.Counter({
    name: `${RUNNERS_API_PREFIX}job_requests_total`,
    help: 'Runner polls (POST /api/v4/jobs/request) by outcome: job (201), no_job (204), client_error (4xx), server_error (5xx)',
    labelNames: ['outcome', 'status'] as const,
    registers: [this.registry],
  });

  readonly runnerAuthSuccess = new client.Counter({
    name: 'gitlab_ci_runner_authentication_success_total',
    help: 'Total number of times that runner authentication has succeeded',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

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

  private readonly httpChildren = new Map<string, { count: client.Counter.Internal; duration: client.Histogram.Internal<"method" | "route"> }>();

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** One finished request; `route` is the route template ('' when no route matched). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let child = this.httpChildren.get(key);
    if (!child) {
      child = {
        count: this.httpRequests.labels(method, route, String(status)),
        duration: this.httpDuration.labels(method, route),
      };
      this.httpChildren.set(key, child);
    }
    child.count.inc();
    child.duration.observe(seconds);
  }

  observePoll(status: number): void {
    const outcome: PollOutcome = status === 201 ? 'job' : status === 204 ? 'no_job' : status < 500 ? 'client_error' : 'server_error';
    this.jobRequests.labels(outcome, String(status)).inc();
  }

  /** A runner token was accepted (GitLab counts this in authenticate_runner!). */
  runnerAuthenticated(runnerTypeId: number): void {
    this.runnerAuthSuccess.labels(RUNNER_TYPE_LABELS[runnerTypeId] ?? String(runnerTypeId)).inc();
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
