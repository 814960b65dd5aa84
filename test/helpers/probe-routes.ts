import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { forbidden, notFound, paramError, validationError } from '../../src/lib/errors.js';
import { paginate } from '../../src/lib/pagination.js';
import { requireActor } from '../../src/plugins/auth.js';
import { glBoolean, glEnum, glInteger, glNamespacedId, glString, glStringArray, paginationParams, parseInput } from '../../src/schemas/common.js';

// Test-only routes under /api/v4/probe that echo what the real compat, auth
// and error-handler plugins and parseInput make of a request, so the HTTP
// edge can be tested without depending on any resource's routes. Register
// with createTestApp(env, { extraPlugins: [probeRoutes] }).

const querySchema = z.object({
  tag_list: glStringArray().optional(),
  paused: glBoolean().optional(),
  id: glInteger().optional(),
  type: glEnum(['instance_type', 'group_type', 'project_type']).optional(),
});

const bodySchema = z.object({
  description: glString().optional(),
  tag_list: glStringArray().optional(),
  paused: glBoolean().optional(),
  maximum_timeout: glInteger().optional(),
  info: z.object({ name: glString().optional(), executor: glString().optional() }).optional(),
});

const listSchema = z.object({ ...paginationParams, tag_list: glStringArray().optional(), status: glString().optional() });

const ITEMS = Array.from({ length: 5 }, (_, i) => ({ id: i + 1 }));

export default async function probeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/api/v4/probe/echo', async (request) => ({ query: parseInput(querySchema, request.query) }));
  for (const method of ['POST', 'PUT', 'DELETE'] as const) {
    app.route({
      method,
      url: '/api/v4/probe/echo',
      handler: async (request, reply) => {
        const body = parseInput(bodySchema, request.body);
        return reply.code(method === 'POST' ? 201 : 200).send({ body });
      },
    });
  }

  app.get('/api/v4/probe/projects/:id', async (request) => parseInput(z.object({ id: glNamespacedId() }), request.params));

  app.get('/api/v4/probe/list', async (request, reply) => {
    const { page, per_page, ...filters } = parseInput(listSchema, request.query);
    return paginate(
      request,
      reply,
      { page, per_page },
      filters,
      { count: async (limit) => Math.min(ITEMS.length, limit), items: async (offset, limit) => ITEMS.slice(offset, offset + limit) },
      { externalUrl: app.ctx.config.EXTERNAL_URL },
    );
  });

  app.get('/api/v4/probe/errors/:kind', async (request) => {
    const { kind } = request.params as { kind: string };
    if (kind === 'not-found') throw notFound('Runner');
    if (kind === 'forbidden') throw forbidden();
    if (kind === 'param') throw paramError('runner_id is missing');
    if (kind === 'validation') throw validationError({ maximum_timeout: ['needs to be at least 10 minutes'] });
    throw new Error('an unexpected bug with a secret glpat-should-not-leak inside');
  });

  // Who the auth hook says is asking (after Sudo).
  const whoami = async (request: FastifyRequest) => {
    const actor = requireActor(request);
    return { username: actor.user.username, scopes: actor.scopes, impersonator: actor.impersonator?.username ?? null };
  };
  app.get('/api/v4/probe/whoami', whoami);
  app.post('/api/v4/probe/whoami', whoami);

  // A route that, like /runners/:id, also accepts manage_runner.
  app.get('/api/v4/probe/scoped', { config: { scopes: ['manage_runner'] } }, whoami);
  app.post('/api/v4/probe/scoped', { config: { scopes: ['manage_runner'] } }, whoami);

  app.get('/api/v4/probe/optional', { config: { auth: 'optional' } }, async (request) => ({ username: request.actor?.user.username ?? null }));
}
