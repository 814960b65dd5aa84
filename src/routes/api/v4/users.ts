import type { FastifyInstance } from 'fastify';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { requireActor, type Scope } from '../../../plugins/auth.js';
import { presentPersonalAccessTokenWithToken } from '../../../presenters/personal-access-token.js';
import { presentUser, presentUserBasic, presentUserDetailsWithAdmin, presentUserWithAdmin } from '../../../presenters/user.js';
import { parseInput } from '../../../schemas/common.js';
import { createPersonalAccessTokenBody, listUsersQuery, parseCreateUser, patUserParams, userIdParams } from '../../../schemas/users.js';
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

const readUserOptional = { auth: 'optional' as const, scopes: ['read_user'] as Scope[] };

export default async function usersRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  app.get('/users', { config: readUserOptional }, async (request, reply) => {
    const viewer = request.actor?.user ?? null;
    const query = parseInput(listUsersQuery, request.query);
    const users = await paginate(request, reply, query, query, userListSource(ctx, viewer, query), { externalUrl });
    const base = baseUrl(request, externalUrl);
    if (!viewer?.admin) return users.map((u) => presentUserBasic(u, base));
    const namespaces = await ctx.prisma.namespace.findMany({ where: { owner_id: { in: users.map((u) => u.id) } }, select: { id: true, owner_id: true } });
    const nsByOwner = new Map(namespaces.map((n) => [n.owner_id, n.id]));
    return users.map((u) => presentUserWithAdmin(u, base, nsByOwner.get(u.id) ?? null));
  });

  app.get('/users/:id(^\\d+$)', { config: readUserOptional }, async (request) => {
    const viewer = request.actor?.user ?? null;
    const { id } = parseInput(userIdParams, request.params);
    const user = await findUserFor(ctx, viewer, id);
    const base = baseUrl(request, externalUrl);
    if (!viewer?.admin) return presentUser(user, base);
    const [namespaceId, role] = await Promise.all([personalNamespaceId(ctx, user.id), highestRole(ctx, user.id)]);
    return presentUserDetailsWithAdmin(user, base, namespaceId, role);
  });

  app.post('/users', async (request, reply) => {
    const actor = requireActor(request).user;
    const input = parseCreateUser(request.body);
    const { user, namespaceId } = await createUser(ctx, actor, input);
    reply.code(201);
    return presentUserWithAdmin(user, baseUrl(request, externalUrl), namespaceId);
  });

  app.post('/users/:user_id(^\\d+$)/personal_access_tokens', async (request, reply) => {
    const actor = requireActor(request).user;
    // GitLab checks admin in a `before` block, ahead of parameter validation.
    requireAdmin(actor);
    const { user_id: userId } = parseInput(patUserParams, request.params);
    const input = parseInput(createPersonalAccessTokenBody, request.body);
    const { pat, token } = await createPersonalAccessToken(ctx, actor, userId, input);
    reply.code(201);
    return presentPersonalAccessTokenWithToken(pat, token);
  });
}
