import { z } from 'zod';
import { glBoolean, glEnum, glInteger, glNamespacedId, glString, glStringArray, paginationParams, parseInput, validateInOrder } from './common.js';

// Parameters of the user-authenticated Runners API (docs.gitlab.com/api/runners),
// declared in Grape's order so that combined error messages come out in the
// same order as GitLab's.

export const RUNNER_TYPES = ['instance_type', 'group_type', 'project_type'] as const;
/** Ci::Runner::AVAILABLE_STATUSES_INCL_DEPRECATED. */
export const RUNNER_STATUSES = ['active', 'paused', 'online', 'offline', 'never_contacted', 'stale'] as const;
/** Ci::Runner::AVAILABLE_SCOPES: what Grape accepts for the deprecated `scope`. */
export const RUNNER_SCOPES = ['specific', 'shared', ...RUNNER_TYPES, ...RUNNER_STATUSES] as const;
export const ACCESS_LEVELS = ['not_protected', 'ref_protected'] as const;
/** Ci::Build::AVAILABLE_STATUSES. */
export const JOB_STATUSES = [
  'created', 'waiting_for_resource', 'preparing', 'waiting_for_callback', 'pending', 'running', 'success',
  'failed', 'canceling', 'canceled', 'skipped', 'manual', 'scheduled',
] as const;

export type RunnerScope = (typeof RUNNER_SCOPES)[number];
export type RunnerStatusFilter = (typeof RUNNER_STATUSES)[number];
export type RunnerTypeFilter = (typeof RUNNER_TYPES)[number];

/** Grape `regexp: /^[\d+.]+/`: Ruby's `^` also matches after a newline, hence the `m` flag. */
const versionPrefix = () => glString().refine((s) => /^[\d+.]+/m.test(s), { error: 'is invalid' });

/** The `tag_list` filter: empty names can never match a stored tag, so they are dropped. */
const tagFilter = () => glStringArray().transform((tags) => tags.filter((t) => t !== ''));

const filterShape = {
  type: glEnum(RUNNER_TYPES).optional(),
  paused: glBoolean().optional(),
  status: glEnum(RUNNER_STATUSES).optional(),
  tag_list: tagFilter().optional(),
  version_prefix: versionPrefix().optional(),
  ...paginationParams,
};

/** GET /runners, /runners/all, /projects/:id/runners: `deprecated_filter_params` + `filter_params`. */
export const runnerListQuery = z.object({ scope: glEnum(RUNNER_SCOPES).optional(), ...filterShape });
/** GET /groups/:id/runners: `filter_params` only; `scope` is not declared there and is ignored. */
export const groupRunnerListQuery = z.object(filterShape);
export type RunnerListQuery = z.output<typeof runnerListQuery>;
export type RunnerFilters = Omit<RunnerListQuery, 'page' | 'per_page'>;

/** Query, body and route parameters of one request, merged as Grape's `params` (the path wins). */
export function requestParams(request: { params: unknown; query: unknown; body?: unknown }): Record<string, unknown> {
  const asObject = (v: unknown) => (v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  return { ...asObject(request.query), ...asObject(request.body), ...asObject(request.params) };
}

export const runnerIdParams = z.object({ id: glInteger() });
export const runnerShowParams = z.object({ id: glInteger(), include_projects: glBoolean().optional().default(true) });
export const runnerProjectsParams = z.object({ id: glInteger(), ...paginationParams });

/** Grape lets `nil` through an optional param; these become "not given" or an explicit null per field. */
const nullAsAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());
const nullable = <T extends z.ZodType>(schema: T) => z.union([z.null(), schema]).optional();

export const RUNNER_UPDATE_KEYS = [
  'description', 'active', 'paused', 'tag_list', 'run_untagged', 'locked', 'access_level', 'maximum_timeout', 'maintenance_note',
] as const;

export const runnerUpdateParams = z.object({
  id: glInteger(),
  description: nullable(glString()),
  active: nullAsAbsent(glBoolean()),
  paused: nullAsAbsent(glBoolean()),
  tag_list: glStringArray().optional(),
  run_untagged: nullAsAbsent(glBoolean()),
  locked: nullAsAbsent(glBoolean()),
  access_level: nullAsAbsent(glEnum(ACCESS_LEVELS)),
  maximum_timeout: nullable(glInteger()),
  maintenance_note: nullable(glString()),
});
export type RunnerUpdateInput = z.output<typeof runnerUpdateParams>;

export const runnerJobsParams = z.object({
  id: glInteger(),
  system_id: glString().optional(),
  status: glEnum(JOB_STATUSES).optional(),
  order_by: glEnum(['id'] as const).optional(),
  sort: glEnum(['asc', 'desc'] as const).optional().default('desc'),
  cursor: glString().optional(),
  pagination: glEnum(['offset', 'keyset'] as const).optional(),
  ...paginationParams,
});
export type RunnerJobsQuery = z.output<typeof runnerJobsParams>;

export const namespacedIdParams = z.object({ id: glNamespacedId() });
/** `runner_id` of POST /projects/:id/runners (body) and DELETE /projects/:id/runners/:runner_id (path). */
export const runnerIdOfProjectParams = z.object({ runner_id: glInteger() });

/** POST /user/runners, minus `runner_type` and the ids that depend on it. */
const userRunnerOptions = z.object({
  description: glString().nullish(),
  maintenance_note: glString().nullish(),
  paused: nullAsAbsent(glBoolean()),
  locked: nullAsAbsent(glBoolean()),
  access_level: nullAsAbsent(glEnum(ACCESS_LEVELS)),
  run_untagged: nullAsAbsent(glBoolean()),
  tag_list: glStringArray().optional(),
  maximum_timeout: glInteger().nullish(),
});

export type UserRunnerInput = z.output<typeof userRunnerOptions> &
  ({ runner_type: 'instance_type' } | { runner_type: 'group_type'; group_id: number } | { runner_type: 'project_type'; project_id: number });

/**
 * POST /user/runners parameters as Grape declares them: `requires
 * :runner_type, values:` (a missing one fails both validators), then
 * `given runner_type: 'group_type' { requires :group_id }` (and the same
 * for projects), then the options. All messages are reported together.
 */
export function parseUserRunnerInput(data: Record<string, unknown>): UserRunnerInput {
  const typeSchema = z.object({ runner_type: glEnum(RUNNER_TYPES) });
  let runnerType: RunnerTypeFilter | undefined;
  let ids: Record<string, number> = {};
  let options: z.output<typeof userRunnerOptions> | undefined;
  validateInOrder(
    () => {
      runnerType = parseInput(typeSchema, data).runner_type;
    },
    () => {
      const idKey = runnerType === 'group_type' ? 'group_id' : runnerType === 'project_type' ? 'project_id' : undefined;
      if (idKey) ids = parseInput(z.object({ [idKey]: glInteger() }), data) as Record<string, number>;
    },
    () => {
      options = parseInput(userRunnerOptions, data);
    },
  );
  return { ...options!, runner_type: runnerType!, ...ids } as UserRunnerInput;
}
