import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { withAuditOrigin } from '../services/audit/audit-context.js';

// Runs each API request's handler inside its audit origin (the signed-in
// user and the client address), read by src/services/audit/audit-service.ts.
// After auth's preHandler, so the actor is known. The job routes (the
// runner's poll and job updates) write no audit events and skip it.

async function auditContext(app: FastifyInstance) {
  app.addHook('preHandler', (request, _reply, done) => {
    const url = request.routeOptions.url;
    if (!url?.startsWith('/api/v4') || url.startsWith('/api/v4/jobs')) return done();
    const user = request.actor?.user;
    withAuditOrigin({ author: user ? { id: user.id, name: user.name } : null, ipAddress: request.ip ?? null }, done);
  });
}

export default fp(auditContext, { name: 'audit-context', dependencies: ['auth'] });
