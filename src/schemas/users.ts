import { z } from 'zod';
import { ALL_SCOPES, type Scope } from '../domain/scopes.js';
import { atLeastOneOf, declareParams } from '../lib/route-contract/index.js';
import { glBoolean, glDate, glEnum, glInteger, glString, glStringArray, paginationParams } from './common.js';

// Parameters of lib/api/users.rb (GET/POST /users, GET /users/:id,
// POST /users/:user_id/personal_access_tokens), declared in GitLab's order.

const listUsersShape = {
  username: glString().optional(),
  search: glString().optional(),
  active: glBoolean().optional(),
  blocked: glBoolean().optional(),
  order_by: glEnum(['id', 'name', 'username', 'created_at', 'updated_at']).optional(),
  sort: glEnum(['asc', 'desc']).optional(),
  ...paginationParams,
};
export const listUsersParams = declareParams(listUsersShape);
export type ListUsersQuery = z.output<z.ZodObject<typeof listUsersShape>>;

/** The route only matches digits (as Grape's `requirements` on :id); ids beyond int4 cannot exist. */
export const userIdPath = { id: glInteger({ min: 0 }).catch(0) };
export const patUserPath = { user_id: glInteger({ min: 0 }).catch(0) };

/** POST /users: `requires :email`, the password choice (`at_least_one_of`), `requires :name, :username`. */
export const createUserParams = declareParams(
  { email: glString() },
  { password: glString().optional(), reset_password: glBoolean().optional(), skip_confirmation: glBoolean().optional() },
  atLeastOneOf('password', 'reset_password', 'force_random_password'),
  { name: glString(), username: glString(), force_random_password: glBoolean().optional(), admin: glBoolean().optional() },
);
export type CreateUserInput = {
  email: string;
  password?: string;
  reset_password?: boolean;
  skip_confirmation?: boolean;
  name: string;
  username: string;
  force_random_password?: boolean;
  admin?: boolean;
};

export const PAT_SCOPES: readonly Scope[] = ALL_SCOPES;

const createPatShape = {
  name: glString(),
  scopes: glStringArray().refine((scopes) => scopes.every((s) => (PAT_SCOPES as string[]).includes(s)), {
    message: 'does not have a valid value',
  }),
  expires_at: glDate().optional(),
};
export const createPersonalAccessTokenParams = declareParams(createPatShape);
export type CreatePersonalAccessTokenInput = z.output<z.ZodObject<typeof createPatShape>>;
