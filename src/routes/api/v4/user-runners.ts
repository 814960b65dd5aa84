import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import * as res from '../../../schemas/responses.js';
import { userRunnerParams, type UserRunnerInput } from '../../../schemas/runners.js';
import { createUserRunner } from '../../../services/runners/runner-creation-service.js';

// POST /user/runners (docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user): create a runner as a signed-in
// user. `create_runner` tokens work here and nowhere else.

export default async function userRunnerRoutes(app: FastifyInstance) {
  const { ctx } = app;

  defineRoute(
    app,
    {
      method: 'POST', path: '/user/runners', summary: 'Create a runner', tags: ['runners'], auth: 'user', scopes: ['create_runner'],
      params: userRunnerParams,
      responses: { 201: { description: 'The runner and its authentication token', schema: res.registeredRunner } },
    },
    async (input, request, reply) => {
      const actor = requireActor(request).user;
      // `given` guarantees group_id / project_id for their runner types.
      const { runner, token } = await createUserRunner(ctx, actor, input as UserRunnerInput);
      return reply.code(201).send({
        id: runner.id,
        token,
        token_expires_at: runner.token_expires_at ? runner.token_expires_at.toISOString() : null,
      });
    },
  );
}
