import type { FastifyInstance } from 'fastify';

export default async function healthRoutes(app: FastifyInstance) {
  const cfg = { auth: 'none' as const };
  app.get('/-/health', { config: cfg }, async (_req, reply) => reply.type('text/plain').send('GitLab OK'));
  app.get('/-/liveness', { config: cfg }, async () => ({ status: 'ok' }));
  app.get('/-/readiness', { config: cfg }, async (_req, reply) => {
    try {
      await app.ctx.pool.query('SELECT 1');
      return { status: 'ok', master_check: [{ status: 'ok' }] };
    } catch {
      return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    }
  });
}
