import { z } from 'zod';
import { VALID_ACCESS_LEVELS } from '../policies/access-levels.js';
import { glBoolean, glEnum, glInteger, glNamespacedId, glString, paginationParams } from './common.js';

// Parameters of lib/api/groups.rb for the subset this server offers.

export const VISIBILITIES = ['private', 'internal', 'public'] as const;
export const glVisibility = () => glEnum(VISIBILITIES);

/** Namespace::SHARED_RUNNERS_SETTINGS; `disabled_with_override` is the old name of `disabled_and_overridable`. */
export const SHARED_RUNNERS_SETTINGS = ['disabled_and_unoverridable', 'disabled_and_overridable', 'disabled_with_override', 'enabled'] as const;

export const groupIdParams = z.object({ id: glNamespacedId() });

export const listGroupsQuery = z.object({
  statistics: glBoolean().optional(),
  skip_groups: z
    .preprocess((raw) => (raw === undefined ? undefined : Array.isArray(raw) ? raw : String(raw).split(',')), z.array(glInteger()))
    .optional(),
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
});
export type ListGroupsQuery = z.output<typeof listGroupsQuery>;

export const createGroupBody = z.object({
  name: glString(),
  path: glString().optional(),
  parent_id: glInteger().optional(),
  description: glString().optional(),
  visibility: glVisibility().optional(),
});
export type CreateGroupInput = z.output<typeof createGroupBody>;

export const updateGroupBody = z.object({
  name: glString().optional(),
  description: glString().optional(),
  visibility: glVisibility().optional(),
  shared_runners_setting: glEnum(SHARED_RUNNERS_SETTINGS).optional(),
  allow_runner_registration_token: glBoolean().optional(),
  runner_registration_enabled: glBoolean().optional(),
  /** GitLab's group setting, accepted here as an extension: opts the group's runners into scheduled pruning. */
  allow_stale_runner_pruning: glBoolean().optional(),
});
export type UpdateGroupInput = z.output<typeof updateGroupBody>;

export const showGroupQuery = z.object({ with_projects: glBoolean().optional() });
