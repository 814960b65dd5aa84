import type { Namespace, Project, User } from '../generated/prisma/client.js';

// What the project services load for a reader and the project presenters show: the rows with their
// namespace, and the per-reader facts (read_code, owner, CI/CD block, permissions) the services decide.

export type ProjectWithNamespace = Project & { namespace: Namespace };

/** The namespace columns NamespaceBasic and a project's full name read. */
export type BasicNamespace = Pick<Namespace, 'id' | 'name' | 'path' | 'kind' | 'full_path' | 'parent_id' | 'traversal_ids'>;

/** The project columns ProjectIdentity and BasicProjectDetails read. */
export type BasicProject = Pick<
  Project,
  'id' | 'description' | 'name' | 'path' | 'path_with_namespace' | 'default_branch' | 'created_at' | 'last_activity_at'
> & { namespace: BasicNamespace };

/** A project plus what its entities need: the names of its namespace chain and the reader's rights. */
export interface ProjectView {
  project: BasicProject;
  /** Names of the namespaces in project.namespace.traversal_ids, for "Group / Sub / Project". */
  names: Map<number, string>;
  /** `read_code`: decides default_branch, readme_url and forks_count. */
  readCode: boolean;
}

/** A membership as ProjectWithAccess#permissions shows it. */
export interface MemberAccess {
  access_level: number;
  notification_level: number;
}

/** What Entities::Project shows a given reader besides the row. */
export interface ProjectEntityView extends Pick<ProjectView, 'readCode'> {
  /** The personal namespace's owner; shown as `owner` for projects outside groups. */
  owner: User | null;
  /**
   * GitLab's `admin_project` (Maintainer+): the CI/CD settings block, with
   * `runners_token` (null when registration tokens are disallowed).
   */
  admin?: { runnersToken: string | null };
  /** ProjectWithAccess (signed-in GET /projects/:id): the caller's own memberships. */
  permissions?: { project_access: MemberAccess | null; group_access: MemberAccess | null };
}
