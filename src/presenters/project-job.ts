import type { Job, Pipeline, Runner, RunnerManager, User } from '../generated/prisma/client.js';
import { presentJobBasicWithProject } from './job.js';
import type { ProjectView } from './runner-details.js';
import { presentRunnerManager } from './runner-manager.js';
import { presentRunner, type PresentOptions, type RunnerExtras } from './runner.js';

// Entities::Ci::Job (GET /projects/:id/jobs and friends): JobBasic, then
// artifacts, runner, runner_manager, artifacts_expire_at, archived, tag_list.

export interface ProjectJobRelations {
  user: User | null;
  pipeline: Pipeline;
  project: ProjectView;
  runner: { runner: Runner; extras: RunnerExtras } | null;
  /** Undefined: the reader may not see runner managers, so the key is left out (as GitLab's `if:`). */
  manager?: { manager: RunnerManager; executing: boolean } | null;
}

export function presentProjectJob(job: Omit<Job, 'trace'>, rel: ProjectJobRelations, opts: PresentOptions) {
  const basic = presentJobBasicWithProject(job as Job, rel, opts);
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
