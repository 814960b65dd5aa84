import type { FastifyInstance } from 'fastify';
import { requireActor } from '../../../plugins/auth.js';
import { parseInput } from '../../../schemas/common.js';
import { namespacedIdParams } from '../../../schemas/runners.js';
import {
  resetGroupRegistrationToken,
  resetInstanceRegistrationToken,
  resetProjectRegistrationToken,
} from '../../../services/runners/registration-token-service.js';

// Registration-token resets (docs.gitlab.com/api/runners). Each answers 201
// {"token": …} and nothing else: registration tokens do not expire.

export default async function registrationTokenRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post('/runners/reset_registration_token', async (request, reply) => {
    const actor = requireActor(request).user;
    return reply.code(201).send(await resetInstanceRegistrationToken(ctx, actor));
  });

  app.post('/projects/:id/runners/reset_registration_token', async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(namespacedIdParams, request.params);
    return reply.code(201).send(await resetProjectRegistrationToken(ctx, actor, id));
  });

  app.post('/groups/:id/runners/reset_registration_token', async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(namespacedIdParams, request.params);
    return reply.code(201).send(await resetGroupRegistrationToken(ctx, actor, id));
  });
}
