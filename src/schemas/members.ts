import { z } from 'zod';
import { VALID_ACCESS_LEVELS } from '../policies/access-levels.js';
import { atLeastOneOf, declareParams, mutuallyExclusive } from '../lib/route-contract/index.js';
import { glDate, glInteger, glIntegerArray, glNamespacedId, glString, paginationParams } from './common.js';

// Parameters of lib/api/members.rb for /groups/:id/members and /projects/:id/members.

export const memberSourcePath = { id: glNamespacedId() };

const listMembersShape = {
  query: glString().optional(),
  user_ids: glIntegerArray().optional(),
  ...paginationParams,
};
export const listMembersParams = declareParams(listMembersShape);
export type ListMembersQuery = z.output<z.ZodObject<typeof listMembersShape>>;

const addMemberFields = {
  access_level: glInteger().refine((v) => (VALID_ACCESS_LEVELS as readonly number[]).includes(v), { message: 'does not have a valid value' }),
  user_id: glInteger({ min: 0 }).optional(),
  username: glString().optional(),
  expires_at: glDate().optional(),
};
export type AddMemberInput = z.output<z.ZodObject<typeof addMemberFields>>;

/** POST .../members: typed params, `mutually_exclusive :user_id, :username`, `at_least_one_of :user_id, :username`. */
export const addMemberParams = declareParams(addMemberFields, mutuallyExclusive('user_id', 'username'), atLeastOneOf('user_id', 'username'));
