import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import * as res from '../../../schemas/responses.js';
import { namespacedIdPath } from '../../../schemas/runners.js';
import {
  resetGroupRegistrationToken,
  resetInstanceRegistrationToken,
  resetProjectRegistrationToken,
} from '../../../services/runners/registration-token-service.js';

// Registration-token resets (docs.gitlab.com/api/runners). Each answers 201
// {"token": …} and nothing else: registration tokens do not expire.

const tags = ['runners'];
const responses = { 201: { description: 'The new registration token', schema: res.registrationToken } };

export default async function registrationTokenRoutes(app: FastifyInstance) {
  const { ctx } = app;

  defineRoute(app, { method: 'POST', path: '/runners/reset_registration_token', summary: "Reset the instance's runner registration token", tags, auth: 'user', responses }, async (_input, request, reply) =>
    reply.code(201).send(await resetInstanceRegistrationToken(ctx, requireActor(request).user)),
  );

  defineRoute(
    app,
    { method: 'POST', path: '/projects/:id/runners/reset_registration_token', summary: "Reset a project's runner registration token", tags, auth: 'user', pathParams: namespacedIdPath, responses },
    async ({ id }, request, reply) => reply.code(201).send(await resetProjectRegistrationToken(ctx, requireActor(request).user, id)),
  );

  defineRoute(
    app,
    { method: 'POST', path: '/groups/:id/runners/reset_registration_token', summary: "Reset a group's runner registration token", tags, auth: 'user', pathParams: namespacedIdPath, responses },
    async ({ id }, request, reply) => reply.code(201).send(await resetGroupRegistrationToken(ctx, requireActor(request).user, id)),
  );
}
