import { z } from 'zod';
import { VALID_ACCESS_LEVELS } from '../policies/access-levels.js';
import { atLeastOneOf, glDate, glInteger, glNamespacedId, glString, mutuallyExclusive, paginationParams, parseInput, validateInOrder } from './common.js';

// Parameters of lib/api/members.rb for /groups/:id/members and /projects/:id/members.

export const memberSourceParams = z.object({ id: glNamespacedId() });

export const listMembersQuery = z.object({
  query: glString().optional(),
  user_ids: z
    .preprocess((raw) => (raw === undefined ? undefined : Array.isArray(raw) ? raw : String(raw).split(',')), z.array(glInteger()))
    .optional(),
  ...paginationParams,
});
export type ListMembersQuery = z.output<typeof listMembersQuery>;

const addMemberFields = z.object({
  access_level: glInteger().refine((v) => (VALID_ACCESS_LEVELS as readonly number[]).includes(v), { message: 'does not have a valid value' }),
  user_id: glInteger({ min: 0 }).optional(),
  username: glString().optional(),
  expires_at: glDate().optional(),
});
export type AddMemberInput = z.output<typeof addMemberFields>;

/** POST .../members: typed params, `mutually_exclusive :user_id, :username`, `at_least_one_of :user_id, :username`. */
export function parseAddMember(body: unknown): AddMemberInput {
  const input = (body ?? {}) as Record<string, unknown>;
  let parsed!: AddMemberInput;
  validateInOrder(
    () => (parsed = parseInput(addMemberFields, input)),
    () => mutuallyExclusive(input, ['user_id', 'username']),
    () => atLeastOneOf(input, ['user_id', 'username']),
  );
  return parsed;
}
