import type { Runner } from '../../generated/prisma/client.js';
import type { PreparedQuery } from '../../db/prepared.js';
import { ACCESS_LEVEL_IDS, RUNNER_TYPE_IDS } from '../runners/runner-core.js';

// Which pending jobs a runner may take (GitLab's
// app/services/ci/register_job_service.rb), read from the job queue ci_pending_builds (migration
// 20261203100000_ci_pending_builds), where every fact matching needs is
// copied into the job's row, as GitLab's Ci::Queue::PendingBuildsStrategy
// reads it:
//   - instance runners: jobs of projects with shared runners enabled
//     (`instance_runners_enabled`), in fair order: projects with the fewest
//     jobs running on instance runners first, then the oldest job;
//   - group runners: jobs whose project is in the runner's group or its
//     descendants and has group runners enabled (`namespace_traversal_ids`,
//     empty when the project turned group runners off), oldest first;
//   - project runners: jobs of the projects the runner is assigned to
//     (`locked` only limits assignment, never matching), oldest first;
//   - the job's tags are a subset of the runner's, untagged jobs only with
//     run_untagged, and a ref_protected runner takes protected jobs only.
//
// The rules are written once, over "terms" that are either bound parameters
// (the hand-out statements) or columns of `runners r` and
// `runner_namespaces rn` (anyMatchingJobSql: the poll's single lookup, which
// reads the runner and asks "anything for it?" in the same statement).
//
// Fair order without a sort: ci_instance_queues holds per project its jobs
// running on instance runners and its oldest pending job instance runners
// may take (the "head"), indexed in that order. The hand-out walks the
// index and stops at the first project that has a job for the runner, so
// its cost depends on the projects it steps over, not on the backlog. When
// the runner's first job in that project is not the project's head (its
// tags ruled the head out), another project at the same level may hold an
// older job for it: `olderAtSameLevel` looks there, as GitLab's ORDER BY
// (running builds, build id) would.

interface RunnerTerms {
  tagList: string;
  runUntagged: string;
  refProtected: string;
}

function commonConditions(t: RunnerTerms): string {
  return [`pb.tag_list <@ ${t.tagList}`, `(${t.runUntagged} OR cardinality(pb.tag_list) > 0)`, `(NOT ${t.refProtected} OR pb.protected)`].join(' AND ');
}

const projectScope = (runnerId: string) => `pb.project_id IN (SELECT rp.project_id FROM runner_projects rp WHERE rp.runner_id = ${runnerId})`;
const groupScope = (groupId: string) => `pb.namespace_traversal_ids @> ARRAY[${groupId}]::int[]`;
const instanceScope = () => `pb.instance_runners_enabled`;

const PARAM_TERMS: RunnerTerms = { tagList: '$1::text[]', runUntagged: '$2::boolean', refProtected: '$3::boolean' };
// $4: jobs this hand-out already locked and gave up on (SKIP LOCKED skips only other transactions' locks).
const COMMON = `${commonConditions(PARAM_TERMS)} AND pb.build_id <> ALL($4::int[])`;

/** `queue_size` counts the runner's matching pending jobs up to this many: the count's cost must not grow with the backlog. */
export const QUEUE_SIZE_CAP = 100;

export interface RunnerMatcher {
  /** Locks (FOR UPDATE SKIP LOCKED) and returns the runner's next job, not one of `exclude`: build_id, fair level, project head. */
  next: (exclude: number[]) => PreparedQuery;
  /** Instance runners only: an older job for the runner at the same fair level, before the one `next` found (not locked). */
  olderAtSameLevel?: (exclude: number[], level: number, before: number) => PreparedQuery;
  /**
   * Locks the candidate's job row (SKIP LOCKED: none when another transaction
   * holds it) and reads what the hand-out needs: the job, its project's
   * archived flag and build timeout, the project's jobs running on instance
   * runners, and the runner's matching pending jobs up to QUEUE_SIZE_CAP.
   */
  candidate: (exclude: number[], buildId: number) => PreparedQuery;
}

const SCOPED_NEXT = (scope: string) => `
SELECT pb.build_id, 0 AS level, pb.build_id AS head
FROM ci_pending_builds pb
WHERE ${scope} AND ${COMMON}
ORDER BY pb.build_id
LIMIT 1
FOR UPDATE OF pb SKIP LOCKED`;

const INSTANCE_NEXT = `
SELECT pb.build_id, q.instance_running AS level, q.instance_head AS head
FROM ci_instance_queues q
CROSS JOIN LATERAL (
  SELECT pb.build_id FROM ci_pending_builds pb
  WHERE pb.project_id = q.project_id AND ${instanceScope()} AND ${COMMON}
  ORDER BY pb.build_id
  LIMIT 1
  FOR UPDATE OF pb SKIP LOCKED
) pb
WHERE q.instance_head IS NOT NULL
ORDER BY q.instance_running, q.instance_head
LIMIT 1`;

const INSTANCE_OLDER = `
SELECT min(pb.build_id) AS build_id
FROM ci_instance_queues q
CROSS JOIN LATERAL (
  SELECT pb.build_id FROM ci_pending_builds pb
  WHERE pb.project_id = q.project_id AND ${instanceScope()} AND ${COMMON} AND pb.build_id < $6
  ORDER BY pb.build_id
  LIMIT 1
) pb
WHERE q.instance_head IS NOT NULL AND q.instance_running = $5 AND q.instance_head < $6`;

const CANDIDATE = (scope: string, buildIdParam: string) => `
SELECT j.id, j.pipeline_id, j.project_id, j.options, p.archived, p.build_timeout,
       COALESCE((SELECT q.instance_running FROM ci_instance_queues q WHERE q.project_id = j.project_id), 0) AS instance_running,
       (SELECT count(*)::int FROM (SELECT 1 FROM ci_pending_builds pb WHERE ${scope} AND ${COMMON} LIMIT ${QUEUE_SIZE_CAP}) c) AS queue_size
FROM jobs j JOIN projects p ON p.id = j.project_id
WHERE j.id = ${buildIdParam} AND j.status = 'pending' AND j.runner_id IS NULL
FOR UPDATE OF j SKIP LOCKED`;

const PROJECT_SCOPE = projectScope('$5::int');
const GROUP_SCOPE = groupScope('$5::int');

/** `groupId`: the namespace of a group runner (runner_namespaces), else null. */
export function runnerMatcher(runner: Runner, groupId: number | null): RunnerMatcher {
  const terms = [runner.tag_list ?? [], runner.run_untagged, runner.access_level === ACCESS_LEVEL_IDS.ref_protected];
  // Per-execution plans (not `generic`): a runner's tags decide how far a scan goes.
  const q = (text: string, values: unknown[]): PreparedQuery => ({ text, values, generic: false });
  if (runner.runner_type === RUNNER_TYPE_IDS.project_type || runner.runner_type === RUNNER_TYPE_IDS.group_type) {
    const [scope, scopeId] = runner.runner_type === RUNNER_TYPE_IDS.project_type ? [PROJECT_SCOPE, runner.id] : [GROUP_SCOPE, groupId ?? 0];
    return {
      next: (exclude) => q(SCOPED_NEXT(scope), [...terms, exclude, scopeId]),
      candidate: (exclude, buildId) => q(CANDIDATE(scope, '$6::int'), [...terms, exclude, scopeId, buildId]),
    };
  }
  return {
    next: (exclude) => q(INSTANCE_NEXT, [...terms, exclude]),
    olderAtSameLevel: (exclude, level, before) => q(INSTANCE_OLDER, [...terms, exclude, level, before]),
    candidate: (exclude, buildId) => q(CANDIDATE(instanceScope(), '$5::int'), [...terms, exclude, buildId]),
  };
}

/**
 * `…` boolean: is any job pending that the runner `r` (joined with its
 * `runner_namespaces rn`) may take? Same rules as runnerMatcher, for a
 * runner whose row is read in the same statement. Only the branch of the
 * runner's type is evaluated, each one on its own index.
 */
export function anyMatchingJobSql(): string {
  const common = commonConditions({
    tagList: "COALESCE(r.tag_list, '{}')",
    runUntagged: 'r.run_untagged',
    refProtected: `(r.access_level = ${ACCESS_LEVEL_IDS.ref_protected})`,
  });
  const exists = (scope: string) => `EXISTS (SELECT 1 FROM ci_pending_builds pb WHERE ${scope} AND ${common})`;
  return `CASE r.runner_type
      WHEN ${RUNNER_TYPE_IDS.project_type} THEN ${exists(projectScope('r.id'))}
      WHEN ${RUNNER_TYPE_IDS.group_type} THEN ${exists(groupScope('COALESCE(rn.namespace_id, 0)'))}
      ELSE ${exists(instanceScope())} END`;
}
