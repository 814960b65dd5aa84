import type pg from 'pg';
import { queryPrepared } from '../../db/prepared.js';
import { ACCESS_LEVEL_IDS } from '../../domain/runner.js';
import type { RunnerMatcher } from './job-matching.js';

// One hand-out attempt as one SQL statement (one round trip, its own
// transaction): check that the runner is still what the caller knows of it,
// find its next job and lock it in the queue, lock the job row, mark it
// running for the runner, mark its pipeline running, and read everything the
// runner's payload is built from. Every statement of a hand-out costs a
// round trip and, on a busy machine, context switches on both sides: one
// statement per job is what the hand-out's throughput rests on
// (bench/README.md, "The job queue").
//
// The runner check: the poll takes the runner from the runner cache, so the
// statement first reads the runner's row and compares every fact the
// hand-out and the payload use (token, active, token expiry, tags,
// run_untagged, protected, maximum timeout, description). When one differs
// (a change the cache has not heard of yet) nothing is taken and the caller
// reads the runner again; when they agree, matching ran on the runner as it
// is stored at that moment, as if the poll had re-read it. When it takes
// nothing, the statement also says whether any job is pending for the runner
// at all (locked ones included), which is the poll's "anything for me?".
//
// Locks: the ci_pending_builds row (FOR UPDATE SKIP LOCKED in the runner's
// walk) and the job row (FOR UPDATE SKIP LOCKED): runners polling at the
// same moment step over each other's jobs, and a job that a cancel or a
// sweeper is changing is passed over, never waited for. The jobs and
// ci_pending_builds triggers keep the queue tables in step, the per-project
// ones at the statement's commit.
//
// The pipeline: a job that starts running leaves every stage as complete or
// incomplete as it was, so nothing gets queued or skipped, and the
// pipeline's composite status becomes `running` whatever it was
// (src/services/pipelines/pipeline-processing.ts, compositeStatus). The
// pipeline row is written only when its status changes; a concurrent
// processPipeline holding the row is waited for and its status then
// re-checked (READ COMMITTED), so the last writer still leaves `running`.

/** What one attempt found. */
export type ClaimOutcome =
  /** Nothing taken; `anyPending`: some job for the runner is pending (held by another hand-out, or passed over). */
  | { kind: 'none'; anyPending: boolean }
  /** The runner's stored row no longer matches the claimant: nothing was taken. */
  | { kind: 'stale' }
  /** The candidate's job row is held by another transaction or is no longer pending: nothing was taken. */
  | { kind: 'busy'; candidateId: number }
  /** The candidate's project is archived: nothing was taken; the job is to be dropped. */
  | { kind: 'archived'; candidateId: number }
  | { kind: 'taken'; row: ClaimedRow };

export interface ClaimedRow {
  id: number;
  pipeline_id: number;
  project_id: number;
  name: string;
  stage: string;
  protected: boolean;
  user_id: number | null;
  options: unknown;
  timeout: number;
  created_at: Date;
  queued_at: Date | null;
  started_at: Date | null;
  pipeline_iid: number;
  pipeline_ref: string;
  pipeline_sha: string;
  pipeline_before_sha: string;
  pipeline_tag: boolean;
  pipeline_source: string;
  pipeline_config: unknown;
  pipeline_created_at: Date;
  project_name: string;
  project_path: string;
  project_path_with_namespace: string;
  project_description: string | null;
  project_visibility: string;
  project_default_branch: string;
  namespace_id: number;
  namespace_full_path: string;
  /** The top-level namespace (the project's own when it has no traversal ids). */
  root_namespace_id: number;
  root_namespace_path: string;
  user_username: string | null;
  user_name: string | null;
  user_email: string | null;
  instance_running: number;
  queue_size: number;
}

interface ClaimRow extends Partial<ClaimedRow> {
  runner_ok: boolean;
  candidate_id: number | null;
  lockable: boolean | null;
  archived: boolean | null;
  any_pending: boolean | null;
}

export interface Claimant {
  runnerId: number;
  /** The runner token's digest as the caller knows it. */
  runnerTokenDigest: string;
  /** The runner's description as the caller knows it (the payload's CI_RUNNER_DESCRIPTION). */
  description: string | null;
  managerId: number;
  /** The new job token's digest. */
  tokenDigest: string;
  /** The runner's maximum_timeout (null or 0: none). */
  maximumTimeout: number | null;
}

// `older`: for an instance runner whose candidate is not its project's head,
// an older job for it at the same fair level, which GitLab's order puts
// first; taken instead when no other hand-out holds it.
const CLAIM = (candidates: string, older: string | undefined, queueSize: string, anyPending: string) => `
WITH runner_ok AS (
  SELECT EXISTS (
    SELECT 1 FROM runners r
    WHERE r.id = {runner_id}::int AND r.token_digest = {runner_token_digest}::text AND r.active
      AND (r.token_expires_at IS NULL OR r.token_expires_at >= now())
      AND COALESCE(r.tag_list, '{}') = {tags}::text[] AND r.run_untagged = {run_untagged}::boolean
      AND (r.access_level = ${ACCESS_LEVEL_IDS.ref_protected}) = {ref_protected}::boolean
      AND r.maximum_timeout IS NOT DISTINCT FROM {maximum_timeout}::int AND r.description IS NOT DISTINCT FROM {description}::text
  ) AS ok
),
cand AS (SELECT c.* FROM runner_ok ro CROSS JOIN LATERAL (${candidates}) c WHERE ro.ok),
pick AS (
  SELECT ${
    older
      ? `COALESCE(CASE WHEN c.build_id <> c.head THEN (
           SELECT pb.build_id FROM ci_pending_builds pb WHERE pb.build_id = (${older}) FOR UPDATE OF pb SKIP LOCKED
         ) END, c.build_id)`
      : 'c.build_id'
  } AS build_id
  FROM cand c
),
job AS (
  SELECT j.id, j.pipeline_id, p.archived,
         LEAST(COALESCE((j.options->>'timeout')::int, p.build_timeout), NULLIF({maximum_timeout}::int, 0)) AS timeout
  FROM pick c
  JOIN jobs j ON j.id = c.build_id
  JOIN projects p ON p.id = j.project_id
  WHERE j.status = 'pending' AND j.runner_id IS NULL
  FOR UPDATE OF j SKIP LOCKED
),
taken AS (
  UPDATE jobs j SET status = 'running', runner_id = {runner_id}::int, runner_manager_id = {manager_id}::int, started_at = now(),
         token_digest = {token_digest}::text, timeout = job.timeout, trace = NULL, trace_checksum = NULL, updated_at = now()
  FROM job
  WHERE j.id = job.id AND NOT job.archived
  RETURNING j.id, j.pipeline_id, j.project_id, j.name, j.stage, j.protected, j.user_id, j.options, j.timeout,
            j.created_at, j.queued_at, j.started_at
),
pipeline_running AS (
  UPDATE pipelines pl SET status = 'running',
         started_at = COALESCE(pl.started_at, LEAST((SELECT min(jj.started_at) FROM jobs jj WHERE jj.pipeline_id = t.pipeline_id), t.started_at)),
         finished_at = NULL, updated_at = now()
  FROM taken t
  WHERE pl.id = t.pipeline_id AND pl.status IS DISTINCT FROM 'running'
)
SELECT ro.ok AS runner_ok, c.build_id AS candidate_id, job.id IS NOT NULL AS lockable, job.archived,
       CASE WHEN ro.ok AND c.build_id IS NULL THEN ${anyPending} END AS any_pending,
       t.*,
       pl.iid AS pipeline_iid, pl.ref AS pipeline_ref, pl.sha AS pipeline_sha, pl.before_sha AS pipeline_before_sha,
       pl.tag AS pipeline_tag, pl.source AS pipeline_source, pl.config AS pipeline_config, pl.created_at AS pipeline_created_at,
       pr.name AS project_name, pr.path AS project_path, pr.path_with_namespace AS project_path_with_namespace,
       pr.description AS project_description, pr.visibility AS project_visibility, pr.default_branch AS project_default_branch,
       n.id AS namespace_id, n.full_path AS namespace_full_path,
       COALESCE(rn.id, n.id) AS root_namespace_id, CASE WHEN rn.id IS NULL THEN n.path ELSE rn.path END AS root_namespace_path,
       u.username AS user_username, u.name AS user_name, u.email AS user_email,
       CASE WHEN t.id IS NOT NULL THEN COALESCE((SELECT q.instance_running FROM ci_instance_queues q WHERE q.project_id = t.project_id), 0) END AS instance_running,
       CASE WHEN t.id IS NOT NULL THEN (${queueSize}) END AS queue_size
FROM runner_ok ro
LEFT JOIN pick c ON true
LEFT JOIN job ON true
LEFT JOIN taken t ON true
LEFT JOIN pipelines pl ON pl.id = t.pipeline_id
LEFT JOIN projects pr ON pr.id = t.project_id
LEFT JOIN namespaces n ON n.id = pr.namespace_id
LEFT JOIN namespaces rn ON rn.id = COALESCE(n.traversal_ids[1], n.id)
LEFT JOIN users u ON u.id = t.user_id`;

interface Compiled {
  text: string;
  names: string[];
}

const compiled = new Map<string, Compiled>();

/** `{name}` placeholders → `$1…$n` (first appearance order), once per statement text. */
function compile(text: string): Compiled {
  let c = compiled.get(text);
  if (!c) {
    const names: string[] = [];
    const out = text.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
      let i = names.indexOf(name);
      if (i < 0) i = names.push(name) - 1;
      return `$${i + 1}`;
    });
    c = { text: out, names };
    compiled.set(text, c);
  }
  return c;
}

/** The claim statement for the runner, with its values in order. */
export function claimStatement(matcher: RunnerMatcher, claimant: Claimant): { text: string; values: unknown[] } {
  const values: Record<string, unknown> = {
    ...matcher.params,
    runner_id: claimant.runnerId,
    runner_token_digest: claimant.runnerTokenDigest,
    description: claimant.description,
    manager_id: claimant.managerId,
    token_digest: claimant.tokenDigest,
    maximum_timeout: claimant.maximumTimeout,
  };
  const { text, names } = compile(CLAIM(matcher.next, matcher.olderAtSameLevel, matcher.queueSize, matcher.anyPending));
  return { text, values: names.map((n) => values[n]) };
}

/** One attempt to give the runner its next job in GitLab's order. */
export async function claimJob(ctx: { pool: pg.Pool; preparedPool: pg.Pool }, matcher: RunnerMatcher, claimant: Claimant): Promise<ClaimOutcome> {
  const { text, values } = claimStatement(matcher, claimant);
  const { rows } = await queryPrepared<ClaimRow>(ctx, { text, values, generic: matcher.generic });
  const row = rows[0];
  if (!row?.runner_ok) return { kind: 'stale' };
  if (row.candidate_id === null) return { kind: 'none', anyPending: row.any_pending === true };
  if (!row.lockable) return { kind: 'busy', candidateId: row.candidate_id };
  if (row.archived) return { kind: 'archived', candidateId: row.candidate_id };
  return { kind: 'taken', row: row as ClaimRow & ClaimedRow };
}
