import type { AppContext } from '../../context.js';
import { queryPrepared } from '../../db/prepared.js';
import type { Namespace, Runner } from '../../generated/prisma/client.js';
import { notFound } from '../../lib/errors.js';
import { AccessLevel, type PolicyActor } from '../../policies/access-levels.js';
import { canReadCode } from '../../policies/namespace-policy.js';
import { runnerAbilities } from '../../policies/runner-policy.js';
import type { BasicProject, ProjectView } from '../../domain/project.js';
import type { ManagerVersion, RunnerCreator, RunnerDetailsExtras, RunnerDetailsRow } from '../../domain/runner-view.js';
import { groupAccessLevel, projectAccessLevels } from '../namespaces/access-service.js';
import { authorizeRunner, loadRunnerFacts, OWNERSHIP_COLUMNS, ownershipFrom, type OwnershipColumns, type RunnerOwnership } from './runner-access-service.js';
import { EXECUTING_JOB_STATUSES, RUNNER_TYPE_IDS } from './runner-core.js';

// GET /runners/:id (docs.gitlab.com/api/runners): Entities::Ci::RunnerDetails in one
// statement. The row, its ownership, creator, job execution status, latest
// manager, group and assigned projects (with their namespace chains' names)
// used to be seven queries, most through Prisma; for an admin (whom the
// policy grants everything without looking) this is now the only one.
// Members additionally pay the access-level queries the policy needs.

/** The runner's group, as RunnerDetails and the policy read it. */
type RunnerGroup = Pick<Namespace, 'id' | 'full_path' | 'name' | 'traversal_ids'>;

/** An assigned project, with what decides `read_code` for members. */
type AssignedProject = BasicProject & { visibility: string };

/** The columns RunnerDetails and the policy read (never the token digest). */
const RUNNER_COLUMNS = [
  'id', 'description', 'active', 'runner_type', 'name', 'contacted_at', 'created_at', 'creator_id',
  'tag_list', 'run_untagged', 'locked', 'maximum_timeout', 'access_level', 'maintenance_note',
] as const satisfies readonly (keyof DetailsRow)[];

interface DetailsRow extends RunnerDetailsRow, OwnershipColumns {
  creator_id: number | null;
  creator_username: string | null;
  creator_name: string | null;
  creator_state: string | null;
  executing: boolean;
  manager_found: boolean;
  manager_version: string | null;
  manager_revision: string | null;
  manager_platform: string | null;
  manager_architecture: string | null;
  group_id: number | null;
  group_full_path: string | null;
  group_name: string | null;
  group_traversal_ids: number[] | null;
  projects: ProjectJson[] | null;
}

/** A project as json_build_object returns it: timestamps are ISO strings. */
interface ProjectJson extends Omit<AssignedProject, 'created_at' | 'last_activity_at'> {
  created_at: string;
  last_activity_at: string;
  names: [number, string][] | null;
}

const PROJECT = RUNNER_TYPE_IDS.project_type;

// The job probe is LATERAL … LIMIT 1 for the reason the list query gives
// (runner-queries.ts): one jobs(runner_id, status) index lookup.
export const DETAILS_SQL = `
SELECT ${RUNNER_COLUMNS.map((c) => `r.${c}`).join(', ')},
       u.username AS creator_username, u.name AS creator_name, u.state AS creator_state,
       busy.id IS NOT NULL AS executing,
       m.id IS NOT NULL AS manager_found,
       m.version AS manager_version, m.revision AS manager_revision,
       m.platform AS manager_platform, m.architecture AS manager_architecture,
       o.group_ref, o.project_ids, o.owner_project_id,
       g.id AS group_id, g.full_path AS group_full_path, g.name AS group_name, g.traversal_ids AS group_traversal_ids,
       CASE WHEN r.runner_type = ${PROJECT} AND $3::boolean THEN
         (SELECT json_agg(json_build_object(
                  'id', p.id, 'description', p.description, 'name', p.name, 'path', p.path,
                  'path_with_namespace', p.path_with_namespace, 'default_branch', p.default_branch,
                  'visibility', p.visibility, 'created_at', p.created_at, 'last_activity_at', p.last_activity_at,
                  'namespace', json_build_object('id', n.id, 'name', n.name, 'path', n.path, 'kind', n.kind,
                                                 'full_path', n.full_path, 'parent_id', n.parent_id,
                                                 'traversal_ids', n.traversal_ids),
                  'names', (SELECT json_agg(json_build_array(a.id, a.name)) FROM namespaces a WHERE a.id = ANY(n.traversal_ids))
                ) ORDER BY p.id)
            FROM runner_projects rp
            JOIN projects p ON p.id = rp.project_id
            JOIN namespaces n ON n.id = p.namespace_id
           WHERE rp.runner_id = r.id) END AS projects
  FROM runners r
  LEFT JOIN users u ON u.id = r.creator_id
  CROSS JOIN LATERAL (SELECT ${OWNERSHIP_COLUMNS}) o
  LEFT JOIN namespaces g ON g.id = o.group_ref
  LEFT JOIN LATERAL (SELECT mm.id, mm.version, mm.revision, mm.platform, mm.architecture FROM runner_managers mm
                      WHERE mm.runner_id = r.id ORDER BY mm.contacted_at DESC NULLS LAST, mm.id DESC LIMIT 1) m ON TRUE
  LEFT JOIN LATERAL (SELECT j.id FROM jobs j WHERE j.runner_id = r.id AND j.status = ANY($2::text[]) LIMIT 1) busy ON TRUE
 WHERE r.id = $1`;

interface LoadedDetails {
  runner: RunnerDetailsRow;
  ownership: RunnerOwnership;
  creator: RunnerCreator | null;
  executing: boolean;
  latestManager: ManagerVersion | null;
  group: RunnerGroup | null;
  /** Undefined unless asked for. */
  projects: AssignedProject[] | undefined;
  /** Names of every namespace in the projects' chains. */
  names: Map<number, string>;
}

async function loadDetails(ctx: AppContext, id: number, includeProjects: boolean): Promise<LoadedDetails | null> {
  const res = await queryPrepared<DetailsRow>(ctx, { text: DETAILS_SQL, values: [id, EXECUTING_JOB_STATUSES, includeProjects], generic: true });
  const row = res.rows[0];
  if (!row) return null;
  const {
    creator_username, creator_name, creator_state, executing,
    manager_found, manager_version, manager_revision, manager_platform, manager_architecture,
    group_ref, group_id, group_full_path, group_name, group_traversal_ids,
    project_ids, owner_project_id, projects,
    ...runner
  } = row;
  const names = new Map<number, string>();
  const assigned = projects?.map((p): AssignedProject => {
    for (const [nsId, name] of p.names ?? []) names.set(nsId, name);
    const { names: _names, ...fields } = p;
    return { ...fields, created_at: new Date(p.created_at), last_activity_at: new Date(p.last_activity_at) };
  });
  return {
    runner,
    ownership: ownershipFrom({ group_ref, project_ids, owner_project_id }),
    creator:
      runner.creator_id !== null && creator_username !== null
        ? { id: runner.creator_id, username: creator_username, name: creator_name!, state: creator_state! }
        : null,
    executing,
    latestManager: manager_found
      ? { version: manager_version, revision: manager_revision, platform: manager_platform, architecture: manager_architecture }
      : null,
    group: group_id !== null ? { id: group_id, full_path: group_full_path!, name: group_name!, traversal_ids: group_traversal_ids ?? [] } : null,
    projects: includeProjects ? (assigned ?? []) : undefined,
    names,
  };
}

/**
 * The runner and RunnerDetails' per-reader parts, for a reader allowed to
 * read it (404 unknown, 403 otherwise): admins see all assigned projects and
 * the group; others only those they are a member of.
 */
export async function readRunnerDetails(
  ctx: AppContext,
  actor: PolicyActor,
  id: number,
  opts: { includeProjects: boolean; written?: Pick<Runner, (typeof RUNNER_COLUMNS)[number]> },
): Promise<{ runner: RunnerDetailsRow; extras: RunnerDetailsExtras }> {
  const d = await loadDetails(ctx, id, opts.includeProjects);
  if (!d) throw notFound('Runner');
  // PUT answers with the caller's own write, as GitLab does, even when
  // another writer has changed the row since.
  if (opts.written) for (const c of RUNNER_COLUMNS) (d.runner as unknown as Record<string, unknown>)[c] = opts.written[c];
  const can = runnerAbilities(actor, await loadRunnerFacts(ctx, actor, d.runner, d.ownership));
  authorizeRunner({ can }, 'read_runner');

  const [groupVisible, levels] = await Promise.all([
    d.group === null || actor.admin ? Promise.resolve(true) : groupAccessLevel(ctx, actor.id, d.group).then((l) => l >= AccessLevel.GUEST),
    d.projects === undefined || actor.admin ? Promise.resolve(undefined) : projectAccessLevels(ctx, actor.id, d.ownership.projectIds),
  ]);
  const level = (projectId: number) => levels?.get(projectId) ?? AccessLevel.NO_ACCESS;
  const projects = d.projects
    ?.filter((p) => actor.admin || level(p.id) >= AccessLevel.GUEST)
    .map((p): ProjectView => ({
      project: p,
      names: d.names,
      readCode: canReadCode(actor, p.visibility, level(p.id)),
    }));
  return {
    runner: d.runner,
    extras: {
      creator: d.creator,
      executing: d.executing,
      latestManager: d.latestManager,
      canUpdate: can.has('update_runner'),
      projects,
      groups: d.group !== null && groupVisible ? [d.group] : [],
    },
  };
}
