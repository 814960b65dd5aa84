import type { FastifyInstance } from 'fastify';
import { baseUrl } from '../../../lib/pagination.js';
import { requireActor, type Scope } from '../../../plugins/auth.js';
import { presentUserPublic, presentUserWithAdmin } from '../../../presenters/user.js';
import { personalNamespaceId } from '../../../services/users/user-service.js';

// GET /user: the signed-in user (UserWithAdmin for admins, UserPublic otherwise).
// `read_user` tokens are accepted, as on every GET of GitLab's users API.

const readUser = { scopes: ['read_user'] as Scope[] };

export default async function currentUserRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/user', { config: readUser }, async (request) => {
    const { user } = requireActor(request);
    const base = baseUrl(request, ctx.config.EXTERNAL_URL);
    if (!user.admin) return presentUserPublic(user, base);
    return presentUserWithAdmin(user, base, await personalNamespaceId(ctx, user.id));
  });
}
