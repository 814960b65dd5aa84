import type { Namespace, Runner, RunnerManager, User } from '../generated/prisma/client.js';
import type { ProjectView } from './project.js';

// What the runner services load for a reader and the runner presenters show (Entities::Ci::Runner and
// RunnerDetails): the columns read, and the facts besides the row, all decided by the services.

/** The user fields `created_by` (Entities::UserBasic) shows. */
export type RunnerCreator = Pick<User, 'id' | 'username' | 'name' | 'state'>;

/** What a runner entity needs besides the row, loaded in batches by the service. */
export interface RunnerExtras {
  /** The creator, when it still exists (`created_by` is omitted otherwise). */
  creator: RunnerCreator | null;
  /** The runner has a running or canceling job. */
  executing: boolean;
}

/** The runner columns the entity shows: what list queries select, instead of the whole row. */
export type RunnerEntityRow = Pick<Runner, 'id' | 'description' | 'active' | 'runner_type' | 'name' | 'contacted_at' | 'created_at'>;

/** One list item as the list query returns it: the row and its extras, loaded in the same statement. */
export interface RunnerListItem {
  runner: RunnerEntityRow;
  extras: RunnerExtras;
}

/** What RunnerDetails shows of the latest manager. */
export type ManagerVersion = Pick<RunnerManager, 'version' | 'revision' | 'platform' | 'architecture'>;

/** The runner columns RunnerDetails shows. */
export type RunnerDetailsRow = RunnerEntityRow &
  Pick<Runner, 'tag_list' | 'run_untagged' | 'locked' | 'maximum_timeout' | 'access_level' | 'maintenance_note'>;

export interface RunnerDetailsExtras extends RunnerExtras {
  /** The manager that made contact last; version etc. come from it. */
  latestManager: ManagerVersion | null;
  /** `can?(:update_runner)`: only then is maintenance_note shown. */
  canUpdate: boolean;
  /** Undefined when include_projects=false: the key is left out. */
  projects?: ProjectView[];
  groups: Pick<Namespace, 'id' | 'full_path' | 'name'>[];
}
