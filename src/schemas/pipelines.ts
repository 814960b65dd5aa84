import { z } from 'zod';
import { declareParams } from '../lib/route-contract/index.js';
import { glEnum, glInteger, glNamespacedId, glString, paginationParams } from './common.js';

// Params of the pipeline endpoints (lib/api/ci/pipelines.rb, plus the
// `content` extension) and of protected branches (lib/api/protected_branches.rb).

const absentIfNull = (v: unknown) => (v === null ? undefined : v);
const opt = <S extends z.ZodType>(schema: S) => z.preprocess(absentIfNull, schema.optional());

/** Longest .gitlab-ci.yml accepted (GitLab's default max_yaml_size_bytes is 2 MiB; the body limit applies first). */
const MAX_CONTENT = 2 * 1024 * 1024;

const pipelineVariable = z.object({
  key: glString({ max: 255 }),
  value: z.preprocess((v) => (v === null || v === undefined ? '' : v), glString()),
  variable_type: opt(glEnum(['env_var', 'file'])),
});

/** POST /projects/:id/pipeline. `content` (the .gitlab-ci.yml text) is this server's extension. */
export const projectIdPath = { id: glNamespacedId() };

const createPipelineShape = {
  ref: glString({ max: 255 }),
  content: glString({ max: MAX_CONTENT }),
  variables: opt(
    z.preprocess(
      // A form body gives `variables[0][key]=…` as an object keyed by index.
      (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.values(v) : v),
      z.array(pipelineVariable, { error: 'is invalid' }),
    ),
  ),
};
export const createPipelineParams = declareParams(createPipelineShape);
export type CreatePipelineBody = z.output<z.ZodObject<typeof createPipelineShape>>;

export const pipelinePath = { id: glNamespacedId(), pipeline_id: glInteger() };

const listPipelinesShape = {
  scope: opt(glEnum(['running', 'pending', 'finished', 'branches', 'tags'])),
  status: opt(glEnum(['created', 'waiting_for_resource', 'preparing', 'waiting_for_callback', 'pending', 'running', 'success', 'failed', 'canceling', 'canceled', 'skipped', 'manual', 'scheduled'])),
  ref: opt(glString()),
  sha: opt(glString()),
  username: opt(glString()),
  order_by: z.preprocess(absentIfNull, glEnum(['id', 'status', 'ref', 'updated_at', 'user_id']).default('id')),
  sort: z.preprocess(absentIfNull, glEnum(['asc', 'desc']).default('desc')),
  ...paginationParams,
};
export const listPipelinesParams = declareParams(listPipelinesShape);
export type ListPipelinesQuery = z.output<z.ZodObject<typeof listPipelinesShape>>;

export const protectedBranchesParams = declareParams({ search: opt(glString()), ...paginationParams });

/**
 * POST /projects/:id/protected_branches. Only `name` matters here: access
 * levels are not modelled (Maintainers push and merge), the rest is accepted
 * and ignored.
 */
export const createProtectedBranchParams = declareParams({ name: glString({ max: 255 }) });

export const protectedBranchPath = { id: glNamespacedId(), name: glString({ max: 255 }) };
