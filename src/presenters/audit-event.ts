import type { AuditEvent } from '../generated/prisma/client.js';

/** GitLab's AuditEvent entity: the common fields, then `details` with the event's own fields added. */
export function presentAuditEvent(e: AuditEvent) {
  const extra = e.details && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
  return {
    id: e.id,
    author_id: e.author_id,
    entity_id: e.entity_id,
    entity_type: e.entity_type,
    event_name: e.event_name,
    details: {
      ...extra,
      custom_message: e.custom_message,
      author_name: e.author_name,
      target_id: e.target_id,
      target_type: e.target_type,
      target_details: e.target_details,
      ip_address: e.ip_address,
      entity_path: e.entity_path,
    },
    created_at: e.created_at.toISOString(),
  };
}
