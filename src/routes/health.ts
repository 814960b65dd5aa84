import type { FastifyInstance } from 'fastify';

const READINESS_TIMEOUT_MS = 3_000;

export default async function healthRoutes(app: FastifyInstance) {
  const cfg = { auth: 'none' as const };
  app.get('/-/health', { config: cfg }, async (_req, reply) => reply.type('text/plain').send('GitLab OK'));
  // Liveness: can this process serve, or recover by itself? A database
  // outage is not a reason to restart the server (its pools reconnect, and
  // the supervisor restarts an embedded postmaster), so liveness stays 200
  // through it; only an embedded PostgreSQL the supervisor has given up on
  // restarting makes it 503, so that a process supervisor restarts us.
  app.get('/-/liveness', { config: cfg }, async (_req, reply) => {
    const supervisor = app.ctx.databaseSupervisor?.state();
    if (supervisor === 'failed') {
      return reply.code(503).send({ status: 'failed', message: 'embedded PostgreSQL cannot be restarted' });
    }
    return { status: 'ok' };
  });
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
