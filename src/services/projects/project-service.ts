import type { AppContext } from '../../context.js';
import type { Namespace, User } from '../../generated/prisma/client.js';
import { validationError } from '../../lib/errors.js';
import { newNamespaceRegistrationToken } from '../../lib/tokens.js';
import { AccessLevel } from '../../policies/access-levels.js';
import { groupAbilities, projectAbilities, type NamespaceAbility } from '../../policies/namespace-policy.js';
import type { MemberAccess, ProjectEntityView, ProjectWithNamespace } from '../../domain/project.js';
import type { CreateProjectInput, UpdateProjectInput } from '../../schemas/projects.js';
import { authorize, groupAccessLevel, loadGroupFacts, loadProjectFacts } from '../namespaces/access-service.js';
import { loadNamespaceNames } from '../groups/group-service.js';
import { addError, pathErrors, projectNameErrors, slugify, visibilityRank, type FieldErrors } from '../groups/naming.js';
import { jobsMayBeAvailable } from '../runner-cache/runner-cache.js';

// Projects (lib/api/projects.rb): create in a group or personal namespace,
// update the runner-related settings, and everything the project entity
// needs to be presented to a given caller.

/** Tokens are created with the project; one missing (older rows) is generated on first read, as GitLab does. */
export async function projectRunnersToken(ctx: AppContext, project: ProjectWithNamespace): Promise<string> {
  if (project.runners_token_encrypted) return ctx.secrets.decrypt(project.runners_token_encrypted);
  const token = newNamespaceRegistrationToken();
  await ctx.prisma.project.update({
    where: { id: project.id },
    data: { runners_token_encrypted: ctx.secrets.encrypt(token), runners_token_digest: ctx.secrets.digest(token) },
  });
  return token;
}

const NOTIFICATION_GLOBAL = 3;

/** ProjectWithAccess#permissions: the caller's direct project membership and highest group membership. */
async function memberAccess(ctx: AppContext, userId: number, project: ProjectWithNamespace) {
  const [direct, groupLevel] = await Promise.all([
    ctx.prisma.projectMember.findUnique({ where: { project_id_user_id: { project_id: project.id, user_id: userId } } }),
    project.namespace.kind === 'group' ? groupAccessLevel(ctx, userId, project.namespace) : Promise.resolve(0),
  ]);
  const access = (level: number): MemberAccess | null => (level > 0 ? { access_level: level, notification_level: NOTIFICATION_GLOBAL } : null);
  return { project_access: access(direct?.access_level ?? 0), group_access: access(groupLevel) };
}

export interface ProjectPresentation {
  names: Map<number, string>;
  view: ProjectEntityView;
}

/**
 * What the project entity shows this caller: `read_code` fields, the CI/CD
 * block with `runners_token` for those with `admin_project` (Maintainer+),
 * and, when asked, the caller's own `permissions`.
 */
export async function projectPresentation(
  ctx: AppContext,
  viewer: User | null,
  project: ProjectWithNamespace,
  can: Set<NamespaceAbility>,
  opts: { withPermissions?: boolean } = {},
): Promise<ProjectPresentation> {
  const [names, owner, runnersToken, permissions] = await Promise.all([
    loadNamespaceNames(ctx, [project.namespace]),
    project.namespace.kind === 'user' && project.namespace.owner_id !== null
      ? ctx.prisma.user.findUnique({ where: { id: project.namespace.owner_id } })
      : Promise.resolve(null),
    can.has('admin') && can.has('read_runners_registration_token') ? projectRunnersToken(ctx, project) : Promise.resolve(null),
    opts.withPermissions && viewer ? memberAccess(ctx, viewer.id, project) : Promise.resolve(undefined),
  ]);
  return {
    names,
    view: {
      readCode: project.visibility !== 'private' || can.has('read_code'),
      owner,
      ...(can.has('admin') ? { admin: { runnersToken } } : {}),
      ...(permissions ? { permissions } : {}),
    },
  };
}

/** The projects of a group that the caller can see, each with its presentation (GroupDetail#projects). */
export async function groupProjectsFor(ctx: AppContext, viewer: User | null, group: Namespace, limit = 100) {
  const projects = await ctx.prisma.project.findMany({ where: { namespace_id: group.id }, include: { namespace: true }, orderBy: { id: 'asc' } });
  const visible: { project: ProjectWithNamespace; presentation: ProjectPresentation }[] = [];
  for (const project of projects) {
    if (visible.length >= limit) break;
    const can = projectAbilities(viewer, await loadProjectFacts(ctx, viewer, project));
    if (!can.has('read')) continue;
    visible.push({ project, presentation: await projectPresentation(ctx, viewer, project, can) });
  }
  return visible;
}

/**
 * The namespace a new project goes to: `namespace_id` (a group where the
 * caller may create projects, or their own personal namespace; admins
 * anywhere), else the caller's personal namespace. GitLab answers anything
 * else with 400 {"message":{"namespace":["is not valid"]}}.
 */
async function targetNamespace(ctx: AppContext, actor: User, namespaceId: number | undefined): Promise<Namespace> {
  const ns =
    namespaceId === undefined
      ? await ctx.prisma.namespace.findUnique({ where: { owner_id: actor.id } })
      : await ctx.prisma.namespace.findUnique({ where: { id: namespaceId } });
  const allowed =
    ns !== null &&
    (ns.kind === 'user'
      ? ns.owner_id === actor.id || actor.admin
      : groupAbilities(actor, await loadGroupFacts(ctx, actor, ns)).has('create_project'));
  if (!ns || !allowed) throw validationError({ namespace: ['is not valid'] });
  return ns;
}

/** Project validations shared by create and update; `current` is the project being updated. */
async function projectErrors(
  ctx: AppContext,
  ns: Namespace,
  attrs: { name?: string; path?: string; visibility?: string; shared_runners_enabled?: boolean; default_branch?: string },
  current?: { id: number },
): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const notSelf = current ? { NOT: { id: current.id } } : {};
  if (attrs.name !== undefined) {
    for (const msg of projectNameErrors(attrs.name)) addError(errors, 'name', msg);
    if (!errors.name && (await ctx.prisma.project.findFirst({ where: { namespace_id: ns.id, name: attrs.name, ...notSelf }, select: { id: true } }))) {
      addError(errors, 'name', 'has already been taken');
    }
  }
  if (attrs.path !== undefined) {
    for (const msg of pathErrors(attrs.path, { topLevel: false })) addError(errors, 'path', msg);
    if (!errors.path) {
      const fullPath = `${ns.full_path}/${attrs.path}`;
      const [project, subgroup] = await Promise.all([
        ctx.prisma.project.findFirst({ where: { path_with_namespace: { equals: fullPath, mode: 'insensitive' }, ...notSelf }, select: { id: true } }),
        ctx.prisma.namespace.findFirst({ where: { full_path: { equals: fullPath, mode: 'insensitive' } }, select: { id: true } }),
      ]);
      if (project || subgroup) addError(errors, 'path', 'has already been taken');
    }
  }
  if (attrs.visibility !== undefined && ns.kind === 'group' && visibilityRank(attrs.visibility) > visibilityRank(ns.visibility)) {
    addError(errors, 'visibility_level', `${attrs.visibility} is not allowed in a ${ns.visibility} group.`);
  }
  if (attrs.shared_runners_enabled && ns.kind === 'group' && !ns.shared_runners_enabled && !ns.allow_descendants_override_disabled_shared_runners) {
    addError(errors, 'shared_runners_enabled', 'cannot be enabled because parent group does not allow it');
  }
  if (attrs.default_branch !== undefined && !isValidBranchName(attrs.default_branch)) addError(errors, 'default_branch', 'is invalid');
  return errors;
}

/** git check-ref-format, roughly: what a branch name may not contain. */
function isValidBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !/[\s~^:?*[\\\u0000-\u001f\u007f]|\.\.|@\{|\/\/|^[/.-]|[/.]$|\.lock$/.test(name)
  );
}

/**
 * POST /projects. In a group, a creator below Maintainer there becomes the
 * project's Maintainer; in a personal namespace its owner is listed as the
 * project's Owner. The default branch is protected, as GitLab protects it.
 */
export async function createProject(ctx: AppContext, actor: User, input: CreateProjectInput): Promise<ProjectWithNamespace> {
  const ns = await targetNamespace(ctx, actor, input.namespace_id);
  const name = input.name ?? input.path!;
  const path = input.path ?? slugify(input.name!);
  const visibility = input.visibility ?? 'private';
  const errors = await projectErrors(ctx, ns, { name, path, visibility, shared_runners_enabled: input.shared_runners_enabled, default_branch: input.default_branch });
  if (Object.keys(errors).length) throw validationError(errors);

  const sharedRunners = input.shared_runners_enabled ?? (ns.kind === 'group' ? ns.shared_runners_enabled : true);
  const creatorLevel = ns.kind === 'group' ? await groupAccessLevel(ctx, actor.id, ns) : 0;
  const token = newNamespaceRegistrationToken();
  return ctx.prisma.$transaction(async (tx) => {
    const project = await tx.project.create({
      data: {
        namespace_id: ns.id,
        name,
        path,
        path_with_namespace: `${ns.full_path}/${path}`,
        description: input.description ?? null,
        visibility,
        default_branch: input.default_branch ?? 'main',
        shared_runners_enabled: sharedRunners,
        group_runners_enabled: input.group_runners_enabled ?? true,
        creator_id: actor.id,
        runners_token_encrypted: ctx.secrets.encrypt(token),
        runners_token_digest: ctx.secrets.digest(token),
      },
      include: { namespace: true },
    });
    if (ns.kind === 'user' && ns.owner_id !== null) {
      await tx.projectMember.create({ data: { project_id: project.id, user_id: ns.owner_id, access_level: AccessLevel.OWNER } });
    } else if (creatorLevel < AccessLevel.MAINTAINER) {
      await tx.projectMember.create({ data: { project_id: project.id, user_id: actor.id, access_level: AccessLevel.MAINTAINER } });
    }
    await tx.protectedBranch.create({ data: { project_id: project.id, name: project.default_branch } });
    return project;
  });
}

/** PUT /projects/:id (Maintainer+). Invalid attributes → 400 {"message":{attr:[...]}}, nothing changes. */
export async function updateProject(
  ctx: AppContext,
  project: ProjectWithNamespace,
  can: Set<NamespaceAbility>,
  input: UpdateProjectInput,
): Promise<ProjectWithNamespace> {
  authorize(can, 'admin');
  const errors = await projectErrors(
    ctx,
    project.namespace,
    {
      name: input.name !== undefined && input.name !== project.name ? input.name : undefined,
      visibility: input.visibility,
      shared_runners_enabled: input.shared_runners_enabled,
      default_branch: input.default_branch,
    },
    project,
  );
  if (Object.keys(errors).length) throw validationError(errors);
  const updated = await ctx.prisma.project.update({
    where: { id: project.id },
    data: {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
      ...(input.default_branch !== undefined ? { default_branch: input.default_branch } : {}),
      ...(input.shared_runners_enabled !== undefined ? { shared_runners_enabled: input.shared_runners_enabled } : {}),
      ...(input.group_runners_enabled !== undefined ? { group_runners_enabled: input.group_runners_enabled } : {}),
    },
    include: { namespace: true },
  });
  // Runners that were told "no job" may now match this project's pending jobs.
  if (input.shared_runners_enabled !== undefined || input.group_runners_enabled !== undefined) await jobsMayBeAvailable(ctx);
  return updated;
}
