import type { Runner } from '../../generated/prisma/client.js';
import { ACCESS_LEVEL_IDS, RUNNER_TYPE_IDS } from '../runners/runner-core.js';

// Which pending jobs a runner may take (runner-protocol.md §5 "Job
// matching"), as one SQL condition over `jobs j JOIN projects p`:
//   - instance runners: projects with shared runners enabled;
//   - group runners: projects in the runner's group or its descendants that
//     have group runners enabled;
//   - project runners: the projects the runner is assigned to (`locked`
//     only limits assignment, never matching);
//   - the job's tags are a subset of the runner's, untagged jobs only with
//     run_untagged, and a ref_protected runner takes protected jobs only.

export interface MatchQuery {
  where: string;
  orderBy: string;
  values: unknown[];
}

/** `groupId`: the namespace of a group runner (runner_namespaces), else null. */
export function matchingJobs(runner: Runner, groupId: number | null): MatchQuery {
  const values: unknown[] = [];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const conditions = [
    `j.status = 'pending'`,
    `j.runner_id IS NULL`,
    `COALESCE(j.tag_list, '{}') <@ ${param(runner.tag_list, 'text[]')}`,
    `(${param(runner.run_untagged, 'boolean')} OR cardinality(COALESCE(j.tag_list, '{}')) > 0)`,
    `(NOT ${param(runner.access_level === ACCESS_LEVEL_IDS.ref_protected, 'boolean')} OR j.protected)`,
  ];
  let orderBy = 'j.id';
  if (runner.runner_type === RUNNER_TYPE_IDS.project_type) {
    conditions.push(`j.project_id IN (SELECT rp.project_id FROM runner_projects rp WHERE rp.runner_id = ${param(runner.id, 'int')})`);
  } else if (runner.runner_type === RUNNER_TYPE_IDS.group_type) {
    conditions.push(
      `p.group_runners_enabled`,
      `p.namespace_id IN (SELECT n.id FROM namespaces n WHERE n.traversal_ids @> ARRAY[${param(groupId ?? 0, 'int')}])`,
    );
  } else {
    conditions.push(`p.shared_runners_enabled`);
    // Fair scheduling, as GitLab: projects with the fewest jobs running on
    // instance runners go first.
    orderBy = `(SELECT count(*) FROM jobs r JOIN runners rr ON rr.id = r.runner_id
                WHERE r.project_id = j.project_id AND r.status = 'running' AND rr.runner_type = ${RUNNER_TYPE_IDS.instance_type}), j.id`;
  }
  return { where: conditions.join(' AND '), orderBy, values };
}
