import { z } from 'zod';
import { ALL_SCOPES, type Scope } from '../domain/scopes.js';
import { atLeastOneOf, glBoolean, glDate, glEnum, glInteger, glString, glStringArray, paginationParams, parseInput, validateInOrder } from './common.js';

// Parameters of lib/api/users.rb (GET/POST /users, GET /users/:id,
// POST /users/:user_id/personal_access_tokens), declared in GitLab's order.

export const listUsersQuery = z.object({
  username: glString().optional(),
  search: glString().optional(),
  active: glBoolean().optional(),
  blocked: glBoolean().optional(),
  order_by: glEnum(['id', 'name', 'username', 'created_at', 'updated_at']).optional(),
  sort: glEnum(['asc', 'desc']).optional(),
  ...paginationParams,
});
export type ListUsersQuery = z.output<typeof listUsersQuery>;

/** The route only matches digits (as Grape's `requirements` on :id); ids beyond int4 cannot exist. */
export const userIdParams = z.object({ id: glInteger({ min: 0 }).catch(0) });
export const patUserParams = z.object({ user_id: glInteger({ min: 0 }).catch(0) });

const createUserHead = z.object({ email: glString() });
const createUserPasswordChoice = z.object({
  password: glString().optional(),
  reset_password: glBoolean().optional(),
  skip_confirmation: glBoolean().optional(),
});
const createUserTail = z.object({
  name: glString(),
  username: glString(),
  force_random_password: glBoolean().optional(),
  admin: glBoolean().optional(),
});

export type CreateUserInput = z.output<typeof createUserHead> & z.output<typeof createUserPasswordChoice> & z.output<typeof createUserTail>;

/** POST /users: `requires :email`, the password choice (`at_least_one_of`), `requires :name, :username`. */
export function parseCreateUser(body: unknown): CreateUserInput {
  const input = (body ?? {}) as Record<string, unknown>;
  let head!: z.output<typeof createUserHead>;
  let choice!: z.output<typeof createUserPasswordChoice>;
  let tail!: z.output<typeof createUserTail>;
  validateInOrder(
    () => (head = parseInput(createUserHead, input)),
    () => (choice = parseInput(createUserPasswordChoice, input)),
    () => atLeastOneOf(input, ['password', 'reset_password', 'force_random_password']),
    () => (tail = parseInput(createUserTail, input)),
  );
  return { ...head, ...choice, ...tail };
}

export const PAT_SCOPES: readonly Scope[] = ALL_SCOPES;

export const createPersonalAccessTokenBody = z.object({
  name: glString(),
  scopes: glStringArray().refine((scopes) => scopes.every((s) => (PAT_SCOPES as string[]).includes(s)), {
    message: 'does not have a valid value',
  }),
  expires_at: glDate().optional(),
});
export type CreatePersonalAccessTokenInput = z.output<typeof createPersonalAccessTokenBody>;
