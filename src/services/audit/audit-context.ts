import { AsyncLocalStorage } from 'node:async_hooks';

// Who is acting and from where, for the audit events a request writes. Set
// once per request by src/plugins/audit-context.ts, so services record the
// author and IP address without every call passing them along. Work outside
// a request (the CLI, the pruning job) runs in its own scope via
// `withAuditOrigin`.

export interface AuditAuthor {
  /** A user id, or -1 for an author that is not a user (GitLab's unauthenticated author). */
  id: number;
  name: string;
}

export interface AuditOrigin {
  author: AuditAuthor | null;
  ipAddress: string | null;
}

const storage = new AsyncLocalStorage<AuditOrigin>();

export function withAuditOrigin<T>(origin: AuditOrigin, fn: () => T): T {
  return storage.run(origin, fn);
}

export function currentAuditOrigin(): AuditOrigin {
  return storage.getStore() ?? { author: null, ipAddress: null };
}

/** GitLab's `Gitlab::Audit::UnauthenticatedAuthor` id. */
export const UNAUTHENTICATED_AUTHOR_ID = -1;
/** A runner acting with its own authentication token (the token is never recorded). */
export const RUNNER_AUTHOR: AuditAuthor = { id: UNAUTHENTICATED_AUTHOR_ID, name: 'Runner authentication token' };
export const SYSTEM_AUTHOR: AuditAuthor = { id: UNAUTHENTICATED_AUTHOR_ID, name: 'GitLab Runners API (scheduled pruning)' };
