import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute } from '../lib/route-contract/index.js';

const READINESS_TIMEOUT_MS = 3_000;

const tags = ['health'];
const probe = z.looseObject({ status: z.string() });

export default async function healthRoutes(app: FastifyInstance) {
  defineRoute(
    app,
    { method: 'GET', path: '/-/health', summary: 'Health check', tags, auth: 'none', responses: { 200: { description: 'GitLab OK', contentType: 'text/plain', example: 'GitLab OK' } } },
    async (_input, _req, reply) => reply.type('text/plain').send('GitLab OK'),
  );
  defineRoute(
    app,
    { method: 'GET', path: '/-/liveness', summary: 'Liveness probe', tags, auth: 'none', responses: { 200: { description: 'Alive', schema: probe } } },
    async () => ({ status: 'ok' }),
  );
  defineRoute(
    app,
    {
      method: 'GET', path: '/-/readiness', summary: 'Readiness probe (database reachable)', tags, auth: 'none',
      responses: { 200: { description: 'Ready', schema: probe }, 503: { description: 'The database is unreachable', schema: probe } },
    },
    async (_input, _req, reply) => {
      try {
        // A connection of its own (src/db/probe.ts): a full pool never makes a working instance look dead.
        await app.ctx.probe.check(READINESS_TIMEOUT_MS);
        return { status: 'ok', master_check: [{ status: 'ok' }] };
      } catch {
        return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
      }
    },
  );
}
