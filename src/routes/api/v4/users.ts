import type { FastifyInstance } from 'fastify';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor, type Scope } from '../../../plugins/auth.js';
import { presentPersonalAccessTokenWithToken } from '../../../presenters/personal-access-token.js';
import { presentUser, presentUserBasic, presentUserDetailsWithAdmin, presentUserWithAdmin } from '../../../presenters/user.js';
import * as res from '../../../schemas/responses.js';
import { createPersonalAccessTokenParams, createUserParams, listUsersParams, patUserPath, userIdPath } from '../../../schemas/users.js';
import {
  createPersonalAccessToken,
  createUser,
  findUserFor,
  highestRole,
  personalNamespaceId,
  requireAdmin,
  userListSource,
} from '../../../services/users/user-service.js';

// /users (lib/api/users.rb): GETs are open to anonymous callers as GitLab's
// (`authenticate_non_get!`) and accept `read_user` tokens; `:id` only matches
// digits, like Grape's route requirement, so /users/abc is a plain 404.

const readUser: Scope[] = ['read_user'];
const tags = ['users'];

export default async function usersRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  defineRoute(
    app,
    { method: 'GET', path: '/users', summary: 'List users', tags, auth: 'user-optional', scopes: readUser, params: listUsersParams, paginated: true, responses: { 200: { description: 'Users', schema: res.userBasic.array() } } },
    async (query, request, reply) => {
      const viewer = request.actor?.user ?? null;
      const users = await paginate(request, reply, query, query, userListSource(ctx, viewer, query), { externalUrl });
      const base = baseUrl(request, externalUrl);
      if (!viewer?.admin) return users.map((u) => presentUserBasic(u, base));
      const namespaces = await ctx.prisma.namespace.findMany({ where: { owner_id: { in: users.map((u) => u.id) } }, select: { id: true, owner_id: true } });
      const nsByOwner = new Map(namespaces.map((n) => [n.owner_id, n.id]));
      return users.map((u) => presentUserWithAdmin(u, base, nsByOwner.get(u.id) ?? null));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/users/:id(^\\d+$)', summary: 'A user', tags, auth: 'user-optional', scopes: readUser, pathParams: userIdPath, responses: { 200: { description: 'The user', schema: res.userBasic } } },
    async ({ id }, request) => {
      const viewer = request.actor?.user ?? null;
      const user = await findUserFor(ctx, viewer, id);
      const base = baseUrl(request, externalUrl);
      if (!viewer?.admin) return presentUser(user, base);
      const [namespaceId, role] = await Promise.all([personalNamespaceId(ctx, user.id), highestRole(ctx, user.id)]);
      return presentUserDetailsWithAdmin(user, base, namespaceId, role);
    },
  );

  defineRoute(
    app,
    { method: 'POST', path: '/users', summary: 'Create a user (admins)', tags, auth: 'user', params: createUserParams, secretParams: ['password'], responses: { 201: { description: 'The user', schema: res.user } } },
    async (input, request, reply) => {
      const actor = requireActor(request).user;
      const { user, namespaceId } = await createUser(ctx, actor, input);
      reply.code(201);
      return presentUserWithAdmin(user, baseUrl(request, externalUrl), namespaceId);
    },
  );

  defineRoute(
    app,
    {
      method: 'POST', path: '/users/:user_id(^\\d+$)/personal_access_tokens', summary: 'Create a personal access token for a user (admins)', tags, auth: 'user',
      pathParams: patUserPath, params: createPersonalAccessTokenParams,
      // GitLab checks admin in a `before` block, ahead of parameter validation.
      before: async (request) => requireAdmin(requireActor(request).user),
      responses: { 201: { description: 'The token', schema: res.personalAccessToken } },
    },
    async (input, request, reply) => {
      const actor = requireActor(request).user;
      const { user_id: userId, ...fields } = input;
      const { pat, token } = await createPersonalAccessToken(ctx, actor, userId, fields);
      reply.code(201);
      return presentPersonalAccessTokenWithToken(pat, token);
    },
  );
}
