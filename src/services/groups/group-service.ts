import type { AppContext } from '../../context.js';
import { INTERACTIVE_TX } from '../../db/client.js';
import type { Namespace, User } from '../../generated/prisma/client.js';
import { apiError, validationError } from '../../lib/errors.js';
import type { PageSource } from '../../lib/pagination.js';
import { newNamespaceRegistrationToken } from '../../lib/tokens.js';
import { AccessLevel } from '../../policies/access-levels.js';
import type { NamespaceAbility } from '../../policies/namespace-policy.js';
import type { CreateGroupInput, ListGroupsQuery, UpdateGroupInput } from '../../schemas/groups.js';
import { authorize, findGroupFor } from '../namespaces/access-service.js';
import { addError, groupNameErrors, pathErrors, rubyInspectErrors, slugify, visibilityRank, type FieldErrors } from './naming.js';
import { jobsMayBeAvailable } from '../runner-cache/runner-cache.js';
import { groupEntity, recordSettingChanges } from '../audit/audit-service.js';

// Groups (lib/api/groups.rb): list, create (the creator becomes Owner),
// update (name, description, visibility, shared runners and the runner
// registration switches), and the registration token a group shows to those
// who may read it.

/** Names of every ancestor of the given namespaces, for `full_name` and `name_with_namespace`. */
export async function loadNamespaceNames(ctx: AppContext, namespaces: Pick<Namespace, 'id' | 'name' | 'traversal_ids'>[]): Promise<Map<number, string>> {
  const names = new Map(namespaces.map((n) => [n.id, n.name]));
  const missing = [...new Set(namespaces.flatMap((n) => n.traversal_ids))].filter((id) => !names.has(id));
  if (missing.length) {
    const rows = await ctx.prisma.namespace.findMany({ where: { id: { in: missing } }, select: { id: true, name: true } });
    for (const r of rows) names.set(r.id, r.name);
  }
  return names;
}

/** Tokens are created with the group; one missing (older rows) is generated on first read, as GitLab does. */
export async function groupRunnersToken(ctx: AppContext, group: Namespace): Promise<string> {
  if (group.runners_token_encrypted) return ctx.secrets.decrypt(group.runners_token_encrypted);
  const token = newNamespaceRegistrationToken();
  await ctx.prisma.namespace.update({
    where: { id: group.id },
    data: { runners_token_encrypted: ctx.secrets.encrypt(token), runners_token_digest: ctx.secrets.digest(token) },
  });
  return token;
}

/**
 * `runners_token` of GroupDetail: the key exists only for those who may
 * administer the group; its value is null while registration tokens are
 * disallowed (instance or root group setting).
 */
export async function visibleGroupRunnersToken(ctx: AppContext, group: Namespace, can: Set<NamespaceAbility>): Promise<string | null | undefined> {
  if (!can.has('admin')) return undefined;
  return can.has('read_runners_registration_token') ? groupRunnersToken(ctx, group) : null;
}

const ORDER_COLUMNS = { name: 'n.name', path: 'n.path', id: 'n.id', similarity: 'n.name' } as const;

/**
 * GET /groups (GroupsFinder). Without `all_available`, a signed-in user sees
 * the groups they are a member of (directly or through an ancestor); admins
 * and `all_available=true` see every group visible to them; anonymous
 * callers see public groups.
 */
export function groupListSource(ctx: AppContext, viewer: User | null, q: ListGroupsQuery): PageSource<Namespace> {
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  const where: string[] = [`n.kind = 'group'`];
  // Only referenced parameters may be sent: PostgreSQL cannot type an unused one.
  let uidParam: string | undefined;
  const uid = (viewer: User) => (uidParam ??= arg(viewer.id));
  const memberLevel = (u: string) =>
    `(SELECT max(gm.access_level) FROM group_members gm WHERE gm.user_id = ${u} AND gm.group_id = ANY(n.traversal_ids))`;
  if (!viewer) {
    where.push(`n.visibility = 'public'`);
  } else {
    const allAvailable = q.all_available ?? viewer.admin;
    if (q.owned) {
      where.push(`EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = ${uid(viewer)} AND gm.group_id = n.id AND gm.access_level = ${AccessLevel.OWNER})`);
    } else if (q.min_access_level !== undefined) {
      where.push(`COALESCE(${memberLevel(uid(viewer))}, 0) >= ${arg(q.min_access_level)}`);
    } else if (allAvailable) {
      if (!viewer.admin) where.push(`(n.visibility IN ('public', 'internal') OR ${memberLevel(uid(viewer))} IS NOT NULL)`);
    } else {
      where.push(`${memberLevel(uid(viewer))} IS NOT NULL`);
    }
  }
  if (q.search) {
    const like = arg(`%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(n.name ILIKE ${like} OR n.path ILIKE ${like})`);
  }
  if (q.skip_groups?.length) where.push(`NOT (n.id = ANY(${arg(q.skip_groups)}::int[]))`);
  if (q.top_level_only) where.push('n.parent_id IS NULL');
  const clause = `WHERE ${where.join(' AND ')}`;
  const column = ORDER_COLUMNS[q.order_by ?? 'name'];
  const direction = q.sort === 'desc' ? 'DESC' : 'ASC';
  // GitLab adds `id ASC` as the tie-breaker unless ordering by id already.
  const order = column === 'n.id' ? `n.id ${direction}` : `${column} ${direction}, n.id ASC`;
  return {
    count: async (limit) => {
      const r = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM namespaces n ${clause} LIMIT ${limit}) t`, args);
      return Number(r.rows[0]!.n);
    },
    items: async (offset, limit) => {
      const r = await ctx.pool.query<Namespace>(`SELECT n.* FROM namespaces n ${clause} ORDER BY ${order} OFFSET ${offset} LIMIT ${limit}`, args);
      return r.rows;
    },
  };
}

/** Is `path` free under `parent` (groups, user namespaces and, inside a group, projects)? */
async function pathTaken(ctx: AppContext, fullPath: string, exceptId?: number): Promise<boolean> {
  const [ns, project] = await Promise.all([
    ctx.prisma.namespace.findFirst({ where: { full_path: { equals: fullPath, mode: 'insensitive' }, ...(exceptId ? { NOT: { id: exceptId } } : {}) }, select: { id: true } }),
    ctx.prisma.project.findFirst({ where: { path_with_namespace: { equals: fullPath, mode: 'insensitive' } }, select: { id: true } }),
  ]);
  return ns !== null || project !== null;
}

/**
 * POST /groups. A top-level group may be created by any user; a subgroup
 * needs `create_subgroup` on a parent the caller can see (404 otherwise).
 * It inherits the parent's shared-runner setting, and the creator becomes
 * its Owner.
 */
export async function createGroup(ctx: AppContext, actor: User, input: CreateGroupInput): Promise<Namespace> {
  let parent: Namespace | null = null;
  if (input.parent_id !== undefined) {
    const found = await findGroupFor(ctx, actor, { id: input.parent_id });
    authorize(found.can, 'create_subgroup');
    parent = found.subject;
  }
  const path = input.path ?? slugify(input.name);
  const visibility = input.visibility ?? 'private';
  const errors: FieldErrors = {};
  for (const msg of groupNameErrors(input.name)) addError(errors, 'name', msg);
  for (const msg of pathErrors(path, { topLevel: parent === null })) addError(errors, 'path', msg);
  const fullPath = parent ? `${parent.full_path}/${path}` : path;
  if (!errors.path && (await pathTaken(ctx, fullPath))) addError(errors, 'path', 'has already been taken');
  if (parent && visibilityRank(visibility) > visibilityRank(parent.visibility)) {
    addError(errors, 'visibility_level', `${visibility} is not allowed since the parent group has a ${parent.visibility} visibility.`);
  }
  if (Object.keys(errors).length) throw apiError(400, `Failed to save group ${rubyInspectErrors(errors)}`);

  const token = newNamespaceRegistrationToken();
  return ctx.prisma.$transaction(async (tx) => {
    const created = await tx.namespace.create({
      data: {
        kind: 'group',
        name: input.name,
        path,
        full_path: fullPath,
        description: input.description ?? '',
        parent_id: parent?.id ?? null,
        visibility,
        shared_runners_enabled: parent?.shared_runners_enabled ?? true,
        allow_descendants_override_disabled_shared_runners: parent?.allow_descendants_override_disabled_shared_runners ?? false,
        runners_token_encrypted: ctx.secrets.encrypt(token),
        runners_token_digest: ctx.secrets.digest(token),
      },
    });
    const group = await tx.namespace.update({
      where: { id: created.id },
      data: { traversal_ids: [...(parent?.traversal_ids ?? []), created.id] },
    });
    await tx.groupMember.create({ data: { group_id: group.id, user_id: actor.id, access_level: AccessLevel.OWNER } });
    return group;
  }, INTERACTIVE_TX);
}

type Tx = Parameters<Parameters<AppContext['prisma']['$transaction']>[0]>[0];

/**
 * Groups::UpdateSharedRunnersService: `enabled` and `disabled_and_unoverridable`
 * cascade to every descendant group and project; `disabled_and_overridable`
 * disables them only when the group was enabled, and lets descendants opt in.
 */
async function applySharedRunnersSetting(tx: Tx, group: Namespace, setting: string): Promise<void> {
  const descendants = { kind: 'group', traversal_ids: { has: group.id }, NOT: { id: group.id } };
  const projectsBelow = { namespace: { traversal_ids: { has: group.id } } };
  if (setting === 'enabled' || setting === 'disabled_and_unoverridable') {
    const enabled = setting === 'enabled';
    const data = { shared_runners_enabled: enabled, allow_descendants_override_disabled_shared_runners: false };
    await tx.namespace.update({ where: { id: group.id }, data });
    await tx.namespace.updateMany({ where: descendants, data });
    await tx.project.updateMany({ where: projectsBelow, data: { shared_runners_enabled: enabled } });
    return;
  }
  if (group.shared_runners_enabled) {
    const data = { shared_runners_enabled: false, allow_descendants_override_disabled_shared_runners: true };
    await tx.namespace.update({ where: { id: group.id }, data });
    await tx.namespace.updateMany({ where: descendants, data });
    await tx.project.updateMany({ where: projectsBelow, data: { shared_runners_enabled: false } });
  } else {
    await tx.namespace.update({ where: { id: group.id }, data: { allow_descendants_override_disabled_shared_runners: true } });
  }
}

/** Namespace validations on a shared-runner change, in GitLab's words. */
async function sharedRunnersErrors(ctx: AppContext, group: Namespace, setting: string): Promise<string | undefined> {
  if (!group.parent_id) return undefined;
  const parent = await ctx.prisma.namespace.findUnique({ where: { id: group.parent_id } });
  if (!parent) return undefined;
  const parentUnoverridable = !parent.shared_runners_enabled && !parent.allow_descendants_override_disabled_shared_runners;
  if (setting === 'enabled' && parentUnoverridable) {
    return 'Validation failed: Shared runners enabled cannot be enabled because parent group has shared Runners disabled';
  }
  if (setting === 'disabled_and_overridable' && parentUnoverridable) {
    return 'Validation failed: Allow descendants override disabled shared runners cannot be enabled because parent group does not allow it';
  }
  return undefined;
}

/** Visibility limits from the parent above and from subgroups and projects below. */
async function visibilityErrors(ctx: AppContext, group: Namespace, visibility: string): Promise<string[]> {
  const messages: string[] = [];
  const rank = visibilityRank(visibility);
  if (group.parent_id) {
    const parent = await ctx.prisma.namespace.findUnique({ where: { id: group.parent_id }, select: { visibility: true } });
    if (parent && rank > visibilityRank(parent.visibility)) {
      messages.push(`${visibility} is not allowed since the parent group has a ${parent.visibility} visibility.`);
    }
  }
  const higher = ['private', 'internal', 'public'].filter((v) => visibilityRank(v) > rank);
  if (higher.length) {
    const [subgroup, project] = await Promise.all([
      ctx.prisma.namespace.findFirst({ where: { kind: 'group', traversal_ids: { has: group.id }, NOT: { id: group.id }, visibility: { in: higher } }, select: { id: true } }),
      ctx.prisma.project.findFirst({ where: { namespace: { traversal_ids: { has: group.id } }, visibility: { in: higher } }, select: { id: true } }),
    ]);
    if (subgroup) messages.push(`${visibility} is not allowed since there are sub-groups with higher visibility.`);
    if (project) messages.push(`${visibility} is not allowed since this group contains projects with higher visibility.`);
  }
  return messages;
}

/**
 * PUT /groups/:id (Owner). Invalid attributes → 400 {"message":{attr:[...]}}
 * and nothing changes; the valid update runs in one transaction.
 */
export async function updateGroup(ctx: AppContext, group: Namespace, can: Set<NamespaceAbility>, input: UpdateGroupInput): Promise<Namespace> {
  authorize(can, 'admin');
  const setting = input.shared_runners_setting === 'disabled_with_override' ? 'disabled_and_overridable' : input.shared_runners_setting;
  const errors: FieldErrors = {};
  if (input.name !== undefined) for (const msg of groupNameErrors(input.name)) addError(errors, 'name', msg);
  if (input.visibility !== undefined && input.visibility !== group.visibility) {
    for (const msg of await visibilityErrors(ctx, group, input.visibility)) addError(errors, 'visibility_level', msg);
  }
  if (input.allow_runner_registration_token !== undefined && group.parent_id !== null) {
    addError(errors, 'allow_runner_registration_token', 'can only be changed on a top-level group');
  }
  if (setting !== undefined) {
    const msg = await sharedRunnersErrors(ctx, group, setting);
    if (msg) addError(errors, 'update_shared_runners', msg);
  }
  if (Object.keys(errors).length) throw validationError(errors);

  // The runner-related settings, audited when they change.
  const runnerSettings = {
    ...(input.allow_runner_registration_token !== undefined ? { allow_runner_registration_token: input.allow_runner_registration_token } : {}),
    ...(input.runner_registration_enabled !== undefined ? { runner_registration_enabled: input.runner_registration_enabled } : {}),
    ...(input.allow_stale_runner_pruning !== undefined ? { allow_stale_runner_pruning: input.allow_stale_runner_pruning } : {}),
  };
  const updated = await ctx.prisma.$transaction(async (tx) => {
    if (setting !== undefined) await applySharedRunnersSetting(tx, group, setting);
    const row = await tx.namespace.update({
      where: { id: group.id },
      data: {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
        ...runnerSettings,
      },
    });
    const sharedBefore = group.shared_runners_enabled ? 'enabled' : group.allow_descendants_override_disabled_shared_runners ? 'disabled_and_overridable' : 'disabled_and_unoverridable';
    const before: Record<string, unknown> = { ...group, shared_runners_setting: sharedBefore };
    const changed: Record<string, unknown> = setting !== undefined ? { ...runnerSettings, shared_runners_setting: setting } : runnerSettings;
    await recordSettingChanges(tx, before, changed, groupEntity(group));
    return row;
  }, INTERACTIVE_TX);
  // Projects below may have changed shared_runners_enabled: runners told "no job" must look again.
  if (setting !== undefined) await jobsMayBeAvailable(ctx);
  return updated;
}
