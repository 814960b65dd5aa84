import type { Runner } from '../../generated/prisma/client.js';
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

// The hand-out statement's named parameters (src/services/jobs/job-claim.ts):
// the runner's tags, run_untagged and ref_protected, the jobs this hand-out
// already gave up on (`exclude`), and the runner's scope (project runner: its
// id; group runner: its group).
const PARAM_TERMS: RunnerTerms = { tagList: '{tags}::text[]', runUntagged: '{run_untagged}::boolean', refProtected: '{ref_protected}::boolean' };
const COMMON = `${commonConditions(PARAM_TERMS)} AND pb.build_id <> ALL({exclude}::int[])`;

/** `queue_size` counts the runner's matching pending jobs up to this many: the count's cost must not grow with the backlog. */
export const QUEUE_SIZE_CAP = 100;

/**
 * The runner's side of a hand-out, as SQL over named parameters (`{name}`,
 * values in `params`). Each query yields at most one row
 * `(build_id, project_id, level, head)` with the job's ci_pending_builds row
 * locked FOR UPDATE SKIP LOCKED, so runners polling at the same moment never
 * get the same job.
 */
export interface RunnerMatcher {
  /** The runner's next job, in GitLab's order. */
  next: string;
  /**
   * Instance runners: for a candidate `c` (a row of `next`) that is not its
   * project's head, the oldest job for the runner before it in another
   * project at the same fair level (not locked), or NULL.
   */
  olderAtSameLevel?: string;
  /** The runner's matching pending jobs, up to QUEUE_SIZE_CAP. */
  queueSize: string;
  /** Boolean: is any job pending for the runner, locked or not (for a hand-out that found none it could take)? */
  anyPending: string;
  params: Record<string, unknown>;
  /**
   * The statements' generic plan is as good as a custom one (src/db/prepared.ts):
   * instance and project runners walk the same indexes whatever their values,
   * and planning the hand-out statement costs more CPU than running it. A group
   * runner's best plan depends on how much of the backlog its group holds
   * (the primary key in id order for a big group, the traversal-ids index for a
   * small one), so it is planned per execution.
   */
  generic: boolean;
}

const scopedNext = (scope: string) => `
SELECT pb.build_id, pb.project_id, 0 AS level, pb.build_id AS head
FROM ci_pending_builds pb
WHERE ${scope} AND ${COMMON}
ORDER BY pb.build_id
LIMIT 1
FOR UPDATE OF pb SKIP LOCKED`;

const INSTANCE_NEXT = `
SELECT pb.build_id, q.project_id, q.instance_running AS level, q.instance_head AS head
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

// The candidate's own project is left out: its jobs before the candidate
// are either not for the runner or locked by hand-outs under way.
const INSTANCE_OLDER = `
SELECT min(pb.build_id)
FROM ci_instance_queues q
CROSS JOIN LATERAL (
  SELECT pb.build_id FROM ci_pending_builds pb
  WHERE pb.project_id = q.project_id AND ${instanceScope()} AND ${COMMON} AND pb.build_id < c.build_id
  ORDER BY pb.build_id
  LIMIT 1
) pb
WHERE q.instance_head IS NOT NULL AND q.instance_running = c.level AND q.instance_head < c.build_id AND q.project_id <> c.project_id`;

const queueSize = (scope: string) =>
  `SELECT count(*)::int FROM (SELECT 1 FROM ci_pending_builds pb WHERE ${scope} AND ${COMMON} LIMIT ${QUEUE_SIZE_CAP}) c`;

const anyPending = (scope: string) => `EXISTS (SELECT 1 FROM ci_pending_builds pb WHERE ${scope} AND ${COMMON})`;

const PROJECT_SCOPE = projectScope('{scope}::int');
const GROUP_SCOPE = groupScope('{scope}::int');

/** `groupId`: the namespace of a group runner (runner_namespaces), else null. `exclude`: jobs this hand-out gave up on. */
export function runnerMatcher(runner: Runner, groupId: number | null, exclude: number[]): RunnerMatcher {
  const params: Record<string, unknown> = {
    tags: runner.tag_list ?? [],
    run_untagged: runner.run_untagged,
    ref_protected: runner.access_level === ACCESS_LEVEL_IDS.ref_protected,
    exclude,
  };
  if (runner.runner_type === RUNNER_TYPE_IDS.project_type || runner.runner_type === RUNNER_TYPE_IDS.group_type) {
    const isProject = runner.runner_type === RUNNER_TYPE_IDS.project_type;
    const scope = isProject ? PROJECT_SCOPE : GROUP_SCOPE;
    params.scope = isProject ? runner.id : (groupId ?? 0);
    return { next: scopedNext(scope), queueSize: queueSize(scope), anyPending: anyPending(scope), params, generic: isProject };
  }
  return {
    next: INSTANCE_NEXT,
    olderAtSameLevel: INSTANCE_OLDER,
    queueSize: queueSize(instanceScope()),
    anyPending: anyPending(instanceScope()),
    params,
    generic: true,
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
