import type pg from 'pg';
import { newNamespaceRegistrationToken, newRunnerToken, SecretBox, type RunnerTypeName } from '../src/lib/tokens.js';

// Set-based seeding of a realistic runner fleet (issue 5). Everything is done
// with INSERT … SELECT over generate_series in one session, so 100,000
// runners take seconds; only the secrets the bench must know in clear text
// (10,000 runner tokens, a few registration tokens) are made in Node, with the
// server's own SecretBox, and sent in as arrays.
//
// Shape of the data:
//   - 40 top-level groups × 5 subgroups × 3 sub-subgroups (840 groups),
//     5,000 projects spread over them, a protected `main` branch each;
//   - runners: 10 % instance, 30 % group, 60 % project; 1–5 tags each from a
//     pool of 30 with skewed popularity; contacted_at 40 % online (< 2 h),
//     25 % offline (2 h – 7 d), 25 % stale (> 7 d), 10 % never contacted;
//     5 % paused, some locked / ref_protected / with maximum_timeout;
//   - one "hot" hierarchy (top group 1 ⊃ sub 1 ⊃ team 1) holding 20 % of the
//     group runners, and a hot project inside it with 1 % of the project
//     runners, so GET /projects/:id/runners has a large union to page through;
//   - every contacted runner has a manager (10 % two) with versions
//     15.x.y / 16.x.y / 17.x.y, so version_prefix=16.1 matches a few percent;
//   - 1,000 pipelines and 4,000 jobs in finished / running / created / manual
//     states — deliberately none pending, so jobs/request answers 204.
// The random generator is seeded, so every run builds the same fleet.

const GROUP_TOP = 40;
const GROUP_SUB = 5;
const GROUP_TEAM = 3;
const PROJECTS = 5_000;
const PIPELINES = 1_000;
const JOBS = 4_000;
const REGISTRATION_PROJECTS = 20;
export const HOT_GROUP_IDS = [1001, 2001, 3001] as const;

// Weighted tag pool: docker/linux are everywhere, gpu/ssd are rare.
const TAGS: [string, number][] = [
  ['docker', 30], ['linux', 30], ['amd64', 20], ['kubernetes', 12], ['shell', 10], ['aws', 10], ['build', 10],
  ['test', 10], ['arm64', 8], ['production', 8], ['deploy', 8], ['staging', 7], ['dev', 7], ['large', 6],
  ['small', 6], ['medium', 6], ['gcp', 6], ['node', 6], ['python', 6], ['windows', 5], ['azure', 5],
  ['ruby', 5], ['go', 5], ['java', 5], ['macos', 4], ['postgres', 4], ['cache', 4], ['gpu', 3],
  ['security', 3], ['ssd', 3],
];

export interface SeedInfo {
  rootUserId: number;
  hotProjectId: number;
  /** Project ids with their registration tokens in clear text (scenario 7). */
  registrationTokens: { projectId: number; token: string }[];
}

export interface PollingRunner {
  id: number;
  token: string;
  systemId: string;
}

/** The system_xid of a seeded runner's first manager (`^[sr]_[0-9a-zA-Z]{12}$`). */
export const systemIdFor = (runnerId: number) => `s_${runnerId.toString(16).padStart(12, '0')}`;

async function resetSequence(client: pg.Client, table: string) {
  await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM ${table}), 1))`);
}

/** Groups, projects, branches, registration tokens; the random seed for the whole session. */
export async function seedBase(client: pg.Client, box: SecretBox): Promise<SeedInfo> {
  await client.query('SET synchronous_commit = off');
  await client.query('SELECT setseed(0.4242)');
  const root = await client.query<{ id: number }>(`SELECT id FROM users WHERE username = 'root'`);
  const rootUserId = root.rows[0]!.id;

  await client.query('BEGIN');
  await client.query(
    `INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, traversal_ids, visibility, created_at, updated_at)
     SELECT 1000 + t, 'group', 'Bench Group ' || t, 'bench-group-' || t, 'bench-group-' || t, NULL, ARRAY[1000 + t],
            CASE WHEN t % 5 = 0 THEN 'internal' ELSE 'private' END, now() - interval '900 days', now()
     FROM generate_series(1, $1::int) t`,
    [GROUP_TOP],
  );
  await client.query(
    `INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, traversal_ids, visibility, created_at, updated_at)
     SELECT 2000 + (t - 1) * $2 + s, 'group', 'Sub ' || s, 'sub-' || s, 'bench-group-' || t || '/sub-' || s, 1000 + t,
            ARRAY[1000 + t, 2000 + (t - 1) * $2 + s], 'private', now() - interval '800 days', now()
     FROM generate_series(1, $1::int) t, generate_series(1, $2::int) s`,
    [GROUP_TOP, GROUP_SUB],
  );
  await client.query(
    `INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, traversal_ids, visibility, created_at, updated_at)
     SELECT 3000 + ((t - 1) * $2 + s - 1) * $3 + k, 'group', 'Team ' || k, 'team-' || k,
            'bench-group-' || t || '/sub-' || s || '/team-' || k, 2000 + (t - 1) * $2 + s,
            ARRAY[1000 + t, 2000 + (t - 1) * $2 + s, 3000 + ((t - 1) * $2 + s - 1) * $3 + k], 'private',
            now() - interval '700 days', now()
     FROM generate_series(1, $1::int) t, generate_series(1, $2::int) s, generate_series(1, $3::int) k`,
    [GROUP_TOP, GROUP_SUB, GROUP_TEAM],
  );
  await resetSequence(client, 'namespaces');

  // Projects round-robin over all groups (ordered by id), so every level of
  // the hierarchy has projects.
  await client.query(
    `INSERT INTO projects (id, namespace_id, name, path, path_with_namespace, visibility, creator_id, created_at, updated_at, last_activity_at)
     SELECT p, g.id, 'Project ' || p, 'project-' || p, g.full_path || '/project-' || p, 'private', $2,
            now() - interval '600 days', now(), now() - random() * interval '30 days'
     FROM generate_series(1, $1::int) p
     JOIN (SELECT row_number() OVER (ORDER BY id) AS idx, id, full_path FROM namespaces WHERE kind = 'group') g
       ON g.idx = 1 + (p - 1) % (SELECT count(*) FROM namespaces WHERE kind = 'group')`,
    [PROJECTS, rootUserId],
  );
  await resetSequence(client, 'projects');
  await client.query(`INSERT INTO protected_branches (project_id, name) SELECT id, 'main' FROM projects`);

  const hot = await client.query<{ id: number }>('SELECT min(id) AS id FROM projects WHERE namespace_id = $1', [HOT_GROUP_IDS[2]]);
  const hotProjectId = hot.rows[0]!.id;

  // Registration tokens for a handful of projects (GitLab generates them
  // lazily; the others stay NULL).
  const regProjects = await client.query<{ id: number }>(
    'SELECT id FROM projects WHERE id % $1 = 7 ORDER BY id LIMIT $2',
    [Math.floor(PROJECTS / REGISTRATION_PROJECTS), REGISTRATION_PROJECTS],
  );
  const registrationTokens = regProjects.rows.map((r) => ({ projectId: r.id, token: newNamespaceRegistrationToken() }));
  await client.query(
    `UPDATE projects p SET runners_token_digest = v.digest, runners_token_encrypted = v.encrypted
     FROM unnest($1::int[], $2::text[], $3::text[]) AS v(id, digest, encrypted) WHERE p.id = v.id`,
    [
      registrationTokens.map((t) => t.projectId),
      registrationTokens.map((t) => box.digest(t.token)),
      registrationTokens.map((t) => box.encrypt(t.token)),
    ],
  );

  await client.query(
    `CREATE TEMP TABLE bench_tags (name text PRIMARY KEY, weight float8 NOT NULL)`,
  );
  await client.query(`INSERT INTO bench_tags SELECT * FROM unnest($1::text[], $2::float8[])`, [
    TAGS.map((t) => t[0]),
    TAGS.map((t) => t[1]),
  ]);
  await client.query('COMMIT');
  return { rootUserId, hotProjectId, registrationTokens };
}

/** Runners with ids [fromId, toId], their group/project links and managers. */
export async function seedRunners(client: pg.Client, info: SeedInfo, fromId: number, toId: number): Promise<void> {
  if (toId < fromId) return;
  await client.query('BEGIN');
  await client.query('DROP TABLE IF EXISTS bench_runner_batch');
  // One row of dice per runner, materialised so that every table below sees
  // the same decisions (type, owner, contact time) for a runner.
  await client.query(
    `CREATE TEMP TABLE bench_runner_batch AS
     WITH dice AS MATERIALIZED (
       SELECT i AS id, random() AS r_type, random() AS r_owner, random() AS r_pick, random() AS r_contact,
              random() AS r_when, random() AS r_created, random() AS r_paused, random() AS r_locked,
              random() AS r_untagged, random() AS r_protected, random() AS r_timeout, random() AS r_registration,
              random() AS r_second, random() AS r_managers, 1 + floor(random() * 5)::int AS n_tags
       FROM generate_series($1::int, $2::int) i
     ), typed AS (
       SELECT d.*,
              CASE WHEN r_type < 0.10 THEN 1 WHEN r_type < 0.40 THEN 2 ELSE 3 END AS runner_type,
              CASE WHEN r_contact < 0.40 THEN now() - r_when * interval '100 minutes'
                   WHEN r_contact < 0.65 THEN now() - interval '2 hours 5 minutes' - r_when * interval '6 days 21 hours'
                   WHEN r_contact < 0.90 THEN now() - interval '7 days 1 hour' - r_when * interval '358 days'
                   ELSE NULL END AS contacted_at
       FROM dice d
     )
     SELECT t.id, t.runner_type, t.n_tags, t.contacted_at, t.r_managers,
            CASE WHEN t.contacted_at IS NOT NULL THEN t.contacted_at - t.r_created * interval '400 days'
                 ELSE now() - t.r_created * interval '30 days' END AS created_at,
            t.r_paused >= 0.05 AS active,
            t.runner_type = 3 AND t.r_locked < 0.5 AS locked,
            t.r_untagged >= 0.3 AS run_untagged,
            CASE WHEN t.r_protected < 0.1 THEN 1 ELSE 0 END AS access_level,
            CASE WHEN t.r_timeout < 0.2 THEN 3600 END AS maximum_timeout,
            t.r_registration >= 0.7 AS created_by_user,
            CASE WHEN t.runner_type = 2 THEN
                   CASE WHEN t.r_owner < 0.2 THEN ($3::int[])[1 + floor(t.r_pick * 3)::int]
                        ELSE g.ids[1 + floor(t.r_pick * array_length(g.ids, 1))::int] END
            END AS group_id,
            CASE WHEN t.runner_type = 3 THEN
                   CASE WHEN t.r_owner < 0.01 THEN $4::int ELSE 1 + floor(t.r_pick * $5::int)::int END
            END AS project_id,
            t.runner_type = 3 AND t.r_second < 0.05 AS has_second_project
     FROM typed t
     CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM namespaces WHERE kind = 'group') g`,
    [fromId, toId, HOT_GROUP_IDS, info.hotProjectId, PROJECTS],
  );
  // Tags: weighted sampling without replacement (Efraimidis–Spirakis keys).
  await client.query(
    `INSERT INTO runners (id, runner_type, description, name, active, locked, run_untagged, access_level, maximum_timeout,
                          tag_list, registration_type, creator_id, sharding_key_id, token_digest, contacted_at,
                          creation_state, created_at, updated_at)
     SELECT b.id, b.runner_type, 'bench runner ' || b.id, 'gitlab-runner', b.active, b.locked, b.run_untagged,
            b.access_level, b.maximum_timeout,
            ARRAY(SELECT t.name FROM bench_tags t ORDER BY -ln(1 - random()) / t.weight LIMIT b.n_tags),
            CASE WHEN b.created_by_user THEN 1 ELSE 0 END, CASE WHEN b.created_by_user THEN $1::int END,
            COALESCE(b.group_id, b.project_id),
            encode(sha256(convert_to('bench-runner-' || b.id, 'UTF8')), 'hex'),
            b.contacted_at, CASE WHEN b.contacted_at IS NULL THEN 0 ELSE 100 END, b.created_at, b.created_at
     FROM bench_runner_batch b`,
    [info.rootUserId],
  );
  await client.query(
    `INSERT INTO runner_namespaces (runner_id, namespace_id, created_at)
     SELECT id, group_id, created_at FROM bench_runner_batch WHERE runner_type = 2`,
  );
  await client.query(
    `INSERT INTO runner_projects (runner_id, project_id, created_at, updated_at)
     SELECT id, project_id, created_at, created_at FROM bench_runner_batch WHERE runner_type = 3
     UNION ALL
     SELECT id, project_id % $1::int + 1, created_at, created_at FROM bench_runner_batch WHERE has_second_project`,
    [PROJECTS],
  );
  await client.query(
    `INSERT INTO runner_managers (runner_id, system_xid, version, revision, platform, architecture, executor_type,
                                  ip_address, config, contacted_at, creation_state, created_at, updated_at)
     SELECT b.id,
            CASE WHEN m = 1 THEN 's_' ELSE 'r_' END || lpad(to_hex(b.id), 12, '0'),
            (ARRAY['15', '16', '16', '16', '16', '17', '17', '17', '17', '17'])[1 + floor(random() * 10)::int]
              || '.' || floor(random() * 12)::int || '.' || floor(random() * 6)::int,
            substr(md5(random()::text), 1, 8),
            (ARRAY['linux', 'linux', 'linux', 'linux', 'linux', 'linux', 'linux', 'linux', 'windows', 'darwin'])[1 + floor(random() * 10)::int],
            (ARRAY['amd64', 'amd64', 'amd64', 'arm64'])[1 + floor(random() * 4)::int],
            (ARRAY['docker', 'docker', 'docker', 'docker', 'docker', 'kubernetes', 'kubernetes', 'shell', 'docker-autoscaler', 'instance'])[1 + floor(random() * 10)::int],
            '10.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int,
            '{"gpus": ""}'::jsonb,
            CASE WHEN m = 1 THEN b.contacted_at ELSE b.contacted_at - random() * interval '3 days' END,
            100, b.created_at, b.contacted_at
     FROM bench_runner_batch b
     CROSS JOIN LATERAL generate_series(1, CASE WHEN b.r_managers < 0.1 THEN 2 ELSE 1 END) m
     WHERE b.contacted_at IS NOT NULL`,
  );
  await resetSequence(client, 'runners');
  await client.query('COMMIT');
}

/** Pipelines and jobs in every state except pending. */
/**
 * Pipelines and jobs. Running jobs look like jobs whose runner is alive:
 * started minutes ago and updated within the last minute. A running job last
 * updated weeks ago is what the server's stuck-job sweeper fails (no update
 * for STUCK_JOB_TIMEOUT_SECONDS, default 1 h), and failing it processes its
 * pipeline, which queues the pipeline's `created` jobs: the first sweep after
 * seeding (every 60 s, at a moment that depends on how long the seeding
 * took) then announced new pending jobs one by one, every announcement sent
 * all 10,000 polling runners back to the database, and the runners took
 * those jobs (201s in the "no job" scenario).
 */
export async function seedJobs(client: pg.Client, info: SeedInfo): Promise<void> {
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO pipelines (id, iid, project_id, ref, sha, before_sha, status, source, user_id, created_at, updated_at)
     SELECT i, row_number() OVER (PARTITION BY project_id ORDER BY i), project_id, 'main',
            md5(i::text) || substr(md5(i::text || 'x'), 1, 8), repeat('0', 40), 'success', 'push', $2::int,
            now() - random() * interval '30 days', now()
     FROM (SELECT i, 1 + floor(random() * $3::int)::int AS project_id FROM generate_series(1, $1::int) i) x`,
    [PIPELINES, info.rootUserId, PROJECTS],
  );
  await resetSequence(client, 'pipelines');
  await client.query(
    `INSERT INTO jobs (id, project_id, pipeline_id, name, stage, stage_idx, status, ref, tag_list, user_id, runner_id,
                       token_digest, failure_reason, exit_code, created_at, updated_at, queued_at, started_at, finished_at)
     SELECT j.i, p.project_id, p.id, 'job-' || j.i, 'test', 1, j.status, 'main', ARRAY['docker'], $2::int,
            CASE WHEN j.status IN ('success', 'failed', 'canceled', 'running') THEN 1 + floor(random() * $3::int)::int END,
            CASE WHEN j.status = 'running' THEN encode(sha256(convert_to('bench-job-' || j.i, 'UTF8')), 'hex') END,
            CASE WHEN j.status = 'failed' THEN 'script_failure' END,
            CASE WHEN j.status = 'failed' THEN 1 WHEN j.status = 'success' THEN 0 END,
            p.created_at,
            CASE WHEN j.status = 'running' THEN now() - (j.i % 60) * interval '1 second' ELSE p.created_at END,
            p.created_at,
            CASE WHEN j.status = 'running' THEN now() - interval '5 minutes' - (j.i % 600) * interval '1 second'
                 WHEN j.status IN ('success', 'failed', 'canceled') THEN p.created_at + interval '1 minute' END,
            CASE WHEN j.status IN ('success', 'failed', 'canceled') THEN p.created_at + interval '6 minutes' END
     FROM (SELECT i, 1 + floor(random() * $4::int)::int AS pipeline_id,
                  (ARRAY['success', 'success', 'success', 'success', 'success', 'success', 'success', 'success', 'success', 'success',
                         'failed', 'failed', 'failed', 'canceled', 'canceled', 'running', 'running', 'created', 'manual', 'skipped'])
                  [1 + floor(random() * 20)::int] AS status
           FROM generate_series(1, $1::int) i) j
     JOIN pipelines p ON p.id = j.pipeline_id`,
    [JOBS, info.rootUserId, await maxRunnerId(client), PIPELINES],
  );
  await resetSequence(client, 'jobs');
  await client.query('COMMIT');
}

async function maxRunnerId(client: pg.Client): Promise<number> {
  const r = await client.query<{ max: number | null }>('SELECT max(id) AS max FROM runners');
  return r.rows[0]!.max ?? 1;
}

const TYPE_NAMES: Record<number, RunnerTypeName> = { 1: 'instance_type', 2: 'group_type', 3: 'project_type' };

/**
 * Gives `count` runners (every 10th id) real tokens of their type's format and
 * returns them in clear text; the database keeps only the server's digest.
 */
export async function installPollingTokens(client: pg.Client, box: SecretBox, count: number): Promise<PollingRunner[]> {
  const rows = await client.query<{ id: number; runner_type: number }>(
    'SELECT id, runner_type FROM runners WHERE id % 10 = 0 ORDER BY id LIMIT $1',
    [count],
  );
  const runners = rows.rows.map((r) => ({
    id: r.id,
    token: newRunnerToken(TYPE_NAMES[r.runner_type]!, false),
    systemId: systemIdFor(r.id),
  }));
  await client.query(
    `UPDATE runners r SET token_digest = v.digest FROM unnest($1::int[], $2::text[]) AS v(id, digest) WHERE r.id = v.id`,
    [runners.map((r) => r.id), runners.map((r) => box.digest(r.token))],
  );
  return runners;
}

/** Planner statistics and visibility map, as a long-running database would have. */
export async function analyze(client: pg.Client): Promise<void> {
  await client.query('VACUUM ANALYZE');
}

export interface DatasetCounts {
  runners: number;
  byType: Record<string, number>;
  online: number;
  managers: number;
  groups: number;
  projects: number;
  jobs: number;
  /** pg_database_size of the bench database, in MB. */
  databaseMB: number;
}

export async function countDataset(client: pg.Client): Promise<DatasetCounts> {
  const r = await client.query<{
    runners: number; instance: number; grp: number; project: number; online: number; managers: number; groups: number; projects: number; jobs: number; bytes: string;
  }>(
    `SELECT (SELECT count(*) FROM runners)::int AS runners,
            (SELECT count(*) FROM runners WHERE runner_type = 1)::int AS instance,
            (SELECT count(*) FROM runners WHERE runner_type = 2)::int AS grp,
            (SELECT count(*) FROM runners WHERE runner_type = 3)::int AS project,
            (SELECT count(*) FROM runners WHERE contacted_at > now() - interval '2 hours')::int AS online,
            (SELECT count(*) FROM runner_managers)::int AS managers,
            (SELECT count(*) FROM namespaces WHERE kind = 'group')::int AS groups,
            (SELECT count(*) FROM projects)::int AS projects,
            (SELECT count(*) FROM jobs)::int AS jobs,
            pg_database_size(current_database()) AS bytes`,
  );
  const c = r.rows[0]!;
  return {
    runners: c.runners,
    byType: { instance_type: c.instance, group_type: c.grp, project_type: c.project },
    online: c.online,
    managers: c.managers,
    groups: c.groups,
    projects: c.projects,
    jobs: c.jobs,
    databaseMB: Math.round(Number(c.bytes) / 1048576),
  };
}
