import type { Pipeline, Project } from '../generated/prisma/client.js';
import type { JobRelations, JobRow } from '../domain/job.js';
import { presentProjectIdentity } from './project.js';
import { iso, type PresentOptions } from './runner.js';
import { presentUser } from './user.js';

// Entities::Ci::JobBasicWithProject (GitLab's lib/api/entities/ci/job_basic_with_project.rb), for
// GET /runners/:id/jobs.

/** Entities::Ci::PipelineBasic. */
export function presentPipelineBasic(pipeline: Pipeline, project: Pick<Project, 'path_with_namespace'>, baseUrl: string) {
  return {
    id: pipeline.id,
    iid: pipeline.iid,
    project_id: pipeline.project_id,
    sha: pipeline.sha,
    ref: pipeline.ref,
    status: pipeline.status,
    source: pipeline.source,
    created_at: iso(pipeline.created_at),
    updated_at: iso(pipeline.updated_at),
    web_url: `${baseUrl}/${project.path_with_namespace}/-/pipelines/${pipeline.id}`,
  };
}

const seconds = (from: Date | null, to: Date | null, now: number) =>
  from ? ((to?.getTime() ?? now) - from.getTime()) / 1000 : null;

export function presentJobBasicWithProject(job: JobRow, rel: JobRelations, opts: PresentOptions) {
  return {
    id: job.id,
    status: job.status,
    stage: job.stage,
    name: job.name,
    ref: job.ref,
    tag: job.tag,
    coverage: job.coverage,
    allow_failure: job.allow_failure,
    created_at: iso(job.created_at),
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    erased_at: iso(job.erased_at),
    duration: seconds(job.started_at, job.finished_at, opts.now),
    queued_duration: seconds(job.queued_at, job.started_at, opts.now),
    user: rel.user ? presentUser(rel.user, opts.baseUrl) : null,
    // GitLab reads the commit from the repository; this server has none, which GitLab also renders as null.
    commit: null,
    pipeline: presentPipelineBasic(rel.pipeline, rel.project.project, opts.baseUrl),
    ...(job.status === 'failed' ? { failure_reason: job.failure_reason ?? 'unknown_failure' } : {}),
    web_url: `${opts.baseUrl}/${rel.project.project.path_with_namespace}/-/jobs/${job.id}`,
    project: presentProjectIdentity(rel.project.project, rel.project.names),
  };
}
