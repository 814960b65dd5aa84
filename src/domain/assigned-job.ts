import type { JobOptions, PipelineConfig } from './ci-job.js';

// A job just handed to a runner, with everything the runner's payload is built from
// (POST /jobs/request's 201 body, src/presenters/job-request-response.ts): the job
// service reads it in the hand-out statement itself, the route presents it.

export interface AssignedJob {
  job: {
    id: number;
    name: string;
    stage: string;
    protected: boolean;
    user_id: number | null;
    created_at: Date;
    queued_at: Date | null;
    started_at: Date | null;
  };
  /** The job token, in clear text exactly once: in this response. */
  token: string;
  /** Effective timeout in seconds: min(job or project timeout, runner maximum_timeout). */
  timeout: number;
  options: JobOptions;
  pipeline: { id: number; iid: number; ref: string; sha: string; before_sha: string; tag: boolean; source: string; created_at: Date };
  pipelineConfig: PipelineConfig;
  project: { id: number; name: string; path: string; path_with_namespace: string; description: string | null; visibility: string; default_branch: string };
  namespace: { id: number; full_path: string };
  rootNamespace: { id: number; path: string };
  user: { id: number; username: string; name: string; email: string } | null;
  runner: { id: number; runner_type: number; description: string | null; tag_list: string[] | null };
  /** The runner's matching pending jobs (this one included), up to a cap. */
  queueSize: number;
  /** GitLab's bucketed count of the project's jobs running on instance runners ("+Inf" for other runner types). */
  instanceRunnersCount: string;
}
