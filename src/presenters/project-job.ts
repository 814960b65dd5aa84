import type { JobRow, ProjectJobRelations } from '../domain/job.js';
import { presentJobBasicWithProject } from './job.js';
import { presentRunnerManager } from './runner-manager.js';
import { presentRunner, type PresentOptions } from './runner.js';

// Entities::Ci::Job (GET /projects/:id/jobs and friends): JobBasic, then
// artifacts, runner, runner_manager, artifacts_expire_at, archived, tag_list.

export function presentProjectJob(job: JobRow, rel: ProjectJobRelations, opts: PresentOptions) {
  const basic = presentJobBasicWithProject(job, rel, opts);
  return {
    ...basic,
    // JobBasic's own `project` exposure (JobBasicWithProject replaces it with the project identity).
    project: { ci_job_token_scope_enabled: false },
    // No artifacts are stored by this server: `artifacts_file` (shown only when present) is left out.
    artifacts: [] as unknown[],
    runner: rel.runner ? presentRunner(rel.runner.runner, rel.runner.extras, opts) : null,
    ...(rel.manager !== undefined ? { runner_manager: rel.manager ? presentRunnerManager(rel.manager.manager, rel.manager.executing, opts.now) : null } : {}),
    artifacts_expire_at: null,
    archived: false,
    tag_list: job.tag_list,
  };
}
