import type { Namespace, Runner, RunnerManager } from '../generated/prisma/client.js';
import { ACCESS_LEVEL_NAMES } from '../services/runners/runner-core.js';
import { presentBasicGroup } from './group.js';
import { presentBasicProjectDetails, type BasicProject } from './project.js';
import { iso, presentRunner, type PresentOptions, type RunnerEntityRow, type RunnerExtras } from './runner.js';

// Entities::Ci::RunnerDetails (runners-api.md §2.2). The embedded project
// and group shapes are the identity presenters' (project.ts, group.ts).

/** A project plus what its entities need: the names of its namespace chain and the reader's rights. */
export interface ProjectView {
  project: BasicProject;
  /** Names of the namespaces in project.namespace.traversal_ids, for "Group / Sub / Project". */
  names: Map<number, string>;
  /** `read_code`: decides default_branch, readme_url and forks_count. */
  readCode: boolean;
}

export interface RunnerDetailsExtras extends RunnerExtras {
  /** The manager that made contact last; version etc. come from it. */
  latestManager: ManagerVersion | null;
  /** `can?(:update_runner)`: only then is maintenance_note shown. */
  canUpdate: boolean;
  /** Undefined when include_projects=false: the key is left out. */
  projects?: ProjectView[];
  groups: Pick<Namespace, 'id' | 'full_path' | 'name'>[];
}

/** What RunnerDetails shows of the latest manager. */
export type ManagerVersion = Pick<RunnerManager, 'version' | 'revision' | 'platform' | 'architecture'>;

/** Entities::BasicProjectDetails of a project view. */
export const presentProjectView = (v: ProjectView, baseUrl: string) => presentBasicProjectDetails(v.project, baseUrl, v.names, v);

/** The runner columns RunnerDetails shows. */
export type RunnerDetailsRow = RunnerEntityRow &
  Pick<Runner, 'tag_list' | 'run_untagged' | 'locked' | 'maximum_timeout' | 'access_level' | 'maintenance_note'>;

export function presentRunnerDetails(runner: RunnerDetailsRow, extras: RunnerDetailsExtras, opts: PresentOptions) {
  const m = extras.latestManager;
  return {
    ...presentRunner(runner, extras, opts),
    tag_list: runner.tag_list,
    run_untagged: runner.run_untagged,
    locked: runner.locked,
    maximum_timeout: runner.maximum_timeout,
    access_level: ACCESS_LEVEL_NAMES[runner.access_level] ?? 'not_protected',
    version: m?.version ?? null,
    revision: m?.revision ?? null,
    platform: m?.platform ?? null,
    architecture: m?.architecture ?? null,
    contacted_at: iso(runner.contacted_at),
    maintenance_note: extras.canUpdate ? runner.maintenance_note : null,
    ...(extras.projects ? { projects: extras.projects.map((p) => presentProjectView(p, opts.baseUrl)) } : {}),
    groups: extras.groups.map((g) => presentBasicGroup(g, opts.baseUrl)),
  };
}
