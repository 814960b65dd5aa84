import type { Namespace } from '../generated/prisma/client.js';

// Entities::BasicGroupDetails < Group < GroupDetail (lib/api/entities/group*.rb),
// keys in GitLab's order. Settings this server does not model carry GitLab's
// defaults for a new group.

export type SharedRunnersSetting = 'enabled' | 'disabled_and_overridable' | 'disabled_and_unoverridable';

/** Namespace#shared_runners_setting from its two columns. */
export function sharedRunnersSetting(ns: Pick<Namespace, 'shared_runners_enabled' | 'allow_descendants_override_disabled_shared_runners'>): SharedRunnersSetting {
  if (ns.shared_runners_enabled) return 'enabled';
  return ns.allow_descendants_override_disabled_shared_runners ? 'disabled_and_overridable' : 'disabled_and_unoverridable';
}

export const groupWebUrl = (group: Pick<Namespace, 'full_path'>, base: string) => `${base}/groups/${group.full_path}`;

/** "Parent / Child": the names of the group and its ancestors (Group#full_name). */
export function groupFullName(group: Pick<Namespace, 'id' | 'name' | 'traversal_ids'>, names: Map<number, string>): string {
  const ids = group.traversal_ids.length ? group.traversal_ids : [group.id];
  return ids.map((id) => (id === group.id ? group.name : (names.get(id) ?? ''))).join(' / ');
}

/** Entities::BasicGroupDetails. */
export function presentBasicGroup(group: Pick<Namespace, 'id' | 'full_path' | 'name'>, base: string) {
  return { id: group.id, web_url: groupWebUrl(group, base), name: group.name };
}

/** Entities::Group: list items. */
export function presentGroup(group: Namespace, base: string, names: Map<number, string>) {
  return {
    ...presentBasicGroup(group, base),
    path: group.path,
    description: group.description,
    visibility: group.visibility,
    share_with_group_lock: false,
    require_two_factor_authentication: false,
    two_factor_grace_period: 48,
    project_creation_level: 'developer',
    auto_devops_enabled: null,
    subgroup_creation_level: 'maintainer',
    emails_disabled: false,
    emails_enabled: true,
    mentions_disabled: null,
    lfs_enabled: true,
    archived: false,
    default_branch: null,
    default_branch_protection: 2,
    avatar_url: null,
    request_access_enabled: true,
    full_name: groupFullName(group, names),
    full_path: group.full_path,
    created_at: group.created_at.toISOString(),
    parent_id: group.parent_id,
    organization_id: 1,
    shared_runners_setting: sharedRunnersSetting(group),
    max_artifacts_size: null,
    marked_for_deletion_on: null,
  };
}

export interface GroupDetailOptions {
  /**
   * Present only for those who may administer the group (GitLab's
   * `user_can_admin_group`); null when registration tokens are disallowed.
   */
  runnersToken?: string | null;
  /** `with_projects` (default true): the group's own projects, already presented. */
  projects?: unknown[];
}

/** Entities::GroupDetail: GET, POST and PUT of a single group. */
export function presentGroupDetail(group: Namespace, base: string, names: Map<number, string>, opts: GroupDetailOptions = {}) {
  return {
    ...presentGroup(group, base, names),
    shared_with_groups: [],
    ...(opts.runnersToken !== undefined ? { runners_token: opts.runnersToken } : {}),
    ...(group.parent_id === null ? { prevent_sharing_groups_outside_hierarchy: false } : {}),
    ...(opts.projects !== undefined ? { projects: opts.projects, shared_projects: [] } : {}),
  };
}
