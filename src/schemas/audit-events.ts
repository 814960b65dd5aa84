import type { z } from 'zod';
import { declareParams } from '../lib/route-contract/index.js';
import { glDateTime, glEnum, glInteger, glNamespacedId, glString, paginationParams } from './common.js';

// GitLab's Audit Events API parameters (doc/api/audit_events.md), for the
// instance, group and project lists.

export const AUDIT_ENTITY_TYPES = ['Project', 'User', 'Group', 'Gitlab::Audit::InstanceScope'] as const;

const listShape = {
  created_after: glDateTime().optional(),
  created_before: glDateTime().optional(),
  pagination: glEnum(['offset', 'keyset'] as const).optional(),
  order_by: glEnum(['id'] as const).optional(),
  sort: glEnum(['asc', 'desc'] as const).optional().default('desc'),
  cursor: glString().optional(),
  ...paginationParams,
};

const instanceListShape = {
  entity_type: glEnum(AUDIT_ENTITY_TYPES).optional(),
  entity_id: glInteger().optional(),
  ...listShape,
};

export const instanceAuditEventsParams = declareParams(instanceListShape);
export const scopedAuditEventsParams = declareParams(listShape);
export type AuditEventsQuery = z.output<z.ZodObject<typeof instanceListShape>>;

export const auditEventIdPath = { audit_event_id: glInteger() };
export const scopedAuditEventPath = { id: glNamespacedId(), audit_event_id: glInteger() };
export const scopedAuditEventsPath = { id: glNamespacedId() };
