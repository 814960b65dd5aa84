import { AccessLevel, type PolicyActor, type Visibility } from './access-levels.js';

// GroupPolicy / ProjectPolicy, reduced to what the Runners API needs
// (GitLab's app/policies/namespace_policy.rb, project_policy.rb) plus the fixture endpoints.

export type NamespaceAbility =
  | 'read'
  | 'read_runners'
  | 'admin_runners'
  | 'create_runners'
  | 'update_runners_registration_token'
  | 'read_runners_registration_token'
  | 'admin' // update settings (PUT /groups/:id, PUT /projects/:id)
  | 'read_members'
  | 'admin_members'
  | 'create_subgroup'
  | 'create_project'
  | 'create_pipeline'
  /**
   * GitLab's read_pipeline and read_build: every member that can see the
   * project, Guests included, because "Public pipelines" (public_builds) is
   * on by default (ProjectPolicy: `public_builds & can?(:guest_access)`).
   */
  | 'read_build'
  /** GitLab's read_code: Reporter+ of a private project (Guests cannot read the repository). */
  | 'read_code'
  | 'update_build' // cancel a job (Developer+, not archived)
  | 'admin_protected_branches'
  /**
   * read_group_audit_events / read_project_audit_events (GitLab EE's
   * group_policy.rb, project_policy.rb): Developer+. Only holders of `admin`
   * (admin_group / admin_project) see other authors' events.
   */
  | 'read_audit_events';

export interface GroupFacts {
  visibility: Visibility;
  /** Max access level of the actor on this group, inherited from ancestors. */
  accessLevel: number;
  /** Instance setting AND root group's setting. */
  registrationTokenAllowed: boolean;
  /** runner_registration_enabled on the group and all ancestors, and 'group' in valid_runner_registrars. */
  runnerRegistrationEnabled: boolean;
}

export interface ProjectFacts {
  visibility: Visibility;
  /** Max of direct project membership and inherited group membership (Owner for a personal project's owner). */
  accessLevel: number;
  registrationTokenAllowed: boolean;
  /** project.runner_registration_enabled and 'project' in valid_runner_registrars. */
  runnerRegistrationEnabled: boolean;
  archived: boolean;
}

/**
 * `read_code` on a project, which decides whether its entities show
 * default_branch, readme_url and forks_count: admins, public and internal
 * projects, and Reporters+ of a private one.
 */
export function canReadCode(actor: PolicyActor | null, visibility: string, accessLevel: number): boolean {
  return Boolean(actor?.admin) || visibility !== 'private' || accessLevel >= AccessLevel.REPORTER;
}

function canSee(actor: PolicyActor | null, visibility: Visibility, accessLevel: number): boolean {
  if (actor?.admin) return true;
  if (visibility === 'public') return true;
  if (visibility === 'internal') return actor !== null;
  return actor !== null && accessLevel >= AccessLevel.GUEST;
}

export function groupAbilities(actor: PolicyActor | null, g: GroupFacts): Set<NamespaceAbility> {
  const can = new Set<NamespaceAbility>();
  if (!canSee(actor, g.visibility, g.accessLevel)) return can;
  can.add('read');
  can.add('read_members');
  if (!actor) return can;
  const level = actor.admin ? AccessLevel.OWNER : g.accessLevel;
  if (level >= AccessLevel.MAINTAINER) {
    can.add('read_runners');
    can.add('create_subgroup');
    can.add('create_project');
  }
  if (level >= AccessLevel.DEVELOPER) {
    can.add('create_project');
    can.add('read_audit_events');
  }
  if (level >= AccessLevel.OWNER) {
    can.add('admin_runners');
    can.add('admin');
    can.add('admin_members');
    if (actor.admin || g.runnerRegistrationEnabled) can.add('create_runners');
    if (g.registrationTokenAllowed) {
      can.add('update_runners_registration_token');
      can.add('read_runners_registration_token');
    }
  }
  return can;
}

export function projectAbilities(actor: PolicyActor | null, p: ProjectFacts): Set<NamespaceAbility> {
  const can = new Set<NamespaceAbility>();
  if (!canSee(actor, p.visibility, p.accessLevel)) return can;
  can.add('read');
  can.add('read_members');
  if (!actor) return can;
  can.add('read_build');
  const level = actor.admin ? AccessLevel.OWNER : p.accessLevel;
  if (level >= AccessLevel.REPORTER) can.add('read_code');
  if (level >= AccessLevel.DEVELOPER) can.add('read_audit_events');
  if (level >= AccessLevel.DEVELOPER && !p.archived) {
    can.add('create_pipeline');
    can.add('update_build');
  }
  if (level >= AccessLevel.MAINTAINER) {
    can.add('read_runners');
    can.add('admin');
    can.add('admin_members');
    can.add('admin_protected_branches');
    if (!p.archived) {
      can.add('admin_runners');
      if (actor.admin || p.runnerRegistrationEnabled) can.add('create_runners');
      if (p.registrationTokenAllowed) {
        can.add('update_runners_registration_token');
        can.add('read_runners_registration_token');
      }
    }
  }
  return can;
}

/**
 * Members::CreatorService: the Owner role can only be handed out by an Owner
 * (or an admin); `actorLevel` is the actor's level on the group or project.
 */
export function canGrantAccessLevel(actor: PolicyActor, actorLevel: number, level: number): boolean {
  if (actor.admin) return true;
  return level < AccessLevel.OWNER || actorLevel >= AccessLevel.OWNER;
}
