import type { ProjectView } from '../domain/project.js';
import { ACCESS_LEVEL_NAMES } from '../domain/runner.js';
import type { RunnerDetailsExtras, RunnerDetailsRow } from '../domain/runner-view.js';
import { presentBasicGroup } from './group.js';
import { presentBasicProjectDetails, type BasicProjectDetailsEntity } from './project.js';
import { iso, presentRunner, type PresentOptions } from './runner.js';

// Entities::Ci::RunnerDetails (GitLab's lib/api/entities/ci/runner_details.rb). The embedded project
// and group shapes are the identity presenters' (project.ts, group.ts).

/** Entities::BasicProjectDetails of a project view. */
export const presentProjectView = (v: ProjectView, baseUrl: string) => presentBasicProjectDetails(v.project, baseUrl, v.names, v);

/** Entities::Ci::RunnerDetails: the Runner entity's keys, then the details', in GitLab's order. */
export type RunnerDetailsEntity = ReturnType<typeof presentRunner> & {
  tag_list: string[];
  run_untagged: boolean;
  locked: boolean;
  maximum_timeout: number | null;
  access_level: 'not_protected' | 'ref_protected';
  version: string | null;
  revision: string | null;
  platform: string | null;
  architecture: string | null;
  contacted_at: string | null;
  maintenance_note: string | null;
  projects?: BasicProjectDetailsEntity[];
  groups: ReturnType<typeof presentBasicGroup>[];
};

export function presentRunnerDetails(runner: RunnerDetailsRow, extras: RunnerDetailsExtras, opts: PresentOptions): RunnerDetailsEntity {
  const m = extras.latestManager;
  // Appended to the Runner entity rather than spread into a new object (see presentBasicProjectDetails).
  const out = presentRunner(runner, extras, opts) as RunnerDetailsEntity;
  out.tag_list = runner.tag_list;
  out.run_untagged = runner.run_untagged;
  out.locked = runner.locked;
  out.maximum_timeout = runner.maximum_timeout;
  out.access_level = ACCESS_LEVEL_NAMES[runner.access_level] ?? 'not_protected';
  out.version = m?.version ?? null;
  out.revision = m?.revision ?? null;
  out.platform = m?.platform ?? null;
  out.architecture = m?.architecture ?? null;
  out.contacted_at = iso(runner.contacted_at);
  out.maintenance_note = extras.canUpdate ? runner.maintenance_note : null;
  if (extras.projects) out.projects = extras.projects.map((p) => presentProjectView(p, opts.baseUrl));
  out.groups = extras.groups.map((g) => presentBasicGroup(g, opts.baseUrl));
  return out;
}
