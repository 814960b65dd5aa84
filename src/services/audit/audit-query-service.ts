import type { AppContext } from '../../context.js';
import type { AuditEvent, Prisma } from '../../generated/prisma/client.js';
import { apiError, forbidden } from '../../lib/errors.js';
import { decodeIdCursor, type PageSource } from '../../lib/pagination.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import type { AuditEventsQuery } from '../../schemas/audit-events.js';
import type { NamespacedId } from '../../schemas/common.js';
import { authorize, findGroupFor, findProjectFor } from '../namespaces/access-service.js';

// Reading audit events (GitLab's Audit Events API): the instance list for
// admins; a group's or a project's for its Developers and up, who see only
// the events they wrote unless they administer it (Owner of the group,
// Maintainer+ of the project), as ee/lib/ee/api/groups.rb and projects.rb
// filter_by_author; newest first, as GitLab's AuditEventFinder.

/** `authorId`: the reader may only see their own events. */
export type AuditScope = { entityType: string; entityId: number; authorId?: number } | null;

/** Who may read which list: the scope the reader is limited to (null = every event). */
export async function auditScopeFor(ctx: AppContext, actor: PolicyActor, kind: 'instance' | 'group' | 'project', id?: NamespacedId): Promise<AuditScope> {
  if (kind === 'instance') {
    if (!actor.admin) throw forbidden();
    return null;
  }
  if (kind === 'group') {
    const { subject, can } = await findGroupFor(ctx, actor, id!);
    authorize(can, 'read_audit_events');
    return { entityType: 'Group', entityId: subject.id, ...(can.has('admin') ? {} : { authorId: actor.id }) };
  }
  const { subject, can } = await findProjectFor(ctx, actor, id!);
  authorize(can, 'read_audit_events');
  return { entityType: 'Project', entityId: subject.id, ...(can.has('admin') ? {} : { authorId: actor.id }) };
}

function where(scope: AuditScope, q: Partial<AuditEventsQuery>): Prisma.AuditEventWhereInput {
  return {
    ...(scope ? { entity_type: scope.entityType, entity_id: scope.entityId } : {}),
    ...(scope?.authorId !== undefined ? { author_id: scope.authorId } : {}),
    ...(!scope && q.entity_type !== undefined ? { entity_type: q.entity_type } : {}),
    ...(!scope && q.entity_id !== undefined ? { entity_id: q.entity_id } : {}),
    ...(q.created_after || q.created_before
      ? { created_at: { ...(q.created_after ? { gte: q.created_after } : {}), ...(q.created_before ? { lte: q.created_before } : {}) } }
      : {}),
  };
}

const direction = (q: Partial<AuditEventsQuery>) => (q.order_by === 'id' && q.sort === 'asc' ? 'asc' : 'desc');

export function auditEventsSource(ctx: AppContext, scope: AuditScope, q: AuditEventsQuery): PageSource<AuditEvent> {
  const w = where(scope, q);
  return {
    count: async (limit) => (await ctx.prisma.auditEvent.findMany({ where: w, select: { id: true }, take: limit })).length,
    items: (offset, limit) => ctx.prisma.auditEvent.findMany({ where: w, orderBy: { id: direction(q) }, skip: offset, take: limit }),
  };
}

/** Keyset mode: `limit` rows after the cursor, in id order (desc unless order_by=id&sort=asc). */
export function keysetAuditEvents(ctx: AppContext, scope: AuditScope, q: AuditEventsQuery, limit: number): Promise<AuditEvent[]> {
  const dir = direction(q);
  const after = q.cursor ? decodeIdCursor(q.cursor) : undefined;
  const w = where(scope, q);
  return ctx.prisma.auditEvent.findMany({
    where: after === undefined ? w : { AND: [w, { id: dir === 'asc' ? { gt: after } : { lt: after } }] },
    orderBy: { id: dir },
    take: limit,
  });
}

export async function findAuditEvent(ctx: AppContext, scope: AuditScope, id: number): Promise<AuditEvent> {
  const event = await ctx.prisma.auditEvent.findFirst({ where: { id, ...where(scope, {}) } });
  // AuditEventFinder#find raises ActiveRecord::RecordNotFound, which lib/api/api.rb renders so.
  if (!event) throw apiError(404, '404 Not found');
  return event;
}
