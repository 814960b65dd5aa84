import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { withAuditOrigin } from '../services/audit/audit-context.js';
import { addRouteHook, isApiRoute, routeMethods } from '../lib/route-hooks.js';

// Runs each API request's handler that may write an audit event inside its
// audit origin (the signed-in user and the client address), read by
// src/services/audit/audit-service.ts. After auth's preHandler, so the actor
// is known. Audit events record changes, so GET (and HEAD) routes, which
// change nothing, do not run it; nor do the job routes (the runner's poll and
// job updates), which write no audit events.

const readOnly = (method: string) => method === 'GET' || method === 'HEAD';

async function auditContext(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    if (!isApiRoute(route) || route.url.startsWith('/api/v4/jobs') || routeMethods(route).every(readOnly)) return;
    addRouteHook(route, 'preHandler', function enterAuditOrigin(request: FastifyRequest, _reply: unknown, done: () => void) {
      const user = request.actor?.user;
      withAuditOrigin({ author: user ? { id: user.id, name: user.name } : null, ipAddress: request.ip ?? null }, done);
    });
  });
}

export default fp(auditContext, { name: 'audit-context', dependencies: ['auth'] });
