import type { RunnerTypeName } from '../lib/tokens.js';

// Runner facts that services and presenters both need: the stored type and access-level codes,
// and the status GitLab derives from the stored columns.

export const RUNNER_TYPE_IDS: Record<RunnerTypeName, number> = { instance_type: 1, group_type: 2, project_type: 3 };
export const RUNNER_TYPE_NAMES: Record<number, RunnerTypeName> = { 1: 'instance_type', 2: 'group_type', 3: 'project_type' };
export const ACCESS_LEVEL_IDS = { not_protected: 0, ref_protected: 1 } as const;
export const ACCESS_LEVEL_NAMES: Record<number, 'not_protected' | 'ref_protected'> = { 0: 'not_protected', 1: 'ref_protected' };
export const REGISTRATION_TYPE = { registration_token: 0, authenticated_user: 1 } as const;
export const CREATION_STATE = { started: 0, finished: 100 } as const;

export const ONLINE_CONTACT_TIMEOUT_MS = 2 * 60 * 60 * 1000;
export const STALE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_TAGS = 50;

// ---------------------------------------------------------------------------
// Status (GitLab's app/models/ci/runner.rb). Computed from the stored columns on every
// read, so every server instance reports the same value for the same row.

export type RunnerStatus = 'online' | 'offline' | 'stale' | 'never_contacted' | 'paused';
export type ManagerStatus = Exclude<RunnerStatus, 'paused'>;

interface Contactable {
  created_at: Date | null;
  contacted_at: Date | null;
}

/** `stale?`: created, and neither created nor contacted within STALE_TIMEOUT. */
export function isStale(r: Contactable, now: number = Date.now()): boolean {
  if (!r.created_at) return false;
  const last = Math.max(r.created_at.getTime(), r.contacted_at?.getTime() ?? 0);
  return last <= now - STALE_TIMEOUT_MS;
}

/** Entity `online`: null (not false) when the runner never made contact, as GitLab's `contacted_at && …`. */
export function isOnline(contactedAt: Date | null, now: number = Date.now()): boolean | null {
  if (!contactedAt) return null;
  return contactedAt.getTime() > now - ONLINE_CONTACT_TIMEOUT_MS;
}

/** `deprecated_rest_status`, the REST `status` of a runner. */
export function runnerStatus(r: Contactable & { active: boolean }, now: number = Date.now()): RunnerStatus {
  if (isStale(r, now)) return 'stale';
  if (!r.contacted_at) return 'never_contacted';
  if (r.active) return isOnline(r.contacted_at, now) ? 'online' : 'offline';
  return 'paused';
}

/** HasRunnerStatus#status for runner managers: a manager counts as contacted only once its creation finished. */
export function managerStatus(m: Contactable & { creation_state: number }, now: number = Date.now()): ManagerStatus {
  if (isStale(m, now)) return 'stale';
  if (!m.contacted_at || m.creation_state !== CREATION_STATE.finished) return 'never_contacted';
  return isOnline(m.contacted_at, now) ? 'online' : 'offline';
}

/** Ci::HasStatus::EXECUTING_STATUSES: a runner with such a job reports job_execution_status "active". */
export const EXECUTING_JOB_STATUSES = ['running', 'canceling'] as const;
