import { z } from 'zod';
import { atLeastOneOf, declareParams, given, mutuallyExclusive } from '../lib/route-contract/index.js';
import { glBoolean, glEnum, glInteger, glNamespacedId, glString, glStringArray, paginationParams } from './common.js';

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
  // Extension (docs/fleet-management.md): keyset pagination, in id order.
  pagination: glEnum(['offset', 'keyset'] as const).optional(),
  order_by: glEnum(['id'] as const).optional(),
  sort: glEnum(['asc', 'desc'] as const).optional(),
  cursor: glString().optional(),
  ...paginationParams,
};

const runnerListShape = { scope: glEnum(RUNNER_SCOPES).optional(), ...filterShape };
/** GET /runners, /runners/all, /projects/:id/runners: `deprecated_filter_params` + `filter_params`. */
export const runnerListParams = declareParams(runnerListShape);
/** GET /groups/:id/runners: `filter_params` only; `scope` is not declared there and is ignored. */
export const groupRunnerListParams = declareParams(filterShape);
export type RunnerListQuery = z.output<z.ZodObject<typeof runnerListShape>>;
export type RunnerFilters = Omit<RunnerListQuery, 'page' | 'per_page' | 'pagination' | 'order_by' | 'sort' | 'cursor'>;
/** What keyset mode reads from a list query. */
export type RunnerKeysetParams = Pick<RunnerListQuery, 'per_page' | 'sort' | 'cursor'>;

export const runnerIdPath = { id: glInteger() };
export const runnerShowParams = declareParams({ include_projects: glBoolean().optional().default(true) });
export const runnerProjectsParams = declareParams(paginationParams);

/** Grape lets `nil` through an optional param; these become "not given" or an explicit null per field. */
const nullAsAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());
const nullable = <T extends z.ZodType>(schema: T) => z.union([z.null(), schema]).optional();

export const RUNNER_UPDATE_KEYS = [
  'description', 'active', 'paused', 'tag_list', 'run_untagged', 'locked', 'access_level', 'maximum_timeout', 'maintenance_note',
] as const;

const runnerUpdateShape = {
  description: nullable(glString()),
  active: nullAsAbsent(glBoolean()),
  paused: nullAsAbsent(glBoolean()),
  tag_list: glStringArray().optional(),
  run_untagged: nullAsAbsent(glBoolean()),
  locked: nullAsAbsent(glBoolean()),
  access_level: nullAsAbsent(glEnum(ACCESS_LEVELS)),
  maximum_timeout: nullable(glInteger()),
  maintenance_note: nullable(glString()),
};
/** PUT /runners/:id: the attributes, `at_least_one_of` them, `mutually_exclusive :active, :paused`. */
export const runnerUpdateParams = declareParams(runnerUpdateShape, atLeastOneOf(...RUNNER_UPDATE_KEYS), mutuallyExclusive('active', 'paused'));
export type RunnerUpdateInput = z.output<z.ZodObject<typeof runnerUpdateShape>>;

const runnerJobsShape = {
  system_id: glString().optional(),
  status: glEnum(JOB_STATUSES).optional(),
  order_by: glEnum(['id'] as const).optional(),
  sort: glEnum(['asc', 'desc'] as const).optional().default('desc'),
  cursor: glString().optional(),
  pagination: glEnum(['offset', 'keyset'] as const).optional(),
  ...paginationParams,
};
export const runnerJobsParams = declareParams(runnerJobsShape);
export type RunnerJobsQuery = z.output<z.ZodObject<typeof runnerJobsShape>> & { id: number };

export const namespacedIdPath = { id: glNamespacedId() };
/** `runner_id` of POST /projects/:id/runners (body) and DELETE /projects/:id/runners/:runner_id (path). */
export const runnerIdOfProjectShape = { runner_id: glInteger() };

/**
 * POST /user/runners as Grape declares it: `requires :runner_type, values:`
 * (a missing one fails both validators), `given runner_type: 'group_type' {
 * requires :group_id }` (and the same for projects; a declared Integer is
 * type-checked even when its block is not active), then the options.
 */
export const userRunnerParams = declareParams(
  { runner_type: glEnum(RUNNER_TYPES) },
  given('runner_type', 'group_type', { group_id: glInteger() }),
  given('runner_type', 'project_type', { project_id: glInteger() }),
  {
    description: glString().nullish(),
    maintenance_note: glString().nullish(),
    paused: nullAsAbsent(glBoolean()),
    locked: nullAsAbsent(glBoolean()),
    access_level: nullAsAbsent(glEnum(ACCESS_LEVELS)),
    run_untagged: nullAsAbsent(glBoolean()),
    tag_list: glStringArray().optional(),
    maximum_timeout: glInteger().nullish(),
  },
);
export type UserRunnerInput = {
  description?: string | null;
  maintenance_note?: string | null;
  paused?: boolean;
  locked?: boolean;
  access_level?: (typeof ACCESS_LEVELS)[number];
  run_untagged?: boolean;
  tag_list?: string[];
  maximum_timeout?: number | null;
} & ({ runner_type: 'instance_type' } | { runner_type: 'group_type'; group_id: number } | { runner_type: 'project_type'; project_id: number });
