import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Namespace, User } from '../../../generated/prisma/client.js';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import type { NamespaceAbility } from '../../../policies/namespace-policy.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentGroup, presentGroupDetail } from '../../../presenters/group.js';
import { presentProject } from '../../../presenters/project.js';
import { parseInput } from '../../../schemas/common.js';
import { createGroupBody, groupIdParams, listGroupsQuery, showGroupQuery, updateGroupBody } from '../../../schemas/groups.js';
import { createGroup, groupListSource, loadNamespaceNames, updateGroup, visibleGroupRunnersToken } from '../../../services/groups/group-service.js';
import { findGroupFor } from '../../../services/namespaces/access-service.js';
import { groupProjectsFor } from '../../../services/projects/project-service.js';

// /groups (lib/api/groups.rb): GETs are open to anonymous callers
// (`authenticate_non_get!`); `:id` is a numeric id or a URL-encoded full path.

export default async function groupsRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  /** Entities::GroupDetail for this caller; `withProjects` adds the group's visible projects. */
  async function detail(request: FastifyRequest, viewer: User | null, group: Namespace, can: Set<NamespaceAbility>, withProjects: boolean) {
    const base = baseUrl(request, externalUrl);
    const [names, runnersToken, projects] = await Promise.all([
      loadNamespaceNames(ctx, [group]),
      visibleGroupRunnersToken(ctx, group, can),
      withProjects ? groupProjectsFor(ctx, viewer, group) : Promise.resolve(undefined),
    ]);
    const presented = projects?.map(({ project, presentation }) => presentProject(project, base, presentation.names, presentation.view));
    return presentGroupDetail(group, base, names, { runnersToken, projects: presented });
  }

  app.get('/groups', { config: { auth: 'optional' } }, async (request, reply) => {
    const viewer = request.actor?.user ?? null;
    const query = parseInput(listGroupsQuery, request.query);
    const groups = await paginate(request, reply, query, query, groupListSource(ctx, viewer, query), { externalUrl });
    const names = await loadNamespaceNames(ctx, groups);
    const base = baseUrl(request, externalUrl);
    return groups.map((g) => presentGroup(g, base, names));
  });

  app.post('/groups', async (request, reply) => {
    const actor = requireActor(request).user;
    const input = parseInput(createGroupBody, request.body);
    const group = await createGroup(ctx, actor, input);
    const { can } = await findGroupFor(ctx, actor, { id: group.id });
    reply.code(201);
    return detail(request, actor, group, can, false);
  });

  app.get('/groups/:id', { config: { auth: 'optional' } }, async (request) => {
    const viewer = request.actor?.user ?? null;
    const { id } = parseInput(groupIdParams, request.params);
    const query = parseInput(showGroupQuery, request.query);
    const { subject: group, can } = await findGroupFor(ctx, viewer, id);
    return detail(request, viewer, group, can, query.with_projects ?? true);
  });

  app.put('/groups/:id', async (request) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(groupIdParams, request.params);
    const input = parseInput(updateGroupBody, request.body);
    const found = await findGroupFor(ctx, actor, id);
    const group = await updateGroup(ctx, found.subject, found.can, input);
    // Abilities may change with the update (e.g. registration tokens turned off).
    const { can } = await findGroupFor(ctx, actor, { id: group.id });
    return detail(request, actor, group, can, false);
  });
}
