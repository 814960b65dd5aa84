import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keysetPage, paginate } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentAuditEvent } from '../../../presenters/audit-event.js';
import { namespacedIdText } from '../../../schemas/common.js';
import {
  auditEventIdPath,
  instanceAuditEventsParams,
  scopedAuditEventPath,
  scopedAuditEventsParams,
  scopedAuditEventsPath,
  type AuditEventsQuery,
} from '../../../schemas/audit-events.js';
import * as res from '../../../schemas/responses.js';
import { auditEventsSource, auditScopeFor, findAuditEvent, keysetAuditEvents, type AuditScope } from '../../../services/audit/audit-query-service.js';

// GitLab's Audit Events API (doc/api/audit_events.md; an EE feature in
// GitLab): /audit_events (admins), /groups/:id/audit_events and
// /projects/:id/audit_events (Developers+, their own events unless they
// administer the group or project), each with /:audit_event_id.
// The scope is checked (404/403) before the filters are validated.

const tags = ['audit_events'];

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

  defineRoute(
    app,
    {
      method: 'GET', path: '/audit_events', summary: "The instance's audit events (admins)", tags, auth: 'user',
      params: instanceAuditEventsParams, paginated: true,
      before: (request) => auditScopeFor(ctx, requireActor(request).user, 'instance'),
      responses: { 200: { description: 'Audit events', schema: res.auditEventList } },
    },
    async (q, request, reply, scope) => list(request, reply, scope, q, q),
  );

  defineRoute(
    app,
    {
      method: 'GET', path: '/audit_events/:audit_event_id', summary: 'One audit event (admins)', tags, auth: 'user',
      pathParams: auditEventIdPath,
      before: (request) => auditScopeFor(ctx, requireActor(request).user, 'instance'),
      responses: { 200: { description: 'The audit event', schema: res.auditEvent } },
    },
    async ({ audit_event_id }, _request, _reply, scope) => presentAuditEvent(await findAuditEvent(ctx, scope, audit_event_id)),
  );

  for (const kind of ['group', 'project'] as const) {
    const who = 'Developers+';
    defineRoute(
      app,
      {
        method: 'GET', path: `/${kind}s/:id/audit_events`, summary: `A ${kind}'s audit events (${who})`, tags, auth: 'user',
        pathParams: scopedAuditEventsPath, params: scopedAuditEventsParams, paginated: true,
        before: (request, { id }) => auditScopeFor(ctx, requireActor(request).user, kind, id),
        responses: { 200: { description: 'Audit events', schema: res.auditEventList } },
      },
      async (input, request, reply, scope) => {
        const { id, ...q } = input;
        return list(request, reply, scope, q, { ...q, id: namespacedIdText(id) });
      },
    );

    defineRoute(
      app,
      {
        method: 'GET', path: `/${kind}s/:id/audit_events/:audit_event_id`, summary: `One of a ${kind}'s audit events (${who})`, tags, auth: 'user',
        pathParams: scopedAuditEventPath,
        before: (request, { id }) => auditScopeFor(ctx, requireActor(request).user, kind, id),
        responses: { 200: { description: 'The audit event', schema: res.auditEvent } },
      },
      async ({ audit_event_id }, _request, _reply, scope) => presentAuditEvent(await findAuditEvent(ctx, scope, audit_event_id)),
    );
  }
}
