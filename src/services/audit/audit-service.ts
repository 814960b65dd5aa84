import { currentAuditOrigin, UNAUTHENTICATED_AUTHOR_ID, type AuditAuthor } from './audit-context.js';

// The one place audit events are written. Each caller passes the
// transaction (or pg client inside BEGIN … COMMIT) that makes the change, so
// a change is never committed without its event, nor an event without its
// change. Author and client address come from the request's audit origin
// (audit-context.ts) unless the caller names an author.
//
// Event names are GitLab's where GitLab has one (doc/user/compliance/
// audit_event_types.md: ci_runner_registered, ci_runner_created,
// ci_runner_unregistered, ci_runners_bulk_deleted, ci_runner_token_reset,
// ci_runner_assigned_to_project, ci_runner_unassigned_from_project,
// personal_access_token_created, personal_access_token_revoked); the others
// follow the same pattern and are this server's own.

export const AUDIT_EVENTS = {
  runnerRegistered: 'ci_runner_registered',
  runnerCreated: 'ci_runner_created',
  runnerVerified: 'ci_runner_verified',
  runnerUpdated: 'ci_runner_updated',
  runnerPaused: 'ci_runner_paused',
  runnerUnpaused: 'ci_runner_unpaused',
  runnerAssigned: 'ci_runner_assigned_to_project',
  runnerUnassigned: 'ci_runner_unassigned_from_project',
  runnerUnregistered: 'ci_runner_unregistered',
  runnersBulkDeleted: 'ci_runners_bulk_deleted',
  runnerPruned: 'ci_runner_pruned',
  runnerAuthTokenReset: 'ci_runner_authentication_token_reset',
  registrationTokenReset: 'ci_runner_token_reset',
  runnerSettingsUpdated: 'ci_runner_settings_updated',
  patCreated: 'personal_access_token_created',
  patRevoked: 'personal_access_token_revoked',
} as const;
export type AuditEventName = (typeof AUDIT_EVENTS)[keyof typeof AUDIT_EVENTS];

export const INSTANCE_SCOPE = { type: 'Gitlab::Audit::InstanceScope', id: 1, path: 'gitlab_instance' } as const;

/** The scope an event is listed under: GitLab's `entity`. */
export interface AuditEntity {
  type: string;
  id: number;
  path: string;
}

export interface AuditTarget {
  type: string;
  id: number | null;
  details: string | null;
}

/** A Prisma interactive-transaction client, or a pg client inside BEGIN … COMMIT. */
export type AuditWriter =
  | { $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> }
  | { query(text: string, values?: unknown[]): Promise<unknown> };

async function execute(tx: AuditWriter, text: string, values: unknown[]): Promise<void> {
  if ('$executeRawUnsafe' in tx) await tx.$executeRawUnsafe(text, ...values);
  else await tx.query(text, values);
}

const UNAUTHENTICATED: AuditAuthor = { id: UNAUTHENTICATED_AUTHOR_ID, name: 'An unauthenticated user' };

function origin(author?: AuditAuthor) {
  const current = currentAuditOrigin();
  return { author: author ?? current.author ?? UNAUTHENTICATED, ip: current.ipAddress };
}

export interface AuditEventInput {
  eventName: AuditEventName;
  message: string;
  entity: AuditEntity;
  target?: AuditTarget;
  /** Event-specific fields, shown inside `details` (e.g. change/from/to). Never a secret. */
  details?: Record<string, unknown>;
  author?: AuditAuthor;
}

export async function recordAuditEvent(tx: AuditWriter, event: AuditEventInput): Promise<void> {
  const { author, ip } = origin(event.author);
  await execute(
    tx,
    `INSERT INTO audit_events (author_id, author_name, entity_id, entity_type, entity_path, event_name, target_id, target_type,
       target_details, custom_message, ip_address, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)`,
    [
      author.id, author.name, event.entity.id, event.entity.type, event.entity.path, event.eventName,
      event.target?.id ?? null, event.target?.type ?? null, event.target?.details ?? null,
      event.message, ip, event.details ? JSON.stringify(event.details) : null,
    ],
  );
}

export interface RunnerAuditInput {
  eventName: AuditEventName;
  message: string;
  /** Defaults to the runner's own scope: its group, its owner project, or the instance. */
  entity?: AuditEntity;
  details?: Record<string, unknown>;
  author?: AuditAuthor;
}

/**
 * One event per runner, written while the runners still exist (record
 * before deleting them). The scope is read from the runner's links in the
 * same statement: a group runner's group, a project runner's owner project
 * (else its first project), and the instance for instance runners and
 * orphans.
 */
export async function recordRunnerAuditEvents(tx: AuditWriter, runnerIds: number[], event: RunnerAuditInput): Promise<void> {
  if (runnerIds.length === 0) return;
  const { author, ip } = origin(event.author);
  const e = event.entity;
  await execute(
    tx,
    `INSERT INTO audit_events (author_id, author_name, entity_id, entity_type, entity_path, event_name, target_id, target_type,
       target_details, custom_message, ip_address, details)
     SELECT $2, $3,
       COALESCE($8::int, g.id, p.id, ${INSTANCE_SCOPE.id}),
       COALESCE($9::text, CASE WHEN g.id IS NOT NULL THEN 'Group' WHEN p.id IS NOT NULL THEN 'Project' ELSE '${INSTANCE_SCOPE.type}' END),
       COALESCE($10::text, g.full_path, p.path_with_namespace, '${INSTANCE_SCOPE.path}'),
       $4, r.id, 'Ci::Runner', '/admin/runners/' || r.id, $5, $6, $7::jsonb
     FROM runners r
     LEFT JOIN LATERAL (SELECT n.id, n.full_path FROM runner_namespaces rn JOIN namespaces n ON n.id = rn.namespace_id
                         WHERE rn.runner_id = r.id LIMIT 1) g ON r.runner_type = 2
     LEFT JOIN LATERAL (SELECT pr.id, pr.path_with_namespace FROM runner_projects rp JOIN projects pr ON pr.id = rp.project_id
                         WHERE rp.runner_id = r.id ORDER BY (pr.id = r.sharding_key_id) DESC, rp.id LIMIT 1) p ON r.runner_type = 3
     WHERE r.id = ANY($1::int[])
     ORDER BY r.id`,
    [
      runnerIds, author.id, author.name, event.eventName, event.message, ip,
      event.details ? JSON.stringify(event.details) : null, e?.id ?? null, e?.type ?? null, e?.path ?? null,
    ],
  );
}

/**
 * One runner's audit event as a data-modifying CTE of the statement that
 * inserts the runner, for a write that must be a single statement: `source`
 * names a CTE returning the runner's `id`, the scope is given (a CTE does not
 * see the rows its siblings insert, so it cannot be read from the runner's
 * links as recordRunnerAuditEvents does). Parameters $first… are
 * runnerAuditCteValues(), in that order.
 */
export function runnerAuditCteSql(source: string, first: number): string {
  const $ = (i: number) => `$${first + i}`;
  return `INSERT INTO audit_events (author_id, author_name, entity_id, entity_type, entity_path, event_name, target_id, target_type,
       target_details, custom_message, ip_address, details)
     SELECT ${$(0)}::int, ${$(1)}::text, ${$(2)}::int, ${$(3)}::text, ${$(4)}::text, ${$(5)}::text, ${source}.id, 'Ci::Runner',
       '/admin/runners/' || ${source}.id, ${$(6)}::text, ${$(7)}::text, ${$(8)}::jsonb FROM ${source}`;
}

export function runnerAuditCteValues(event: RunnerAuditInput & { entity: AuditEntity }): unknown[] {
  const { author, ip } = origin(event.author);
  const e = event.entity;
  return [author.id, author.name, e.id, e.type, e.path, event.eventName, event.message, ip, event.details ? JSON.stringify(event.details) : null];
}

export const projectEntity = (p: { id: number; path_with_namespace: string }): AuditEntity => ({ type: 'Project', id: p.id, path: p.path_with_namespace });
export const groupEntity = (g: { id: number; full_path: string }): AuditEntity => ({ type: 'Group', id: g.id, path: g.full_path });

/**
 * One audit event per runner-related setting whose value changes, old → new
 * (the settings this server keeps are all runner settings; none is a secret).
 */
export async function recordSettingChanges(tx: AuditWriter, before: Record<string, unknown>, data: Record<string, unknown>, entity: AuditEntity): Promise<void> {
  for (const [key, to] of Object.entries(data)) {
    const from = before[key] ?? null;
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    await recordAuditEvent(tx, {
      eventName: AUDIT_EVENTS.runnerSettingsUpdated,
      message: `Changed ${key} from ${JSON.stringify(from)} to ${JSON.stringify(to)}`,
      entity,
      details: { change: key, from, to: to ?? null },
    });
  }
}
