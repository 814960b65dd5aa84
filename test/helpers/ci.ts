import type { TestApp } from './app.js';

// Pipeline fixtures for the CI tests: pipelines are created through the API
// (POST /projects/:id/pipeline with the .gitlab-ci.yml text), so every test
// exercises the same path a user does.

export interface PipelineOptions {
  ref?: string;
  /** PRIVATE-TOKEN; root's by default. */
  token?: string;
  variables?: { key: string; value: string; variable_type?: string }[];
}

export async function createPipeline(t: TestApp, project: { id: number }, content: string, opts: PipelineOptions = {}): Promise<{ id: number; [key: string]: unknown }> {
  const res = await t.api({
    method: 'POST',
    url: `/api/v4/projects/${project.id}/pipeline`,
    payload: { ref: opts.ref ?? 'main', content, ...(opts.variables ? { variables: opts.variables } : {}) },
    token: opts.token,
  });
  if (res.statusCode !== 201) throw new Error(`pipeline creation failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A one-job .gitlab-ci.yml; `extra` is appended to the job (indented two spaces per line). */
export function singleJob(name = 'job', extra: Record<string, unknown> = {}): string {
  const lines = Object.entries(extra).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return [`${name}:`, '  script: echo hello', ...lines, ''].join('\n');
}

export function jobsOf(t: TestApp, pipelineId: number) {
  return t.ctx.prisma.job.findMany({ where: { pipeline_id: pipelineId }, orderBy: { id: 'asc' } });
}
