import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { User } from '../../../generated/prisma/client.js';
import { baseUrl } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import type { NamespaceAbility } from '../../../policies/namespace-policy.js';
import { requireActor } from '../../../plugins/auth.js';
import type { ProjectWithNamespace } from '../../../domain/project.js';
import { presentProject } from '../../../presenters/project.js';
import { createProjectParams, projectIdPath, updateProjectParams } from '../../../schemas/projects.js';
import * as res from '../../../schemas/responses.js';
import { findProjectFor } from '../../../services/namespaces/access-service.js';
import { createProject, projectPresentation, updateProject } from '../../../services/projects/project-service.js';

// /projects (lib/api/projects.rb), the subset needed to set up fixtures and
// runner settings: create, show, update. `:id` is a numeric id or a
// URL-encoded full path; GET is open to anonymous callers for public projects.

const tags = ['projects'];

export default async function projectsRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  async function present(request: FastifyRequest, viewer: User | null, project: ProjectWithNamespace, can: Set<NamespaceAbility>, withPermissions: boolean) {
    const { names, view } = await projectPresentation(ctx, viewer, project, can, { withPermissions });
    return presentProject(project, baseUrl(request, externalUrl), names, view);
  }

  defineRoute(
    app,
    { method: 'POST', path: '/projects', summary: 'Create a project', tags, auth: 'user', params: createProjectParams, responses: { 201: { description: 'The project', schema: res.project } } },
    async (input, request, reply) => {
      const actor = requireActor(request).user;
      const project = await createProject(ctx, actor, input);
      const { can } = await findProjectFor(ctx, actor, { id: project.id });
      reply.code(201);
      return present(request, actor, project, can, false);
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id', summary: 'A project', tags, auth: 'user-optional', pathParams: projectIdPath, responses: { 200: { description: 'The project', schema: res.project } } },
    async ({ id }, request) => {
      const viewer = request.actor?.user ?? null;
      const { subject: project, can } = await findProjectFor(ctx, viewer, id);
      // Entities::ProjectWithAccess for signed-in callers.
      return present(request, viewer, project, can, viewer !== null);
    },
  );

  defineRoute(
    app,
    { method: 'PUT', path: '/projects/:id', summary: 'Update a project', tags, auth: 'user', pathParams: projectIdPath, params: updateProjectParams, responses: { 200: { description: 'The project', schema: res.project } } },
    async (input, request) => {
      const actor = requireActor(request).user;
      const { id, ...changes } = input;
      const found = await findProjectFor(ctx, actor, id);
      const project = await updateProject(ctx, found.subject, found.can, changes);
      return present(request, actor, project, found.can, false);
    },
  );
}
