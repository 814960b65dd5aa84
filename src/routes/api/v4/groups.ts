import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Namespace, User } from '../../../generated/prisma/client.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import type { NamespaceAbility } from '../../../policies/namespace-policy.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentGroup, presentGroupDetail } from '../../../presenters/group.js';
import { presentProject } from '../../../presenters/project.js';
import { createGroupParams, groupIdPath, listGroupsParams, showGroupParams, updateGroupParams } from '../../../schemas/groups.js';
import * as res from '../../../schemas/responses.js';
import { createGroup, groupListSource, loadNamespaceNames, updateGroup, visibleGroupRunnersToken } from '../../../services/groups/group-service.js';
import { findGroupFor } from '../../../services/namespaces/access-service.js';
import { groupProjectsFor } from '../../../services/projects/project-service.js';

// /groups (lib/api/groups.rb): GETs are open to anonymous callers
// (`authenticate_non_get!`); `:id` is a numeric id or a URL-encoded full path.

const tags = ['groups'];

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

  defineRoute(
    app,
    { method: 'GET', path: '/groups', summary: 'List groups', tags, auth: 'user-optional', params: listGroupsParams, paginated: true, responses: { 200: { description: 'Groups', schema: res.group.array() } } },
    async (query, request, reply) => {
      const viewer = request.actor?.user ?? null;
      const groups = await paginate(request, reply, query, query, groupListSource(ctx, viewer, query), { externalUrl });
      const names = await loadNamespaceNames(ctx, groups);
      const base = baseUrl(request, externalUrl);
      return groups.map((g) => presentGroup(g, base, names));
    },
  );

  defineRoute(
    app,
    { method: 'POST', path: '/groups', summary: 'Create a group', tags, auth: 'user', params: createGroupParams, responses: { 201: { description: 'The group', schema: res.group } } },
    async (input, request, reply) => {
      const actor = requireActor(request).user;
      const group = await createGroup(ctx, actor, input);
      const { can } = await findGroupFor(ctx, actor, { id: group.id });
      reply.code(201);
      return detail(request, actor, group, can, false);
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/groups/:id', summary: 'A group', tags, auth: 'user-optional', pathParams: groupIdPath, params: showGroupParams, responses: { 200: { description: 'The group', schema: res.group } } },
    async (input, request) => {
      const viewer = request.actor?.user ?? null;
      const { subject: group, can } = await findGroupFor(ctx, viewer, input.id);
      return detail(request, viewer, group, can, input.with_projects ?? true);
    },
  );

  defineRoute(
    app,
    { method: 'PUT', path: '/groups/:id', summary: 'Update a group', tags, auth: 'user', pathParams: groupIdPath, params: updateGroupParams, responses: { 200: { description: 'The group', schema: res.group } } },
    async (input, request) => {
      const actor = requireActor(request).user;
      const { id, ...changes } = input;
      const found = await findGroupFor(ctx, actor, id);
      const group = await updateGroup(ctx, found.subject, found.can, changes);
      // Abilities may change with the update (e.g. registration tokens turned off).
      const { can } = await findGroupFor(ctx, actor, { id: group.id });
      return detail(request, actor, group, can, false);
    },
  );
}
