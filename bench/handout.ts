import type pg from 'pg';
import { newRunnerToken, type RunnerTypeName, SecretBox } from '../src/lib/tokens.js';
import { runLoad, type LoadResult, type RequestSpec } from './load.js';
import { pollRequest } from './scenarios.js';
import { collectRequests, runWrk } from './wrk.js';

// Scenario "hand-out under backlog" (issue 14): a backlog of pending jobs
// over 1,000 projects and 200 runners (instance, group and project) polling
// as fast as they can; every 201 is a job handed out. Meanwhile a prober
// asks /-/readiness every 200 ms, as a load balancer would, and counts the
// probes that fail or take over a second. Measured at 10,000 pending jobs,
// then again after topping the backlog up to 100,000: a queue whose cost does
// not grow with its backlog hands out at about the same rate.

export const BACKLOG_PROJECTS = 1_000;
export const BACKLOG_RUNNERS = { instance: 100, group: 50, project: 50 };
const JOBS_PER_PIPELINE = 10;
const PROBE_INTERVAL_MS = 200;
const PROBE_TIMEOUT_MS = 1_000;

export interface BacklogRunner {
  id: number;
  token: string;
  systemId: string;
}

/** The 200 polling runners: instance, group (on the top-level groups) and project runners (on backlog projects); tags docker+linux, untagged jobs too. */
export async function seedBacklogRunners(client: pg.Client, box: SecretBox): Promise<BacklogRunner[]> {
  const kinds: Array<[RunnerTypeName, number]> = [
    ['instance_type', BACKLOG_RUNNERS.instance],
    ['group_type', BACKLOG_RUNNERS.group],
    ['project_type', BACKLOG_RUNNERS.project],
  ];
  const types = { instance_type: 1, group_type: 2, project_type: 3 } as const;
  const tops = await client.query<{ id: number }>(`SELECT id FROM namespaces WHERE kind = 'group' AND parent_id IS NULL ORDER BY id`);
  const runners: BacklogRunner[] = [];
  await client.query('BEGIN');
  for (const [type, count] of kinds) {
    for (let i = 0; i < count; i++) {
      const token = newRunnerToken(type, false);
      const groupId = type === 'group_type' ? tops.rows[i % tops.rows.length]!.id : null;
      const projectId = type === 'project_type' ? 1 + ((i * 97) % BACKLOG_PROJECTS) : null;
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO runners (runner_type, description, active, run_untagged, tag_list, sharding_key_id, token_digest, creation_state, contacted_at)
         VALUES ($1, $2, true, true, ARRAY['docker', 'linux'], $3, $4, 100, now()) RETURNING id`,
        [types[type], `backlog ${type} ${i}`, groupId ?? projectId, box.digest(token)],
      );
      const id = rows[0]!.id;
      if (groupId) await client.query('INSERT INTO runner_namespaces (runner_id, namespace_id) VALUES ($1, $2)', [id, groupId]);
      if (projectId) await client.query('INSERT INTO runner_projects (runner_id, project_id) VALUES ($1, $2)', [id, projectId]);
      runners.push({ id, token, systemId: `s_${(0xb000000 + id).toString(16).padStart(12, '0')}` });
    }
  }
  await client.query('COMMIT');
  return runners;
}

/** Pending jobs up to `total` in the backlog projects (pipelines of 10; 30 % tagged docker); returns the pending count and seconds taken. */
export async function seedBacklog(client: pg.Client, userId: number, total: number): Promise<{ pending: number; seconds: number }> {
  const started = Date.now();
  const current = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ci_pending_builds`);
  const missing = total - current.rows[0]!.n;
  if (missing > 0) {
    const pipelines = Math.ceil(missing / JOBS_PER_PIPELINE);
    await client.query('BEGIN');
    // Pipelines round-robin over the projects: every project has jobs, in interleaved age.
    const { rows } = await client.query<{ first: number }>(
      `WITH base AS (SELECT COALESCE(max(id), 0) AS m FROM pipelines),
       ins AS (
         INSERT INTO pipelines (id, iid, project_id, ref, sha, before_sha, status, source, user_id)
         SELECT base.m + i, 100000 + base.m + i, 1 + (i - 1) % $2::int, 'main', md5(i::text) || substr(md5(i::text), 1, 8), repeat('0', 40), 'pending', 'push', $3::int
         FROM base, generate_series(1, $1::int) i
         RETURNING id)
       SELECT min(id) AS first FROM ins`,
      [pipelines, BACKLOG_PROJECTS, userId],
    );
    await client.query(`SELECT setval(pg_get_serial_sequence('pipelines', 'id'), (SELECT max(id) FROM pipelines))`);
    await client.query(
      `INSERT INTO jobs (project_id, pipeline_id, name, stage, stage_idx, status, ref, protected, tag_list, options, user_id, queued_at)
       SELECT p.project_id, p.id, 'job-' || k, 'test', 0, 'pending', 'main', false,
              CASE WHEN k % 10 < 3 THEN ARRAY['docker'] ELSE ARRAY[]::text[] END,
              '{"script": ["echo hello"]}'::jsonb, $2::int, now()
       FROM pipelines p, generate_series(1, $3::int) k
       WHERE p.id >= $1::int
       LIMIT $4::int`,
      [rows[0]!.first, userId, JOBS_PER_PIPELINE, missing],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE ci_pending_builds; ANALYZE ci_instance_queues; ANALYZE jobs; ANALYZE pipelines');
  }
  const after = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ci_pending_builds`);
  return { pending: after.rows[0]!.n, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

export interface HandoutResult {
  pendingAtStart: number;
  load: LoadResult;
  jobsPerSec: number;
  probes: number;
  probesFailed: number;
  probeP99: number | null;
}

/** Runs the 200 runners' polls for `durationSec` with wrk (or autocannon) while probing readiness. */
export async function measureHandout(opts: {
  baseUrl: string;
  runners: BacklogRunner[];
  connections: number;
  durationSec: number;
  pendingAtStart: number;
  useWrk: boolean;
}): Promise<HandoutResult> {
  let n = 0;
  const next = (): RequestSpec => pollRequest(opts.runners[n % opts.runners.length]!, n++);
  let stop = false;
  let probes = 0;
  let failed = 0;
  const probeTimes: number[] = [];
  const prober = (async () => {
    while (!stop) {
      const t = performance.now();
      try {
        const res = await fetch(`${opts.baseUrl}/-/readiness`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        await res.text();
        if (res.status !== 200) failed++;
      } catch {
        failed++;
      }
      probes++;
      probeTimes.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
    }
  })();
  let load: LoadResult;
  try {
    load = opts.useWrk
      ? await runWrk({ baseUrl: opts.baseUrl, requests: collectRequests(next, opts.runners.length * 4), connections: opts.connections, durationSec: opts.durationSec })
      : await runLoad({ baseUrl: opts.baseUrl, next, connections: opts.connections, durationSec: opts.durationSec });
  } finally {
    stop = true;
    await prober;
  }
  probeTimes.sort((a, b) => a - b);
  const jobs = load.statusCodes['201'] ?? 0;
  return {
    pendingAtStart: opts.pendingAtStart,
    load,
    jobsPerSec: Math.round((jobs / load.durationSec) * 10) / 10,
    probes,
    probesFailed: failed,
    probeP99: probeTimes.length ? Math.round(probeTimes[Math.min(probeTimes.length - 1, Math.ceil(0.99 * probeTimes.length) - 1)]! * 10) / 10 : null,
  };
}
