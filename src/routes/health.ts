import type { FastifyInstance } from 'fastify';

const READINESS_TIMEOUT_MS = 3_000;

export default async function healthRoutes(app: FastifyInstance) {
  const cfg = { auth: 'none' as const };
  app.get('/-/health', { config: cfg }, async (_req, reply) => reply.type('text/plain').send('GitLab OK'));
  app.get('/-/liveness', { config: cfg }, async () => ({ status: 'ok' }));
  app.get('/-/readiness', { config: cfg }, async (_req, reply) => {
    try {
      // A database that hangs (rather than refusing) must not hang the probe.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('readiness check timed out')), READINESS_TIMEOUT_MS);
      });
      await Promise.race([app.ctx.pool.query('SELECT 1'), timeout]).finally(() => clearTimeout(timer));
      return { status: 'ok', master_check: [{ status: 'ok' }] };
    } catch {
      return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    }
  });
}
