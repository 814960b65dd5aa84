import type { FastifyInstance } from 'fastify';
import { baseUrl } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentUserPublic, presentUserWithAdmin } from '../../../presenters/user.js';
import * as res from '../../../schemas/responses.js';
import { personalNamespaceId } from '../../../services/users/user-service.js';

// GET /user: the signed-in user (UserWithAdmin for admins, UserPublic otherwise).
// `read_user` tokens are accepted, as on every GET of GitLab's users API.

export default async function currentUserRoutes(app: FastifyInstance) {
  const { ctx } = app;

  defineRoute(
    app,
    { method: 'GET', path: '/user', summary: 'The signed-in user', tags: ['users'], auth: 'user', scopes: ['read_user'], responses: { 200: { description: 'The user', schema: res.user } } },
    async (_input, request) => {
      const { user } = requireActor(request);
      const base = baseUrl(request, ctx.config.EXTERNAL_URL);
      if (!user.admin) return presentUserPublic(user, base);
      return presentUserWithAdmin(user, base, await personalNamespaceId(ctx, user.id));
    },
  );
}
