import type { FastifyRequest } from 'fastify';
import { baseUrl } from '../lib/pagination.js';
import { presentUserBasic } from './user.js';
import { isOnline, RUNNER_TYPE_NAMES, runnerStatus } from '../domain/runner.js';
import type { RunnerEntityRow, RunnerExtras, RunnerListItem } from '../domain/runner-view.js';

// Entities::Ci::Runner (GitLab's lib/api/entities/ci/runner.rb): list items and the assign
// response. Keys in GitLab's order; everything per-user is decided by the
// service and passed in.

export interface PresentOptions {
  /** External base URL for web_url fields, without a trailing slash. */
  baseUrl: string;
  /** One clock reading per response, so every item is judged against the same instant. */
  now: number;
}

/** Options for one response: the configured external URL (else the request's host) and one clock reading. */
export function presentOptions(request: FastifyRequest, externalUrl: string | undefined): PresentOptions {
  return { baseUrl: baseUrl(request, externalUrl), now: Date.now() };
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function presentRunner(runner: RunnerEntityRow, extras: RunnerExtras, opts: PresentOptions) {
  const online = isOnline(runner.contacted_at, opts.now);
  const createdAt = iso(runner.created_at);
  const status = runnerStatus(runner, opts.now);
  const jobExecutionStatus = extras.executing ? 'active' : 'idle';
  // Two literal shapes instead of a conditional spread: a list presents a
  // hundred of these per request, and a spread costs more than the rest.
  if (extras.creator) {
    return {
      id: runner.id,
      description: runner.description,
      // Always null since GitLab 17.0; the address lives on each runner manager.
      ip_address: null,
      active: runner.active,
      paused: !runner.active,
      is_shared: runner.runner_type === 1,
      runner_type: RUNNER_TYPE_NAMES[runner.runner_type],
      name: runner.name,
      online,
      created_by: presentUserBasic(extras.creator, opts.baseUrl),
      created_at: createdAt,
      status,
      job_execution_status: jobExecutionStatus,
    };
  }
  // `created_by` is omitted, not null, when the creator is gone.
  return {
    id: runner.id,
    description: runner.description,
    ip_address: null,
    active: runner.active,
    paused: !runner.active,
    is_shared: runner.runner_type === 1,
    runner_type: RUNNER_TYPE_NAMES[runner.runner_type],
    name: runner.name,
    online,
    created_at: createdAt,
    status,
    job_execution_status: jobExecutionStatus,
  };
}

/** A page of list items (GET /runners, /runners/all, /projects/:id/runners, /groups/:id/runners). */
export function presentRunnerItems(items: RunnerListItem[], opts: PresentOptions) {
  return items.map((item) => presentRunner(item.runner, item.extras, opts));
}

export { iso, presentUserBasic };
