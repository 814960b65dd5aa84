import type { FastifyRequest } from 'fastify';
import { isoUtc, jsonIso, jsonString } from '../lib/json-text.js';
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

const iso = (d: Date | null | undefined) => (d ? isoUtc(d) : null);

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

const TYPE_JSON: Record<number, string> = Object.fromEntries(Object.entries(RUNNER_TYPE_NAMES).map(([id, name]) => [id, JSON.stringify(name)]));

/**
 * A page of list items as JSON text: the bytes JSON.stringify(presentRunnerItems(items, opts))
 * gives (tested field by field), written straight from the rows. A page is a
 * hundred entities; building each as an object for Fastify's generic
 * JSON.stringify cost more than reading the page.
 */
export function runnerItemsJson(items: RunnerListItem[], opts: PresentOptions): string {
  const now = opts.now;
  const userBase = `${opts.baseUrl}/`;
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    const { runner, extras } = items[i]!;
    const type = TYPE_JSON[runner.runner_type];
    out += `${i === 0 ? '' : ','}{"id":${runner.id},"description":${jsonString(runner.description)},"ip_address":null,"active":${runner.active},"paused":${!runner.active},"is_shared":${runner.runner_type === 1}${type === undefined ? '' : `,"runner_type":${type}`},"name":${jsonString(runner.name)},"online":${isOnline(runner.contacted_at, now)}`;
    const creator = extras.creator;
    if (creator) {
      out += `,"created_by":{"id":${creator.id},"username":${jsonString(creator.username)},"name":${jsonString(creator.name)},"state":${jsonString(creator.state)},"locked":false,"avatar_url":null,"web_url":${jsonString(userBase + creator.username)}}`;
    }
    out += `,"created_at":${jsonIso(runner.created_at)},"status":"${runnerStatus(runner, now)}","job_execution_status":"${extras.executing ? 'active' : 'idle'}"}`;
  }
  return `${out}]`;
}

export { iso, presentUserBasic };
