import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keysetPage, paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentAuditEvent } from '../../../presenters/audit-event.js';
import { parseInput } from '../../../schemas/common.js';
import { auditEventIdParams, instanceAuditEventsQuery, scopedAuditEventParams, scopedAuditEventsQuery, type AuditEventsQuery } from '../../../schemas/audit-events.js';
import { auditEventsSource, auditScopeFor, findAuditEvent, keysetAuditEvents, type AuditScope } from '../../../services/audit/audit-query-service.js';

// GitLab's Audit Events API (doc/api/audit_events.md; an EE feature in
// GitLab): /audit_events (admins), /groups/:id/audit_events (Owners),
// /projects/:id/audit_events (Maintainers+), each with /:audit_event_id.

export default async function auditEventRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  async function list(request: FastifyRequest, reply: FastifyReply, scope: AuditScope, q: AuditEventsQuery, params: Record<string, unknown>) {
    if (q.pagination === 'keyset') {
      const rows = await keysetAuditEvents(ctx, scope, q, q.per_page + 1);
      return keysetPage(request, reply, params, rows, q.per_page, { externalUrl, idOf: (e) => e.id }).map(presentAuditEvent);
    }
    const events = await paginate(request, reply, q, params, auditEventsSource(ctx, scope, q), { externalUrl });
    return events.map(presentAuditEvent);
  }

  app.get('/audit_events', async (request, reply) => {
    const actor = requireActor(request).user;
    const q = parseInput(instanceAuditEventsQuery, request.query);
    const scope = await auditScopeFor(ctx, actor, 'instance');
    return list(request, reply, scope, q, q);
  });

  app.get('/audit_events/:audit_event_id', async (request) => {
    const actor = requireActor(request).user;
    const { audit_event_id } = parseInput(auditEventIdParams, request.params);
    const scope = await auditScopeFor(ctx, actor, 'instance');
    return presentAuditEvent(await findAuditEvent(ctx, scope, audit_event_id));
  });

  for (const kind of ['group', 'project'] as const) {
    app.get(`/${kind}s/:id/audit_events`, async (request, reply) => {
      const actor = requireActor(request).user;
      const { id, ...q } = parseInput(scopedAuditEventsQuery, { ...(request.query as object), ...(request.params as object) });
      const scope = await auditScopeFor(ctx, actor, kind, id);
      return list(request, reply, scope, q, q);
    });

    app.get(`/${kind}s/:id/audit_events/:audit_event_id`, async (request) => {
      const actor = requireActor(request).user;
      const { id, audit_event_id } = parseInput(scopedAuditEventParams, request.params);
      const scope = await auditScopeFor(ctx, actor, kind, id);
      return presentAuditEvent(await findAuditEvent(ctx, scope, audit_event_id));
    });
  }
}
