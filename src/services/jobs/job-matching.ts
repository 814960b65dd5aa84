import type { Runner } from '../../generated/prisma/client.js';
import { ACCESS_LEVEL_IDS, RUNNER_TYPE_IDS } from '../runners/runner-core.js';

// Which pending jobs a runner may take (GitLab's
// app/services/ci/register_job_service.rb), as one SQL condition over `jobs j JOIN projects p`:
//   - instance runners: projects with shared runners enabled;
//   - group runners: projects in the runner's group or its descendants that
//     have group runners enabled;
//   - project runners: the projects the runner is assigned to (`locked`
//     only limits assignment, never matching);
//   - the job's tags are a subset of the runner's, untagged jobs only with
//     run_untagged, and a ref_protected runner takes protected jobs only.
//
// The rules are written once, over "terms" that are either bound parameters
// (matchingJobs: the hand-out transaction) or columns of `runners r` and
// `runner_namespaces rn` (anyMatchingJobSql: the poll's single lookup, which
// reads the runner and asks "anything for it?" in the same statement).

export interface MatchQuery {
  where: string;
  orderBy: string;
  values: unknown[];
}

interface RunnerTerms {
  tagList: string;
  runUntagged: string;
  refProtected: string;
  runnerId: string;
  groupId: string;
}

function commonConditions(t: RunnerTerms): string[] {
  return [
    `j.status = 'pending'`,
    `j.runner_id IS NULL`,
    `COALESCE(j.tag_list, '{}') <@ ${t.tagList}`,
    `(${t.runUntagged} OR cardinality(COALESCE(j.tag_list, '{}')) > 0)`,
    `(NOT ${t.refProtected} OR j.protected)`,
  ];
}

const projectScope = (t: RunnerTerms) => `j.project_id IN (SELECT rp.project_id FROM runner_projects rp WHERE rp.runner_id = ${t.runnerId})`;
const groupScope = (t: RunnerTerms) =>
  `p.group_runners_enabled AND p.namespace_id IN (SELECT n.id FROM namespaces n WHERE n.traversal_ids @> ARRAY[${t.groupId}])`;
const instanceScope = () => `p.shared_runners_enabled`;

/** `groupId`: the namespace of a group runner (runner_namespaces), else null. */
export function matchingJobs(runner: Runner, groupId: number | null): MatchQuery {
  const values: unknown[] = [];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const terms: RunnerTerms = {
    tagList: param(runner.tag_list, 'text[]'),
    runUntagged: param(runner.run_untagged, 'boolean'),
    refProtected: param(runner.access_level === ACCESS_LEVEL_IDS.ref_protected, 'boolean'),
    get runnerId() {
      return param(runner.id, 'int');
    },
    get groupId() {
      return param(groupId ?? 0, 'int');
    },
  };
  const conditions = commonConditions(terms);
  let orderBy = 'j.id';
  if (runner.runner_type === RUNNER_TYPE_IDS.project_type) {
    conditions.push(projectScope(terms));
  } else if (runner.runner_type === RUNNER_TYPE_IDS.group_type) {
    conditions.push(groupScope(terms));
  } else {
    conditions.push(instanceScope());
    // Fair scheduling, as GitLab: projects with the fewest jobs running on
    // instance runners go first.
    orderBy = `(SELECT count(*) FROM jobs r JOIN runners rr ON rr.id = r.runner_id
                WHERE r.project_id = j.project_id AND r.status = 'running' AND rr.runner_type = ${RUNNER_TYPE_IDS.instance_type}), j.id`;
  }
  return { where: conditions.join(' AND '), orderBy, values };
}

/**
 * `EXISTS (…)`: is any job pending that the runner `r` (joined with its
 * `runner_namespaces rn`) may take? Same rules as matchingJobs, for a runner
 * whose row is read in the same statement.
 */
export function anyMatchingJobSql(): string {
  const terms: RunnerTerms = {
    tagList: 'r.tag_list',
    runUntagged: 'r.run_untagged',
    refProtected: `(r.access_level = ${ACCESS_LEVEL_IDS.ref_protected})`,
    runnerId: 'r.id',
    groupId: 'COALESCE(rn.namespace_id, 0)',
  };
  const scope = `CASE r.runner_type
      WHEN ${RUNNER_TYPE_IDS.project_type} THEN ${projectScope(terms)}
      WHEN ${RUNNER_TYPE_IDS.group_type} THEN ${groupScope(terms)}
      ELSE ${instanceScope()} END`;
  return `EXISTS (SELECT 1 FROM jobs j JOIN projects p ON p.id = j.project_id WHERE ${[...commonConditions(terms), scope].join(' AND ')})`;
}
