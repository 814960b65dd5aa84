import type { AppContext } from '../../context.js';
import { INTERACTIVE_TX } from '../../db/client.js';
import type { Runner, RunnerManager } from '../../generated/prisma/client.js';
import { forbidden, notFound, preconditionFailed, validationError } from '../../lib/errors.js';
import type { PageSource } from '../../lib/pagination.js';
import { AccessLevel, type PolicyActor } from '../../policies/access-levels.js';
import type { ProjectView, ProjectWithNamespace } from '../../domain/project.js';
import type { RunnerUpdateInput } from '../../schemas/runners.js';
import { authorizeRunner, findRunnerFor, type RunnerAccess } from './runner-access-service.js';
import {
  ACCESS_LEVEL_IDS,
  ACCESS_LEVEL_NAMES,
  computeTokenExpiry,
  issueRunnerToken,
  normalizeTags,
  REGISTRATION_TYPE,
  RUNNER_TYPE_NAMES,
  validateRunner,
} from './runner-core.js';
import { projectsWithAccessSql, Sql } from './runner-queries.js';
import { loadProjectViews } from './runner-view-service.js';
import { withLockedRunner } from './runner-lock.js';
import { runnersChanged } from '../runner-cache/runner-cache.js';
import { AUDIT_EVENTS, recordRunnerAuditEvents } from '../audit/audit-service.js';
import { deleteRunnersAudited } from './runner-deletion.js';

// One runner by id: show, update, delete, managers, projects and token
// reset (docs.gitlab.com/api/runners). Every function looks the runner up
// (404), asks the policy (403) and only then acts.

/** `authenticate_show_runner!`: admins and, through the policy, everyone who may read the runner. */
export async function findReadableRunner(ctx: AppContext, actor: PolicyActor, id: number): Promise<RunnerAccess> {
  const access = await findRunnerFor(ctx, actor, id);
  authorizeRunner(access, 'read_runner');
  return access;
}

/** `authenticate_update_runner!`. */
export async function findUpdatableRunner(ctx: AppContext, actor: PolicyActor, id: number): Promise<RunnerAccess> {
  const access = await findRunnerFor(ctx, actor, id);
  authorizeRunner(access, 'update_runner');
  return access;
}

/**
 * PUT /runners/:id after authorization: `paused` wins over `active` by
 * becoming it, the tag list is replaced whole, and the model validations
 * run (tag checks only when the tags changed) → 400 {"message":{attr:[…]}}.
 * The row is locked while the combined state is validated and written, so
 * two valid writes can never add up to an invalid runner (run_untagged=false
 * from one, no tags from the other); the returned row is this caller's write.
 */
export async function updateRunner(ctx: AppContext, runnerId: number, input: RunnerUpdateInput): Promise<Runner> {
  const data: Partial<Runner> = {};
  if (input.description !== undefined) data.description = input.description;
  if (input.paused !== undefined) data.active = !input.paused;
  else if (input.active !== undefined) data.active = input.active;
  if (input.tag_list !== undefined) data.tag_list = normalizeTags(input.tag_list);
  if (input.run_untagged !== undefined) data.run_untagged = input.run_untagged;
  if (input.locked !== undefined) data.locked = input.locked;
  if (input.access_level !== undefined) data.access_level = ACCESS_LEVEL_IDS[input.access_level];
  if (input.maximum_timeout !== undefined) data.maximum_timeout = input.maximum_timeout;
  if (input.maintenance_note !== undefined) data.maintenance_note = input.maintenance_note;

  const updated = await withLockedRunner(ctx, runnerId, async (sql, { runner }) => {
    const merged = { ...runner, ...data };
    const tagsChanged = data.tag_list !== undefined && data.tag_list.join('\u0000') !== runner.tag_list.join('\u0000');
    const errors = validateRunner(merged, { tags: tagsChanged, description: data.description !== undefined && data.description !== runner.description });
    if (Object.keys(errors).length > 0) throw validationError(errors);
    const columns = Object.keys(data) as (keyof Runner)[];
    const set = columns.map((c, i) => `${c} = $${i + 2}`).join(', ');
    const res = await sql.query<Runner>(
      `UPDATE runners SET ${set}${set ? ', ' : ''}updated_at = now() WHERE id = $1 RETURNING *`,
      [runnerId, ...columns.map((c) => data[c])],
    );
    const row = res.rows[0]!;
    // Each change is audited in the same transaction as the write.
    for (const change of runnerChanges(runner, data)) {
      if (change.field === 'active') {
        const paused = change.to === false;
        await recordRunnerAuditEvents(sql, [runnerId], { eventName: paused ? AUDIT_EVENTS.runnerPaused : AUDIT_EVENTS.runnerUnpaused, message: paused ? 'Paused CI runner' : 'Unpaused CI runner' });
      } else {
        await recordRunnerAuditEvents(sql, [runnerId], {
          eventName: AUDIT_EVENTS.runnerUpdated,
          message: `Changed ${change.field} from ${JSON.stringify(change.from)} to ${JSON.stringify(change.to)}`,
          details: { change: change.field, from: change.from, to: change.to },
        });
      }
    }
    return row;
  });
  // Paused, tags, access level, timeout…: every instance drops what it cached about the runner.
  await runnersChanged(ctx, [runnerId]);
  return updated;
}

/** The attributes an update really changes, old → new, as the API spells them (access_level by name). */
function runnerChanges(before: Runner, data: Partial<Runner>): { field: string; from: unknown; to: unknown }[] {
  const shown = (key: keyof Runner, v: unknown) => (key === 'access_level' ? ACCESS_LEVEL_NAMES[v as number] : v);
  const changes: { field: string; from: unknown; to: unknown }[] = [];
  for (const key of Object.keys(data) as (keyof Runner)[]) {
    const from = shown(key, before[key]);
    const to = shown(key, data[key]);
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field: key, from: from ?? null, to: to ?? null });
  }
  return changes;
}

/** A runner deleted by a concurrent request between lookup and write is, by then, a 404 like any unknown runner. */
function goneRunner(err: unknown): never {
  if ((err as { code?: string }).code === 'P2025') throw notFound('Runner');
  throw err;
}

/** `check_unmodified_since!`: a parsable If-Unmodified-Since older than the row → 412. */
export function checkUnmodifiedSince(header: string | undefined, lastModified: Date): void {
  if (!header) return;
  const since = new Date(header);
  if (!Number.isNaN(since.getTime()) && lastModified.getTime() > since.getTime()) throw preconditionFailed();
}

/**
 * DELETE /runners/:id: admins may always; otherwise a runner with
 * more than one project is refused before the permission is even checked.
 */
export async function deleteRunner(ctx: AppContext, actor: PolicyActor, id: number, ifUnmodifiedSince: string | undefined): Promise<void> {
  const access = await findRunnerFor(ctx, actor, id);
  if (!actor.admin) {
    if (access.ownership.projectIds.length > 1) throw forbidden('Runner associated with more than one project');
    authorizeRunner(access, 'delete_runner');
  }
  checkUnmodifiedSince(ifUnmodifiedSince, access.runner.updated_at);
  // A concurrent delete may have won since the lookup: that caller got the 204, this one the runner's 404.
  const type = RUNNER_TYPE_NAMES[access.runner.runner_type]!.replace('_type', '');
  // The row lock makes a concurrent assign or unassign finish first (or find
  // the runner gone), so links never outlive their runner mid-request; the
  // event is written in the same transaction as the delete.
  try {
    await withLockedRunner(ctx, access.runner.id, (sql) =>
      deleteRunnersAudited(sql, [access.runner.id], { eventName: AUDIT_EVENTS.runnerUnregistered, message: `Unregistered ${type} CI runner` }),
    );
  } finally {
    // Its token must stop working on every instance, not only this one.
    await runnersChanged(ctx, [access.runner.id]);
  }
}

export async function listRunnerManagers(ctx: AppContext, actor: PolicyActor, id: number): Promise<RunnerManager[]> {
  const { runner } = await findReadableRunner(ctx, actor, id);
  return ctx.prisma.runnerManager.findMany({ where: { runner_id: runner.id }, orderBy: { id: 'asc' } });
}

/** GET /runners/:id/projects: the runner's projects the reader can see, newest first (ProjectsFinder's id DESC). */
export function runnerProjectsSource(ctx: AppContext, actor: PolicyActor, runner: Runner): PageSource<ProjectView> {
  const build = () => {
    const sql = new Sql();
    const visible = actor.admin
      ? 'TRUE'
      : `(p.visibility IN ('public', 'internal') OR p.id IN (${projectsWithAccessSql(sql, actor.id, AccessLevel.GUEST)}))`;
    return { sql, where: `rp.runner_id = ${sql.p(runner.id)} AND ${visible}` };
  };
  return {
    count: async (limit) => {
      const { sql, where } = build();
      const res = await ctx.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM runner_projects rp JOIN projects p ON p.id = rp.project_id WHERE ${where} LIMIT ${sql.p(limit)}) capped`,
        sql.params,
      );
      return res.rows[0]?.n ?? 0;
    },
    items: async (offset, limit) => {
      const { sql, where } = build();
      const res = await ctx.pool.query<{ id: number }>(
        `SELECT p.id FROM runner_projects rp JOIN projects p ON p.id = rp.project_id WHERE ${where} ORDER BY p.id DESC LIMIT ${sql.p(limit)} OFFSET ${sql.p(offset)}`,
        sql.params,
      );
      const ids = res.rows.map((r) => r.id);
      const projects = await ctx.prisma.project.findMany({ where: { id: { in: ids } }, include: { namespace: true } });
      const byId = new Map(projects.map((p) => [p.id, p]));
      return loadProjectViews(ctx, actor, ids.map((i) => byId.get(i)).filter((p): p is ProjectWithNamespace => !!p));
    },
  };
}

/**
 * POST /runners/:id/reset_authentication_token: a new token of the same
 * kind (glrt- for created runners), expiry recomputed; the old token stops
 * working at once because only the new digest is stored.
 */
export async function resetAuthenticationToken(ctx: AppContext, access: RunnerAccess): Promise<{ token: string; token_expires_at: string | null }> {
  const { runner, ownership } = access;
  const type = RUNNER_TYPE_NAMES[runner.runner_type]!;
  const issued = issueRunnerToken(ctx, type, runner.registration_type === REGISTRATION_TYPE.authenticated_user);
  const expiresAt = await computeTokenExpiry(ctx, type, {
    groupIds: ownership.groupId !== null ? [ownership.groupId] : [],
    projectIds: ownership.projectIds,
  });
  await ctx.prisma
    .$transaction(async (tx) => {
      await tx.runner.update({ where: { id: runner.id }, data: { token_digest: issued.digest, token_expires_at: expiresAt } });
      await recordRunnerAuditEvents(tx, [runner.id], { eventName: AUDIT_EVENTS.runnerAuthTokenReset, message: 'Reset CI runner authentication token' });
    }, INTERACTIVE_TX)
    .catch(goneRunner);
  // The old token must stop working on every instance.
  await runnersChanged(ctx, [runner.id]);
  return { token: issued.token, token_expires_at: expiresAt ? expiresAt.toISOString() : null };
}
