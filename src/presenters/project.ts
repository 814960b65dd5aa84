import type { BasicNamespace, BasicProject, ProjectEntityView, ProjectView, ProjectWithNamespace } from '../domain/project.js';
import { groupFullName, groupWebUrl } from './group.js';
import { presentUserBasic } from './user.js';

// Entities::ProjectIdentity < BasicProjectDetails < Project < ProjectWithAccess
// (lib/api/entities/project*.rb), keys in GitLab's order. Repository features
// this server does not have (issues, wiki, registry...) are left out.

/** Namespace#human_name: a group's full name, or the owner's name for a personal namespace. */
function namespaceHumanName(ns: BasicNamespace, names: Map<number, string>): string {
  return ns.kind === 'group' ? groupFullName(ns, names) : ns.name;
}

const namespaceWebUrl = (ns: BasicNamespace, base: string) => (ns.kind === 'group' ? groupWebUrl(ns, base) : `${base}/${ns.path}`);

/** Entities::NamespaceBasic. */
export function presentNamespaceBasic(ns: BasicNamespace, base: string) {
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: ns.full_path,
    parent_id: ns.parent_id,
    avatar_url: null,
    web_url: namespaceWebUrl(ns, base),
  };
}

/** Entities::ProjectIdentity. */
export function presentProjectIdentity(project: BasicProject, names: Map<number, string>) {
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${namespaceHumanName(project.namespace, names)} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.path_with_namespace,
    created_at: project.created_at.toISOString(),
  };
}

// The base URL is one of a handful (configured, or per Host header); parsing
// it for every project of every response showed up in profiles.
const hostnames = new Map<string, string>();
function hostnameOf(base: string): string {
  let host = hostnames.get(base);
  if (host === undefined) {
    host = new URL(base).hostname;
    if (hostnames.size >= 100) hostnames.clear();
    hostnames.set(base, host);
  }
  return host;
}

/** Entities::BasicProjectDetails; the read_code fields only for readers who may read code. */
export interface BasicProjectDetailsEntity extends ReturnType<typeof presentProjectIdentity> {
  default_branch?: string;
  tag_list: string[];
  topics: string[];
  ssh_url_to_repo: string;
  http_url_to_repo: string;
  web_url: string;
  readme_url?: null;
  forks_count?: number;
  avatar_url: null;
  star_count: number;
  last_activity_at: string;
  namespace: ReturnType<typeof presentNamespaceBasic>;
}

/** Entities::BasicProjectDetails. */
export function presentBasicProjectDetails(
  project: BasicProject,
  base: string,
  names: Map<number, string>,
  view: Pick<ProjectView, 'readCode'>,
): BasicProjectDetailsEntity {
  const host = hostnameOf(base);
  // Keys appended in GitLab's order instead of spreading the identity and the
  // optional read_code fields: spreads made this presenter (a runner's
  // projects, a page of projects) several times slower and GC-heavy.
  const out = presentProjectIdentity(project, names) as BasicProjectDetailsEntity;
  if (view.readCode) out.default_branch = project.default_branch;
  out.tag_list = [];
  out.topics = [];
  out.ssh_url_to_repo = `git@${host}:${project.path_with_namespace}.git`;
  out.http_url_to_repo = `${base}/${project.path_with_namespace}.git`;
  out.web_url = `${base}/${project.path_with_namespace}`;
  if (view.readCode) {
    out.readme_url = null;
    out.forks_count = 0;
  }
  out.avatar_url = null;
  out.star_count = 0;
  out.last_activity_at = project.last_activity_at.toISOString();
  out.namespace = presentNamespaceBasic(project.namespace, base);
  return out;
}

/** Entities::Project (and ProjectWithAccess when `permissions` is given). */
export function presentProject(project: ProjectWithNamespace, base: string, names: Map<number, string>, view: ProjectEntityView) {
  const api = `${base}/api/v4/projects/${project.id}`;
  return {
    ...presentBasicProjectDetails(project, base, names, view),
    _links: {
      self: api,
      issues: `${api}/issues`,
      merge_requests: `${api}/merge_requests`,
      repo_branches: `${api}/repository/branches`,
      labels: `${api}/labels`,
      events: `${api}/events`,
      members: `${api}/members`,
      cluster_agents: `${api}/cluster_agents`,
    },
    empty_repo: true,
    archived: project.archived,
    visibility: project.visibility,
    ...(project.namespace.kind === 'user' && view.owner ? { owner: presentUserBasic(view.owner, base) } : {}),
    jobs_enabled: true,
    shared_runners_enabled: project.shared_runners_enabled,
    creator_id: project.creator_id,
    import_status: 'none',
    updated_at: project.updated_at.toISOString(),
    ...(view.admin
      ? {
          runners_token: view.admin.runnersToken,
          runner_token_expiration_interval: project.runner_token_expiration_interval,
          group_runners_enabled: project.group_runners_enabled,
          build_timeout: project.build_timeout,
        }
      : {}),
    public_jobs: true,
    ...(view.permissions ? { permissions: view.permissions } : {}),
  };
}
