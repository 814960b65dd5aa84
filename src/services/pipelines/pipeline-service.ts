import crypto from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { Pipeline, User } from '../../generated/prisma/client.js';
import { apiError, validationError } from '../../lib/errors.js';
import { CiConfigError, parseCiConfig, type CiConfig } from '../ci-config/ci-config-service.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import { runnerQueues } from '../jobs/runner-queue.js';
import { processPipeline } from './pipeline-processing.js';
import { isProtectedRef } from './protected-branches-service.js';
import { withTransaction } from './transaction.js';

// POST /projects/:id/pipeline with the pipeline's .gitlab-ci.yml in `content`
// (an extension: this server hosts no repositories to read it from), and the
// reads of pipelines.

/** Gitlab::Git::SHA1_BLANK_SHA: the before_sha of a pipeline not created by a push. */
export const BLANK_SHA = '0'.repeat(40);

export interface PipelineVariableInput {
  key: string;
  value: string;
  variable_type?: 'env_var' | 'file';
}

export interface CreatePipelineInput {
  ref: string;
  content: string;
  variables?: PipelineVariableInput[];
}

export type { JobOptions, PipelineConfig } from '../../domain/ci-job.js';
import type { JobOptions, PipelineConfig } from '../../domain/ci-job.js';

function readConfig(content: string): CiConfig {
  try {
    return parseCiConfig(content);
  } catch (err) {
    if (err instanceof CiConfigError) throw validationError({ base: [err.message] });
    throw err;
  }
}

/**
 * No repository exists to resolve `ref` to a commit, so the pipeline's sha is
 * derived from what defines it: the same ref and configuration give the same sha.
 */
const pipelineSha = (projectId: number, ref: string, content: string) =>
  crypto.createHash('sha1').update(`${projectId}\n${ref}\n${content}`).digest('hex');

export async function createPipeline(ctx: AppContext, project: ProjectWithNamespace, user: User, input: CreatePipelineInput): Promise<number> {
  // No repository exists, so any branch name is a valid ref; an empty one is not.
  if (input.ref.trim() === '') throw validationError({ base: ['Reference not found'] });
  const config = readConfig(input.content);
  const isProtected = await isProtectedRef(ctx, project.id, input.ref);
  const pipelineConfig: PipelineConfig = {
    stages: config.stages,
    variables: config.variables,
    pipeline_variables: (input.variables ?? []).map((v) => ({ key: v.key, value: v.value, ...(v.variable_type === 'file' ? { file: true } : {}) })),
  };

  const { pipelineId, queued } = await withTransaction(ctx, async (sql) => {
    // Serialises iid allocation per project without blocking anything else.
    await sql.query('SELECT id FROM projects WHERE id = $1 FOR NO KEY UPDATE', [project.id]);
    const { rows } = await sql.query<{ id: number }>(
      `INSERT INTO pipelines (iid, project_id, ref, sha, before_sha, tag, protected, status, source, user_id, config)
       VALUES ((SELECT COALESCE(max(iid), 0) + 1 FROM pipelines WHERE project_id = $1), $1, $2, $3, $4, false, $5, 'created', 'api', $6, $7)
       RETURNING id`,
      [project.id, input.ref, pipelineSha(project.id, input.ref, input.content), BLANK_SHA, isProtected, user.id, JSON.stringify(pipelineConfig)],
    );
    const id = rows[0]!.id;
    for (const job of config.jobs) {
      const options: JobOptions = {
        script: job.script,
        before_script: job.beforeScript,
        after_script: job.afterScript,
        image: job.image,
        services: job.services,
        variables: job.variables,
        timeout: job.timeout,
      };
      await sql.query(
        `INSERT INTO jobs (project_id, pipeline_id, name, stage, stage_idx, status, ref, tag, protected, tag_list, allow_failure, options, timeout, user_id)
         VALUES ($1, $2, $3, $4, $5, 'created', $6, false, $7, $8, $9, $10, $11, $12)`,
        [project.id, id, job.name, job.stage, job.stageIdx, input.ref, isProtected, job.tags, job.allowFailure, JSON.stringify(options), job.timeout, user.id],
      );
    }
    const processed = await processPipeline(sql, id);
    return { pipelineId: id, queued: processed.queued };
  });
  if (queued > 0) runnerQueues(ctx).tickAll();
  return pipelineId;
}

export interface PipelineWithUser extends Pipeline {
  user: User | null;
}

/** `user_project.all_pipelines.find(id)`: 404 {"message":"404 Not found"} when not in the project. */
export async function findPipeline(ctx: AppContext, projectId: number, pipelineId: number): Promise<PipelineWithUser> {
  const pipeline = await ctx.prisma.pipeline.findFirst({ where: { id: pipelineId, project_id: projectId } });
  if (!pipeline) throw apiError(404, '404 Not found');
  const user = pipeline.user_id ? await ctx.prisma.user.findUnique({ where: { id: pipeline.user_id } }) : null;
  return { ...pipeline, user };
}

export interface PipelineFilters {
  scope?: 'running' | 'pending' | 'finished' | 'branches' | 'tags';
  status?: string;
  ref?: string;
  sha?: string;
  username?: string;
  order_by: 'id' | 'status' | 'ref' | 'updated_at' | 'user_id';
  sort: 'asc' | 'desc';
}

function pipelineWhere(projectId: number, f: PipelineFilters) {
  const scopeStatus =
    f.scope === 'running' ? ['running'] : f.scope === 'pending' ? ['pending'] : f.scope === 'finished' ? ['success', 'failed', 'canceled', 'skipped'] : undefined;
  return {
    project_id: projectId,
    ...(f.ref !== undefined ? { ref: f.ref } : {}),
    ...(f.sha !== undefined ? { sha: f.sha } : {}),
    ...(f.scope === 'tags' ? { tag: true } : f.scope === 'branches' ? { tag: false } : {}),
    ...(f.status !== undefined || scopeStatus
      ? { status: { in: [...(f.status !== undefined ? [f.status] : scopeStatus!)].filter((s) => !scopeStatus || scopeStatus.includes(s)) } }
      : {}),
  };
}

async function userIdFor(ctx: AppContext, username: string | undefined): Promise<number | undefined | null> {
  if (username === undefined) return undefined;
  const user = await ctx.prisma.user.findUnique({ where: { username } });
  return user ? user.id : null;
}

export async function countPipelines(ctx: AppContext, projectId: number, f: PipelineFilters, limit: number): Promise<number> {
  const userId = await userIdFor(ctx, f.username);
  if (userId === null) return 0;
  const rows = await ctx.prisma.pipeline.findMany({
    where: { ...pipelineWhere(projectId, f), ...(userId !== undefined ? { user_id: userId } : {}) },
    select: { id: true },
    take: limit,
  });
  return rows.length;
}

export async function listPipelines(ctx: AppContext, projectId: number, f: PipelineFilters, offset: number, limit: number): Promise<Pipeline[]> {
  const userId = await userIdFor(ctx, f.username);
  if (userId === null) return [];
  return ctx.prisma.pipeline.findMany({
    where: { ...pipelineWhere(projectId, f), ...(userId !== undefined ? { user_id: userId } : {}) },
    orderBy: f.order_by === 'id' ? [{ id: f.sort }] : [{ [f.order_by]: f.sort }, { id: f.sort }],
    skip: offset,
    take: limit,
  });
}

/** A job allowed to fail did fail: the pipeline "passed with warnings". */
export async function pipelineHasWarnings(ctx: AppContext, pipelineId: number): Promise<boolean> {
  const n = await ctx.prisma.job.count({ where: { pipeline_id: pipelineId, status: 'failed', allow_failure: true } });
  return n > 0;
}
