import { AccessLevel, type PolicyActor } from './access-levels.js';

// Ci::RunnerPolicy and Ci::RunnerProjectPolicy (GitLab's app/policies), as pure
// functions of facts the runner service loads.

export type RunnerAbility = 'read_runner' | 'read_builds' | 'assign_runner' | 'update_runner' | 'delete_runner';

export type RunnerTypeName = 'instance_type' | 'group_type' | 'project_type';

export interface RunnerFacts {
  type: RunnerTypeName;
  locked: boolean;
  /** Number of projects the runner is assigned to (project runners). */
  projectCount: number;
  /** Actor's access level on the owning group (group runners), inherited. */
  ownerGroupAccess: number;
  /** Actor's access level on the owner project (project runners). */
  ownerProjectAccess: number;
  /** Highest access level of the actor over all assigned projects (project runners). */
  maxAssignedProjectAccess: number;
  /** Group runners: the actor is Maintainer+ of a project in the group (or a descendant) with group runners enabled. */
  maintainerOfProjectUsingGroup: boolean;
  /**
   * The owner project is archived (project runners). An archived project
   * prevents `admin_runners` on it, so its Maintainers lose can_admin_runner
   * (keeping read_runner and update_runner from the plain Maintainer rules).
   */
  ownerArchived?: boolean;
}

export function runnerAbilities(actor: PolicyActor | null, r: RunnerFacts): Set<RunnerAbility> {
  const can = new Set<RunnerAbility>();
  if (!actor) return can;
  const all: RunnerAbility[] = ['read_runner', 'read_builds', 'assign_runner', 'update_runner', 'delete_runner'];
  if (actor.admin) {
    all.forEach((a) => can.add(a));
    return can;
  }
  const canAdminRunner =
    (r.type === 'group_type' && r.ownerGroupAccess >= AccessLevel.OWNER) ||
    (r.type === 'project_type' && r.ownerProjectAccess >= AccessLevel.MAINTAINER && !r.ownerArchived);
  if (canAdminRunner) all.forEach((a) => can.add(a));

  if (r.type === 'instance_type') can.add('read_runner');
  if (r.type === 'group_type') {
    if (r.ownerGroupAccess >= AccessLevel.MAINTAINER) {
      can.add('read_runner');
      can.add('read_builds');
    }
    if (r.maintainerOfProjectUsingGroup) can.add('read_runner');
  }
  if (r.type === 'project_type') {
    if (r.ownerProjectAccess >= AccessLevel.MAINTAINER || r.maxAssignedProjectAccess >= AccessLevel.MAINTAINER) can.add('read_runner');
    if (r.ownerProjectAccess >= AccessLevel.MAINTAINER) can.add('update_runner');
    if (r.projectCount > 1 && r.maxAssignedProjectAccess >= AccessLevel.MAINTAINER) {
      can.add('read_builds');
      can.add('read_runner');
      can.add('assign_runner');
      can.add('update_runner');
    }
  }
  if (r.projectCount > 1) can.delete('delete_runner');
  if (r.locked) can.delete('assign_runner');
  return can;
}

export interface RunnerProjectFacts {
  /** Actor's access level on the project the runner is being unassigned from. */
  projectAccess: number;
  locked: boolean;
  isOwnerProject: boolean;
  /** The project is archived: nobody has `admin_runners` on it, admins included. */
  projectArchived?: boolean;
}

/**
 * Ci::RunnerProjectPolicy#unassign_runner: `admin_runners` on the project
 * (Maintainer+, or admin; prevented by archiving), prevented for non-admins
 * when the runner is locked, and for everyone on the runner's owner project.
 */
export function canUnassignRunner(actor: PolicyActor | null, f: RunnerProjectFacts): boolean {
  if (!actor) return false;
  if (f.isOwnerProject) return false;
  if (f.projectArchived) return false;
  if (actor.admin) return true;
  if (f.locked) return false;
  return f.projectAccess >= AccessLevel.MAINTAINER;
}
