import type { FastifyInstance } from 'fastify';

const READINESS_TIMEOUT_MS = 3_000;

// Probes answer without credentials. Liveness touches nothing; readiness asks
// the database on a connection of its own (src/db/probe.ts), so a full pool
// never makes a working instance look dead.
export default async function healthRoutes(app: FastifyInstance) {
  const cfg = { auth: 'none' as const };
  app.get('/-/health', { config: cfg }, async (_req, reply) => reply.type('text/plain').send('GitLab OK'));
  app.get('/-/liveness', { config: cfg }, async () => ({ status: 'ok' }));
  app.get('/-/readiness', { config: cfg }, async (_req, reply) => {
    try {
      await app.ctx.probe.check(READINESS_TIMEOUT_MS);
      return { status: 'ok', master_check: [{ status: 'ok' }] };
    } catch {
      return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    }
  });
}
