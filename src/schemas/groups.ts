import { z } from 'zod';
import { VALID_ACCESS_LEVELS } from '../policies/access-levels.js';
import { declareParams } from '../lib/route-contract/index.js';
import { glBoolean, glEnum, glInteger, glIntegerArray, glNamespacedId, glString, paginationParams } from './common.js';

// Parameters of lib/api/groups.rb for the subset this server offers.

export const VISIBILITIES = ['private', 'internal', 'public'] as const;
export const glVisibility = () => glEnum(VISIBILITIES);

/** Namespace::SHARED_RUNNERS_SETTINGS; `disabled_with_override` is the old name of `disabled_and_overridable`. */
export const SHARED_RUNNERS_SETTINGS = ['disabled_and_unoverridable', 'disabled_and_overridable', 'disabled_with_override', 'enabled'] as const;

export const groupIdPath = { id: glNamespacedId() };

const listGroupsShape = {
  statistics: glBoolean().optional(),
  skip_groups: glIntegerArray().optional(),
  all_available: glBoolean().optional(),
  search: glString().optional(),
  owned: glBoolean().optional(),
  order_by: glEnum(['name', 'path', 'id', 'similarity']).optional(),
  sort: glEnum(['asc', 'desc']).optional(),
  min_access_level: glInteger()
    .refine((v) => (VALID_ACCESS_LEVELS as readonly number[]).includes(v), { message: 'does not have a valid value' })
    .optional(),
  top_level_only: glBoolean().optional(),
  ...paginationParams,
};
export const listGroupsParams = declareParams(listGroupsShape);
export type ListGroupsQuery = z.output<z.ZodObject<typeof listGroupsShape>>;

const createGroupShape = {
  name: glString(),
  path: glString().optional(),
  parent_id: glInteger().optional(),
  description: glString().optional(),
  visibility: glVisibility().optional(),
};
export const createGroupParams = declareParams(createGroupShape);
export type CreateGroupInput = z.output<z.ZodObject<typeof createGroupShape>>;

const updateGroupShape = {
  name: glString().optional(),
  description: glString().optional(),
  visibility: glVisibility().optional(),
  shared_runners_setting: glEnum(SHARED_RUNNERS_SETTINGS).optional(),
  allow_runner_registration_token: glBoolean().optional(),
  runner_registration_enabled: glBoolean().optional(),
  /** GitLab's group setting, accepted here as an extension: opts the group's runners into scheduled pruning. */
  allow_stale_runner_pruning: glBoolean().optional(),
};
export const updateGroupParams = declareParams(updateGroupShape);
export type UpdateGroupInput = z.output<z.ZodObject<typeof updateGroupShape>>;

export const showGroupParams = declareParams({ with_projects: glBoolean().optional() });
