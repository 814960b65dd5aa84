import type { AppContext } from '../../context.js';
import { ONLINE_CONTACT_TIMEOUT_MS, RUNNER_TYPE_NAMES, STALE_TIMEOUT_MS } from '../runners/runner-core.js';

// The fleet gauges of /-/metrics (runners by type and status, managers by
// version, unfinished jobs by status) come from three GROUP BY statements.
// They are never run per scrape: a scrape is answered from the last snapshot
// and, once that is older than METRICS_GAUGE_REFRESH_SECONDS, starts one
// refresh in the background (at most one at a time). At 100,000 runners the
// runners statement is one sequential scan (tens of ms) per refresh interval,
// whatever the scrape rate; nothing runs while nobody scrapes.

export interface RunnerCount {
  runner_type: string;
  /** HasRunnerStatus#status: stale, never_contacted, online or offline. */
  status: string;
  paused: boolean;
  count: number;
}

export interface FleetSnapshot {
  runners: RunnerCount[];
  managersByVersion: { version: string; count: number }[];
  jobsByStatus: { status: string; count: number }[];
  takenAt: number;
}

/** Job statuses before a job finishes: the queue an operator watches. Finished jobs are not counted (they only grow). */
export const UNFINISHED_JOB_STATUSES = [
  'created', 'waiting_for_resource', 'preparing', 'waiting_for_callback', 'pending', 'running', 'canceling', 'manual', 'scheduled',
] as const;

/** More distinct versions than this are summed up as version="other" (label cardinality). */
const MAX_VERSIONS = 50;

export async function takeFleetSnapshot(ctx: AppContext, now = Date.now()): Promise<FleetSnapshot> {
  const online = new Date(now - ONLINE_CONTACT_TIMEOUT_MS);
  const stale = new Date(now - STALE_TIMEOUT_MS);
  // One statement at a time: the snapshot holds at most one of the pool's connections.
  const runners = await ctx.pool.query<{ runner_type: number; status: string; paused: boolean; count: number }>(
    `SELECT runner_type,
            CASE WHEN greatest(created_at, contacted_at) <= $2 THEN 'stale'
                 WHEN contacted_at IS NULL THEN 'never_contacted'
                 WHEN contacted_at > $1 THEN 'online'
                 ELSE 'offline' END AS status,
            NOT active AS paused, count(*)::int AS count
       FROM runners GROUP BY 1, 2, 3`,
    [online, stale],
  );
  const managers = await ctx.pool.query<{ version: string; count: number }>(
    `SELECT coalesce(version, '') AS version, count(*)::int AS count FROM runner_managers GROUP BY 1 ORDER BY 2 DESC, 1`,
  );
  const jobs = await ctx.pool.query<{ status: string; count: number }>(
    `SELECT status, count(*)::int AS count FROM jobs WHERE status = ANY($1) GROUP BY 1`,
    [UNFINISHED_JOB_STATUSES],
  );
  const managersByVersion = managers.rows.slice(0, MAX_VERSIONS);
  const rest = managers.rows.slice(MAX_VERSIONS).reduce((sum, r) => sum + r.count, 0);
  if (rest > 0) managersByVersion.push({ version: 'other', count: rest });
  return {
    runners: runners.rows.map((r) => ({ ...r, runner_type: RUNNER_TYPE_NAMES[r.runner_type] ?? String(r.runner_type) })),
    managersByVersion,
    jobsByStatus: jobs.rows,
    takenAt: now,
  };
}

/** The last snapshot, refreshed in the background once older than `maxAgeMs`; the first call waits for one. */
export class CachedFleetSnapshot {
  private last: FleetSnapshot | undefined;
  private refreshing: Promise<FleetSnapshot> | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly maxAgeMs: number,
  ) {}

  async get(now = Date.now()): Promise<FleetSnapshot> {
    if (this.last && now - this.last.takenAt < this.maxAgeMs) return this.last;
    const refresh = this.refresh();
    if (this.last) {
      refresh.catch((err: unknown) => this.ctx.log.warn({ err }, 'metrics: fleet snapshot failed'));
      return this.last;
    }
    return refresh;
  }

  private refresh(): Promise<FleetSnapshot> {
    this.refreshing ??= takeFleetSnapshot(this.ctx)
      .then((snapshot) => (this.last = snapshot))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }
}
