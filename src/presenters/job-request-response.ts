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

const fromCi = (v: CiVariable, isPublic: boolean) => variable(v.key, v.value, { public: isPublic, file: v.file, raw: v.raw });

/** CI_COMMIT_REF_SLUG and friends: lowercase, non-alphanumerics as `-`, at most 63 characters, no `-` at either end. */
export const slugify = (s: string) =>
  s.toLowerCase().replace(/[^a-z0-9]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '');

/** Time#iso8601: seconds precision, `Z`. */
const iso8601 = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '');

export function repoUrl(baseUrl: string, token: string, project: { path_with_namespace: string }): string {
  const url = new URL(baseUrl);
  return `${url.protocol}//gitlab-ci-token:${token}@${url.host}${url.pathname.replace(/\/+$/, '')}/${project.path_with_namespace}.git`;
}

/**
 * The variables a job runs with, lowest precedence first: predefined CI_*
 * variables, GIT_STRATEGY=none (no repository exists to clone; YAML may
 * override it), the YAML's global then job variables, then the variables
 * given when the pipeline was created. A later key replaces an earlier one.
 */
function runnerVariables(a: AssignedJob, baseUrl: string): RunnerVariable[] {
  const { job, pipeline, project, namespace, rootNamespace, user, runner } = a;
  const server = new URL(baseUrl);
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');
  const [major, minor, patch] = GITLAB_VERSION.version.split('.');
  const projectUrl = `${baseUrl}/${project.path_with_namespace}`;
  const list: RunnerVariable[] = [
    variable('CI_PIPELINE_ID', pipeline.id),
    variable('CI_PIPELINE_URL', `${projectUrl}/-/pipelines/${pipeline.id}`),
    variable('CI_JOB_ID', job.id),
    variable('CI_JOB_URL', `${projectUrl}/-/jobs/${job.id}`),
    variable('CI_JOB_TOKEN', a.token, { public: false, masked: true }),
    variable('CI_JOB_STARTED_AT', iso8601(job.started_at)),
    variable('CI_JOB_NAME', job.name),
    variable('CI_JOB_NAME_SLUG', slugify(job.name)),
    variable('CI_JOB_STAGE', job.stage),
    variable('CI_JOB_TIMEOUT', a.timeout),
    variable('CI_NODE_TOTAL', 1),
    variable('CI_COMMIT_SHA', pipeline.sha),
    variable('CI_COMMIT_SHORT_SHA', pipeline.sha.slice(0, 8)),
    variable('CI_COMMIT_BEFORE_SHA', pipeline.before_sha),
    variable('CI_COMMIT_REF_NAME', pipeline.ref),
    variable('CI_COMMIT_REF_SLUG', slugify(pipeline.ref)),
    variable('CI_COMMIT_BRANCH', pipeline.ref),
    variable('CI_COMMIT_REF_PROTECTED', job.protected),
    variable('CI_DEFAULT_BRANCH', project.default_branch),
    variable('CI_RUNNER_ID', runner.id),
    variable('CI_RUNNER_DESCRIPTION', runner.description ?? ''),
    variable('CI_RUNNER_TAGS', JSON.stringify(runner.tag_list)),
    variable('CI', 'true'),
    variable('GITLAB_CI', 'true'),
    variable('CI_SERVER_FQDN', server.host),
    variable('CI_SERVER_URL', baseUrl),
    variable('CI_SERVER_HOST', server.hostname),
    variable('CI_SERVER_PORT', port),
    variable('CI_SERVER_PROTOCOL', server.protocol.replace(':', '')),
    variable('CI_SERVER_NAME', 'GitLab'),
    variable('CI_SERVER_VERSION', GITLAB_VERSION.version),
    variable('CI_SERVER_VERSION_MAJOR', major ?? '0'),
    variable('CI_SERVER_VERSION_MINOR', minor ?? '0'),
    variable('CI_SERVER_VERSION_PATCH', patch ?? '0'),
    variable('CI_SERVER_REVISION', GITLAB_VERSION.revision),
    variable('GITLAB_FEATURES', ''),
    variable('CI_API_V4_URL', `${baseUrl}/api/v4`),
    variable('CI_CONFIG_PATH', '.gitlab-ci.yml'),
    variable('CI_PROJECT_ID', project.id),
    variable('CI_PROJECT_NAME', project.path),
    variable('CI_PROJECT_TITLE', project.name),
    variable('CI_PROJECT_DESCRIPTION', project.description ?? ''),
    variable('CI_PROJECT_PATH', project.path_with_namespace),
    variable('CI_PROJECT_PATH_SLUG', slugify(project.path_with_namespace)),
    variable('CI_PROJECT_NAMESPACE', namespace.full_path),
    variable('CI_PROJECT_NAMESPACE_ID', namespace.id),
    variable('CI_PROJECT_ROOT_NAMESPACE', rootNamespace.path),
    variable('CI_PROJECT_URL', projectUrl),
    variable('CI_PROJECT_VISIBILITY', project.visibility),
    variable('CI_REPOSITORY_URL', repoUrl(baseUrl, a.token, project), { public: false }),
    variable('CI_PIPELINE_IID', pipeline.iid),
    variable('CI_PIPELINE_SOURCE', pipeline.source),
    variable('CI_PIPELINE_CREATED_AT', iso8601(pipeline.created_at)),
    ...(user
      ? [
          variable('GITLAB_USER_ID', user.id),
          variable('GITLAB_USER_EMAIL', user.email),
          variable('GITLAB_USER_LOGIN', user.username),
          variable('GITLAB_USER_NAME', user.name),
        ]
      : []),
    variable('GIT_STRATEGY', 'none'),
    ...(a.pipelineConfig.variables ?? []).map((v) => fromCi(v, true)),
    ...(a.options.variables ?? []).map((v) => fromCi(v, true)),
    ...(a.pipelineConfig.pipeline_variables ?? []).map((v) => fromCi(v, false)),
  ];
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
      repo_url: repoUrl(baseUrl, a.token, project),
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
    variables: runnerVariables(a, baseUrl),
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
