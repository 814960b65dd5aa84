import type { Job, Pipeline, RunnerManager, User } from '../generated/prisma/client.js';
import type { ProjectView } from './project.js';
import type { RunnerEntityRow, RunnerExtras } from './runner-view.js';

// What the job services load for a page of jobs and the job presenters show (Entities::Ci::JobBasicWithProject
// and Entities::Ci::Job): the rows and their related rows, loaded once per page.

/** A job row without its log, which lists never need. */
export type JobRow = Omit<Job, 'trace'>;

/** What JobBasicWithProject shows besides the job row. */
export interface JobRelations {
  user: User | null;
  pipeline: Pipeline;
  project: ProjectView;
}

/** What Entities::Ci::Job shows besides the job row. */
export interface ProjectJobRelations extends JobRelations {
  runner: { runner: RunnerEntityRow; extras: RunnerExtras } | null;
  /** Undefined: the reader may not see runner managers, so the key is left out (as GitLab's `if:`). */
  manager?: { manager: RunnerManager; executing: boolean } | null;
}
