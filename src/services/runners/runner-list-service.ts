import type { AppContext } from '../../context.js';
import type { Namespace } from '../../generated/prisma/client.js';
import { apiError } from '../../lib/errors.js';
import { decodeIdCursor, type PageSource } from '../../lib/pagination.js';
import type { RunnerListItem } from '../../domain/runner-view.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import { instanceAbilities } from '../../policies/instance-policy.js';
import { RUNNER_SCOPES, RUNNER_STATUSES, type RunnerFilters, type RunnerKeysetParams, type RunnerScope } from '../../schemas/runners.js';
import type { NamespacedId } from '../../schemas/common.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import { authorize, findGroupFor, findProjectFor } from '../namespaces/access-service.js';
import { runnerKeysetPage, runnerPageSource, type RunnerFilterSpec, type RunnerSet } from './runner-queries.js';

/** A runner list, pageable by offset (the PageSource) or by keyset (`keyset`, `per_page + 1` rows past the cursor). */
export interface RunnerList extends PageSource<RunnerListItem> {
  keyset: (q: RunnerKeysetParams) => Promise<RunnerListItem[]>;
}

function runnerList(ctx: AppContext, set: RunnerSet, spec: RunnerFilterSpec): RunnerList {
  return {
    ...runnerPageSource(ctx, set, spec),
    keyset: (q) =>
      runnerKeysetPage(ctx, set, spec, {
        afterId: q.cursor !== undefined && q.cursor !== '' ? decodeIdCursor(q.cursor) : undefined,
        limit: q.per_page + 1,
        descending: q.sort === 'desc',
      }),
  };
}

// The four runner lists (docs.gitlab.com/api/runners): which
// runners each starts from, who may ask, and which deprecated scopes each
// accepts.

/**
 * `filter_runners(runners, scope, allowed_scopes:)`: a value Grape accepted
 * but the endpoint does not allow → 400 {"message":"Scope contains invalid value"}.
 */
export function toFilterSpec(filters: RunnerFilters, allowedScopes: readonly RunnerScope[] = RUNNER_SCOPES): RunnerFilterSpec {
  if (filters.scope !== undefined && !allowedScopes.includes(filters.scope)) throw apiError(400, 'Scope contains invalid value');
  return {
    scope: filters.scope,
    type: filters.type,
    status: filters.status,
    paused: filters.paused,
    tagList: filters.tag_list,
    versionPrefix: filters.version_prefix,
  };
}

/** GET /runners: runners of the projects and groups the user manages; never instance runners, even for admins. */
export function ownedRunnersSource(ctx: AppContext, actor: PolicyActor, filters: RunnerFilters): RunnerList {
  const spec = toFilterSpec(filters, RUNNER_STATUSES);
  return runnerList(ctx, { kind: 'available_to_user', userId: actor.id }, spec);
}

/** GET /runners/all: admins only (403 {"message":"403 Forbidden"}), checked after the parameters. */
export async function allRunnersSource(ctx: AppContext, actor: PolicyActor, filters: RunnerFilters): Promise<RunnerList> {
  // read_all_runners does not depend on the registration-token setting: no settings read on this hot path.
  authorize(instanceAbilities(actor, { allowRunnerRegistrationToken: false }), 'read_all_runners');
  return runnerList(ctx, { kind: 'all' }, toFilterSpec(filters));
}

/** `user_project` + `authorize! :read_runners` (the before-block of the project runner routes). */
export async function findProjectForRunners(ctx: AppContext, actor: PolicyActor, id: NamespacedId) {
  const found = await findProjectFor(ctx, actor, id);
  authorize(found.can, 'read_runners');
  return found;
}

/** `user_group` + `authorize! :read_runners`. */
export async function findGroupForRunners(ctx: AppContext, actor: PolicyActor, id: NamespacedId) {
  const found = await findGroupFor(ctx, actor, id);
  authorize(found.can, 'read_runners');
  return found;
}

/** Ci::Runner.owned_or_instance_wide(project). */
export function projectRunnerSet(project: ProjectWithNamespace): RunnerSet {
  const groupIds = project.group_runners_enabled && project.namespace.kind === 'group' ? project.namespace.traversal_ids : [];
  return { kind: 'project', projectId: project.id, groupIds, includeInstance: project.shared_runners_enabled };
}

/** Ci::Runner.group_or_instance_wide(group): the group and its ancestors, not its descendants. */
export function groupRunnerSet(group: Namespace): RunnerSet {
  return { kind: 'group', groupIds: group.traversal_ids.length ? group.traversal_ids : [group.id], includeInstance: group.shared_runners_enabled };
}

export function projectRunnersSource(ctx: AppContext, project: ProjectWithNamespace, filters: RunnerFilters): RunnerList {
  return runnerList(ctx, projectRunnerSet(project), toFilterSpec(filters));
}

/** The group list declares no `scope`; it never reaches here. */
export function groupRunnersSource(ctx: AppContext, group: Namespace, filters: Omit<RunnerFilters, 'scope'>): RunnerList {
  return runnerList(ctx, groupRunnerSet(group), toFilterSpec(filters));
}
