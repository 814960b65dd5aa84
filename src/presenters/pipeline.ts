import type { Pipeline, Project, User } from '../generated/prisma/client.js';
import { presentPipelineBasic } from './job.js';
import { iso, presentUserBasic } from './runner.js';

// Entities::Ci::Pipeline (POST /projects/:id/pipeline, GET .../pipelines/:id):
// PipelineBasic, then before_sha, tag, yaml_errors, user, the timestamps,
// durations, coverage and detailed_status.

const STATUS_TEXT: Record<string, [text: string, label: string, icon: string]> = {
  created: ['Created', 'created', 'status_created'],
  pending: ['Pending', 'pending', 'status_pending'],
  running: ['Running', 'running', 'status_running'],
  success: ['Passed', 'passed', 'status_success'],
  failed: ['Failed', 'failed', 'status_failed'],
  canceled: ['Canceled', 'canceled', 'status_canceled'],
  skipped: ['Skipped', 'skipped', 'status_skipped'],
};

/** DetailedStatusEntity; `warnings`: a job allowed to fail did fail. */
export function presentDetailedStatus(status: string, warnings: boolean, detailsPath: string) {
  const [text, label, icon] = STATUS_TEXT[status] ?? STATUS_TEXT.created!;
  const withWarnings = warnings && status === 'success';
  const group = withWarnings ? 'success-with-warnings' : status;
  return {
    icon: withWarnings ? 'status_warning' : icon,
    text: withWarnings ? 'Warning' : text,
    label: withWarnings ? 'passed with warnings' : label,
    group,
    tooltip: withWarnings ? 'passed with warnings' : label,
    has_details: true,
    details_path: detailsPath,
    illustration: null,
    favicon: `/assets/ci_favicons/favicon_${withWarnings ? 'status_warning' : icon}.png`,
  };
}

const secondsBetween = (from: Date | null, to: Date | null) => (from && to ? Math.round((to.getTime() - from.getTime()) / 1000) : null);

/** Entities::Ci::PipelineBasic (list items); it needs only the project's path. */
export function presentPipelineListItem(pipeline: Pipeline, project: Project, baseUrl: string) {
  return presentPipelineBasic(pipeline, project, baseUrl);
}

export interface PipelineRelations {
  user: User | null;
  project: Project;
  /** Some failed job had allow_failure: the status reads "passed with warnings". */
  warnings: boolean;
}

export function presentPipeline(pipeline: Pipeline, rel: PipelineRelations, baseUrl: string) {
  const project = rel.project;
  return {
    ...presentPipelineListItem(pipeline, project, baseUrl),
    before_sha: pipeline.before_sha,
    tag: pipeline.tag,
    yaml_errors: null,
    user: rel.user ? presentUserBasic(rel.user, baseUrl) : null,
    started_at: iso(pipeline.started_at),
    finished_at: iso(pipeline.finished_at),
    committed_at: null,
    duration: secondsBetween(pipeline.started_at, pipeline.finished_at),
    queued_duration: secondsBetween(pipeline.created_at, pipeline.started_at),
    coverage: null,
    detailed_status: presentDetailedStatus(pipeline.status, rel.warnings, `/${project.path_with_namespace}/-/pipelines/${pipeline.id}`),
  };
}
