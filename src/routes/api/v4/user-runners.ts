import type { FastifyInstance } from 'fastify';
import { requireActor, type Scope } from '../../../plugins/auth.js';
import { parseUserRunnerInput, requestParams } from '../../../schemas/runners.js';
import { createUserRunner } from '../../../services/runners/runner-creation-service.js';

// POST /user/runners (docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user): create a runner as a signed-in
// user. `create_runner` tokens work here and nowhere else.

export default async function userRunnerRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post('/user/runners', { config: { scopes: ['create_runner'] as Scope[] } }, async (request, reply) => {
    const actor = requireActor(request).user;
    const input = parseUserRunnerInput(requestParams(request));
    const { runner, token } = await createUserRunner(ctx, actor, input);
    return reply.code(201).send({
      id: runner.id,
      token,
      token_expires_at: runner.token_expires_at ? runner.token_expires_at.toISOString() : null,
    });
  });
}
