import type { AssignedJob } from '../domain/assigned-job.js';
import type { CiImage, CiService, CiVariable } from '../domain/ci-job.js';
import { GITLAB_VERSION } from '../domain/gitlab-version.js';
import { FAILURE_REASONS } from '../domain/failure-reasons.js';

// The 201 body of POST /jobs/request: API::Entities::Ci::JobRequest::Response
// (GitLab's lib/api/ci/runner.rb), keys in GitLab's order. Every value has the JSON
// type the runner's Go structs expect (ids are numbers, variable values and
// project_jobs_running_on_instance_runners_count are strings) and `run` is
// never sent, since `"run": null` makes the runner drop the job silently.

const GIT_DEPTH = 20;

/** Ci::Variables item as the runner reads it: `file`, `masked` and `raw` only when true. */
interface RunnerVariable {
  key: string;
  value: string;
  public: boolean;
  file?: true;
  masked?: true;
  raw?: true;
}

const variable = (key: string, value: string | number | boolean, opts: { public?: boolean; masked?: boolean; file?: boolean; raw?: boolean } = {}): RunnerVariable => ({
  key,
  value: String(value),
  public: opts.public ?? true,
  ...(opts.file ? { file: true as const } : {}),
  ...(opts.masked ? { masked: true as const } : {}),
  ...(opts.raw ? { raw: true as const } : {}),
});

/** A public variable without flags, the shape of almost every predefined one (one object shape: no spreads). */
const pub = (key: string, value: string | number | boolean): RunnerVariable => ({ key, value: String(value), public: true });

const fromCi = (v: CiVariable, isPublic: boolean) => variable(v.key, v.value, { public: isPublic, file: v.file, raw: v.raw });

/** CI_COMMIT_REF_SLUG and friends: lowercase, non-alphanumerics as `-`, at most 63 characters, no `-` at either end. */
export const slugify = (s: string) =>
  s.toLowerCase().replace(/[^a-z0-9]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '');

/** Time#iso8601: seconds precision, `Z`. */
const iso8601 = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '');

/** What the payload says about the server, for one base URL: parsed once, not per job. */
interface ServerFacts {
  host: string;
  hostname: string;
  port: string;
  protocol: string;
  /** `<protocol>//gitlab-ci-token:` and `@<host><path>/`: the repository URL around the job token and the project path. */
  repoBefore: string;
  repoAfter: string;
}

const serverFactsByUrl = new Map<string, ServerFacts>();
/** Base URLs come from EXTERNAL_URL or the request's Host: a bound for a server reached under many names. */
const MAX_BASE_URLS = 100;

function serverFacts(baseUrl: string): ServerFacts {
  let facts = serverFactsByUrl.get(baseUrl);
  if (!facts) {
    const url = new URL(baseUrl);
    facts = {
      host: url.host,
      hostname: url.hostname,
      port: url.port || (url.protocol === 'https:' ? '443' : '80'),
      protocol: url.protocol.replace(':', ''),
      repoBefore: `${url.protocol}//gitlab-ci-token:`,
      repoAfter: `@${url.host}${url.pathname.replace(/\/+$/, '')}/`,
    };
    if (serverFactsByUrl.size >= MAX_BASE_URLS) serverFactsByUrl.clear();
    serverFactsByUrl.set(baseUrl, facts);
  }
  return facts;
}

export function repoUrl(baseUrl: string, token: string, project: { path_with_namespace: string }): string {
  const facts = serverFacts(baseUrl);
  return `${facts.repoBefore}${token}${facts.repoAfter}${project.path_with_namespace}.git`;
}

const [VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH] = GITLAB_VERSION.version.split('.');

/**
 * The variables a job runs with, lowest precedence first: predefined CI_*
 * variables, GIT_STRATEGY=none (no repository exists to clone; YAML may
 * override it), the YAML's global then job variables, then the variables
 * given when the pipeline was created. A later key replaces an earlier one.
 */
function runnerVariables(a: AssignedJob, baseUrl: string, repositoryUrl: string): RunnerVariable[] {
  const { job, pipeline, project, namespace, rootNamespace, user, runner } = a;
  const server = serverFacts(baseUrl);
  const projectUrl = `${baseUrl}/${project.path_with_namespace}`;
  const list: RunnerVariable[] = [
    pub('CI_PIPELINE_ID', pipeline.id),
    pub('CI_PIPELINE_URL', `${projectUrl}/-/pipelines/${pipeline.id}`),
    pub('CI_JOB_ID', job.id),
    pub('CI_JOB_URL', `${projectUrl}/-/jobs/${job.id}`),
    variable('CI_JOB_TOKEN', a.token, { public: false, masked: true }),
    pub('CI_JOB_STARTED_AT', iso8601(job.started_at)),
    pub('CI_JOB_NAME', job.name),
    pub('CI_JOB_NAME_SLUG', slugify(job.name)),
    pub('CI_JOB_STAGE', job.stage),
    pub('CI_JOB_TIMEOUT', a.timeout),
    pub('CI_NODE_TOTAL', 1),
    pub('CI_COMMIT_SHA', pipeline.sha),
    pub('CI_COMMIT_SHORT_SHA', pipeline.sha.slice(0, 8)),
    pub('CI_COMMIT_BEFORE_SHA', pipeline.before_sha),
    pub('CI_COMMIT_REF_NAME', pipeline.ref),
    pub('CI_COMMIT_REF_SLUG', slugify(pipeline.ref)),
    pub('CI_COMMIT_BRANCH', pipeline.ref),
    pub('CI_COMMIT_REF_PROTECTED', job.protected),
    pub('CI_DEFAULT_BRANCH', project.default_branch),
    pub('CI_RUNNER_ID', runner.id),
    pub('CI_RUNNER_DESCRIPTION', runner.description ?? ''),
    pub('CI_RUNNER_TAGS', JSON.stringify(runner.tag_list)),
    pub('CI', 'true'),
    pub('GITLAB_CI', 'true'),
    pub('CI_SERVER_FQDN', server.host),
    pub('CI_SERVER_URL', baseUrl),
    pub('CI_SERVER_HOST', server.hostname),
    pub('CI_SERVER_PORT', server.port),
    pub('CI_SERVER_PROTOCOL', server.protocol),
    pub('CI_SERVER_NAME', 'GitLab'),
    pub('CI_SERVER_VERSION', GITLAB_VERSION.version),
    pub('CI_SERVER_VERSION_MAJOR', VERSION_MAJOR ?? '0'),
    pub('CI_SERVER_VERSION_MINOR', VERSION_MINOR ?? '0'),
    pub('CI_SERVER_VERSION_PATCH', VERSION_PATCH ?? '0'),
    pub('CI_SERVER_REVISION', GITLAB_VERSION.revision),
    pub('GITLAB_FEATURES', ''),
    pub('CI_API_V4_URL', `${baseUrl}/api/v4`),
    pub('CI_CONFIG_PATH', '.gitlab-ci.yml'),
    pub('CI_PROJECT_ID', project.id),
    pub('CI_PROJECT_NAME', project.path),
    pub('CI_PROJECT_TITLE', project.name),
    pub('CI_PROJECT_DESCRIPTION', project.description ?? ''),
    pub('CI_PROJECT_PATH', project.path_with_namespace),
    pub('CI_PROJECT_PATH_SLUG', slugify(project.path_with_namespace)),
    pub('CI_PROJECT_NAMESPACE', namespace.full_path),
    pub('CI_PROJECT_NAMESPACE_ID', namespace.id),
    pub('CI_PROJECT_ROOT_NAMESPACE', rootNamespace.path),
    pub('CI_PROJECT_URL', projectUrl),
    pub('CI_PROJECT_VISIBILITY', project.visibility),
    variable('CI_REPOSITORY_URL', repositoryUrl, { public: false }),
    pub('CI_PIPELINE_IID', pipeline.iid),
    pub('CI_PIPELINE_SOURCE', pipeline.source),
    pub('CI_PIPELINE_CREATED_AT', iso8601(pipeline.created_at)),
  ];
  if (user) {
    list.push(pub('GITLAB_USER_ID', user.id), pub('GITLAB_USER_EMAIL', user.email), pub('GITLAB_USER_LOGIN', user.username), pub('GITLAB_USER_NAME', user.name));
  }
  list.push(pub('GIT_STRATEGY', 'none'));
  const globals = a.pipelineConfig.variables ?? [];
  const own = a.options.variables ?? [];
  const given = a.pipelineConfig.pipeline_variables ?? [];
  // The predefined keys are all different: only the YAML's and the given variables can replace one.
  if (globals.length + own.length + given.length === 0) return list;
  for (const v of globals) list.push(fromCi(v, true));
  for (const v of own) list.push(fromCi(v, true));
  for (const v of given) list.push(fromCi(v, false));
  const byKey = new Map<string, RunnerVariable>();
  for (const v of list) {
    byKey.delete(v.key);
    byKey.set(v.key, v);
  }
  return [...byKey.values()];
}

const presentImage = (image: CiImage | null) =>
  image ? { name: image.name, entrypoint: image.entrypoint, ports: [], pull_policy: image.pull_policy } : null;

const presentService = (s: CiService) => ({
  name: s.name,
  entrypoint: s.entrypoint,
  ports: [],
  alias: s.alias,
  command: s.command,
  variables: s.variables.map((v) => fromCi(v, true)),
  pull_policy: s.pull_policy,
});

function steps(a: AssignedJob) {
  const script = [...(a.options.before_script ?? []), ...(a.options.script ?? [])];
  const list: { name: string; script: string[]; timeout: number; when: string; allow_failure: boolean }[] = [
    { name: 'script', script, timeout: a.timeout, when: 'on_success', allow_failure: false },
  ];
  if (a.options.after_script?.length) {
    list.push({ name: 'after_script', script: a.options.after_script, timeout: a.timeout, when: 'always', allow_failure: true });
  }
  return list;
}

export function presentJobRequestResponse(a: AssignedJob, baseUrl: string) {
  const { job, pipeline, project, namespace, rootNamespace } = a;
  const timeInQueue = job.queued_at && job.started_at ? (job.started_at.getTime() - job.queued_at.getTime()) / 1000 : 0;
  const repositoryUrl = repoUrl(baseUrl, a.token, project);
  return {
    id: job.id,
    token: a.token,
    allow_git_fetch: true,
    job_info: {
      id: job.id,
      name: job.name,
      stage: job.stage,
      pipeline_id: pipeline.id,
      project_id: project.id,
      project_name: project.name,
      project_full_path: project.path_with_namespace,
      namespace_id: namespace.id,
      root_namespace_id: rootNamespace.id,
      organization_id: 1,
      user_id: job.user_id,
      scoped_user_id: null,
      time_in_queue_seconds: timeInQueue,
      project_jobs_running_on_instance_runners_count: a.instanceRunnersCount,
      queue_size: a.queueSize,
      queue_depth: 1,
    },
    git_info: {
      repo_url: repositoryUrl,
      ref: pipeline.ref,
      sha: pipeline.sha,
      before_sha: pipeline.before_sha,
      ref_type: pipeline.tag ? 'tag' : 'branch',
      refspecs: [`+refs/pipelines/${pipeline.id}:refs/pipelines/${pipeline.id}`, `+refs/heads/${pipeline.ref}:refs/remotes/origin/${pipeline.ref}`],
      depth: GIT_DEPTH,
      repo_object_format: 'sha1',
      protected: job.protected,
    },
    runner_info: { timeout: a.timeout, runner_session_url: null },
    variables: runnerVariables(a, baseUrl, repositoryUrl),
    steps: steps(a),
    hooks: [],
    image: presentImage(a.options.image ?? null),
    services: (a.options.services ?? []).map(presentService),
    artifacts: null,
    cache: [],
    credentials: [],
    features: { trace_sections: true, failure_reasons: FAILURE_REASONS },
    dependencies: [],
  };
}
