import type { FastifyInstance } from 'fastify';

const READINESS_TIMEOUT_MS = 3_000;

// Probes answer without credentials. Liveness touches nothing; readiness asks
// the database on a connection of its own (src/db/probe.ts), so a full pool
// never makes a working instance look dead.
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
      await app.ctx.probe.check(READINESS_TIMEOUT_MS);
      return { status: 'ok', master_check: [{ status: 'ok' }] };
    } catch {
      return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    }
  });
}
