import type { AppContext } from '../../context.js';
import type { Namespace, Prisma, User } from '../../generated/prisma/client.js';
import { conflict, forbidden, notFound, validationError } from '../../lib/errors.js';
import type { PageSource } from '../../lib/pagination.js';
import { canGrantAccessLevel, type NamespaceAbility } from '../../policies/namespace-policy.js';
import type { MemberRow } from '../../domain/member.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import type { AddMemberInput, ListMembersQuery } from '../../schemas/members.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import type { NamespacedId } from '../../schemas/common.js';
import { authorize, findGroupFor, findProjectFor, groupAccessLevel, projectAccessLevel } from '../namespaces/access-service.js';

// Direct members of a group or project (lib/api/members.rb): list and add.
// Access inherited from ancestor groups is not listed here, as in GitLab's
// /members (its /members/all is not offered).

export type MemberSource = { kind: 'group'; group: Namespace } | { kind: 'project'; project: ProjectWithNamespace };

/** The group or project of a /members route, 404 when the caller cannot see it. */
export async function findMemberSource(
  ctx: AppContext,
  actor: PolicyActor,
  kind: MemberSource['kind'],
  id: NamespacedId,
): Promise<{ source: MemberSource; can: Set<NamespaceAbility> }> {
  if (kind === 'group') {
    const { subject, can } = await findGroupFor(ctx, actor, id);
    return { source: { kind, group: subject }, can };
  }
  const { subject, can } = await findProjectFor(ctx, actor, id);
  return { source: { kind, project: subject }, can };
}

const ROLE_NAMES: Record<number, string> = { 10: 'Guest', 15: 'Planner', 20: 'Reporter', 30: 'Developer', 40: 'Maintainer', 50: 'Owner' };

function userFilter(q: ListMembersQuery): Prisma.UserWhereInput | undefined {
  if (!q.query) return undefined;
  return { OR: [{ username: { contains: q.query, mode: 'insensitive' } }, { name: { contains: q.query, mode: 'insensitive' } }] };
}

/** GET /groups/:id/members and /projects/:id/members (`read_members`), oldest membership first. */
export function memberListSource(ctx: AppContext, source: MemberSource, can: Set<NamespaceAbility>, q: ListMembersQuery): PageSource<MemberRow> {
  authorize(can, 'read_members');
  const user = userFilter(q);
  const byUser = q.user_ids?.length ? { user_id: { in: q.user_ids } } : {};
  if (source.kind === 'group') {
    const where: Prisma.GroupMemberWhereInput = { group_id: source.group.id, ...byUser, ...(user ? { user } : {}) };
    return {
      count: (limit) => ctx.prisma.groupMember.count({ where, take: limit }),
      items: (offset, limit) => ctx.prisma.groupMember.findMany({ where, include: { user: true }, orderBy: { id: 'asc' }, skip: offset, take: limit }),
    };
  }
  const where: Prisma.ProjectMemberWhereInput = { project_id: source.project.id, ...byUser, ...(user ? { user } : {}) };
  return {
    count: (limit) => ctx.prisma.projectMember.count({ where, take: limit }),
    items: (offset, limit) => ctx.prisma.projectMember.findMany({ where, include: { user: true }, orderBy: { id: 'asc' }, skip: offset, take: limit }),
  };
}

/** The strongest membership the user already has through ancestor groups (Member#highest_group_member). */
async function inheritedMembership(ctx: AppContext, userId: number, source: MemberSource): Promise<{ level: number; groupName: string } | null> {
  const groupIds =
    source.kind === 'group'
      ? source.group.traversal_ids.filter((id) => id !== source.group.id)
      : source.project.namespace.kind === 'group'
        ? source.project.namespace.traversal_ids
        : [];
  if (groupIds.length === 0) return null;
  const best = await ctx.prisma.groupMember.findFirst({
    where: { user_id: userId, group_id: { in: groupIds } },
    orderBy: [{ access_level: 'desc' }, { id: 'asc' }],
    include: { group: { select: { name: true } } },
  });
  return best ? { level: best.access_level, groupName: best.group.name } : null;
}

async function findTargetUser(ctx: AppContext, input: AddMemberInput): Promise<User | null> {
  if (input.user_id !== undefined) return input.user_id > 0 ? ctx.prisma.user.findUnique({ where: { id: input.user_id } }) : null;
  return ctx.prisma.user.findFirst({ where: { username: { equals: input.username!, mode: 'insensitive' } } });
}

/**
 * POST .../members: needs `admin_members` (group Owner, project Maintainer+);
 * 409 when the user is already a direct member; Owner can only be granted by
 * an Owner; the level may not be below what the user inherits from an
 * ancestor group (400 as GitLab's model validation).
 */
export async function addMember(ctx: AppContext, actor: User, source: MemberSource, can: Set<NamespaceAbility>, input: AddMemberInput): Promise<MemberRow> {
  authorize(can, 'admin_members');
  const user = await findTargetUser(ctx, input);
  const sourceId = source.kind === 'group' ? source.group.id : source.project.id;
  if (user) {
    const existing =
      source.kind === 'group'
        ? await ctx.prisma.groupMember.findUnique({ where: { group_id_user_id: { group_id: sourceId, user_id: user.id } } })
        : await ctx.prisma.projectMember.findUnique({ where: { project_id_user_id: { project_id: sourceId, user_id: user.id } } });
    if (existing) throw conflict('Member already exists');
  }
  if (!user) throw notFound('User');

  const actorLevel = source.kind === 'group' ? await groupAccessLevel(ctx, actor.id, source.group) : await projectAccessLevel(ctx, actor.id, source.project);
  if (!canGrantAccessLevel(actor, actorLevel, input.access_level)) throw forbidden();

  const inherited = await inheritedMembership(ctx, user.id, source);
  if (inherited && inherited.level > input.access_level) {
    throw validationError({
      access_level: [`should be greater than or equal to ${ROLE_NAMES[inherited.level]} inherited membership from group ${inherited.groupName}`],
    });
  }
  const data = { user_id: user.id, access_level: input.access_level };
  return source.kind === 'group'
    ? ctx.prisma.groupMember.create({ data: { ...data, group_id: sourceId }, include: { user: true } })
    : ctx.prisma.projectMember.create({ data: { ...data, project_id: sourceId }, include: { user: true } });
}
