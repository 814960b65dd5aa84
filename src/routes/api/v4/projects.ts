import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { User } from '../../../generated/prisma/client.js';
import { baseUrl } from '../../../lib/pagination.js';
import type { NamespaceAbility } from '../../../policies/namespace-policy.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentProject, type ProjectWithNamespace } from '../../../presenters/project.js';
import { parseInput } from '../../../schemas/common.js';
import { parseCreateProject, parseUpdateProject, projectIdParams } from '../../../schemas/projects.js';
import { findProjectFor } from '../../../services/namespaces/access-service.js';
import { createProject, projectPresentation, updateProject } from '../../../services/projects/project-service.js';

// /projects (lib/api/projects.rb), the subset needed to set up fixtures and
// runner settings: create, show, update. `:id` is a numeric id or a
// URL-encoded full path; GET is open to anonymous callers for public projects.

export default async function projectsRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  async function present(request: FastifyRequest, viewer: User | null, project: ProjectWithNamespace, can: Set<NamespaceAbility>, withPermissions: boolean) {
    const { names, view } = await projectPresentation(ctx, viewer, project, can, { withPermissions });
    return presentProject(project, baseUrl(request, externalUrl), names, view);
  }

  app.post('/projects', async (request, reply) => {
    const actor = requireActor(request).user;
    const input = parseCreateProject(request.body);
    const project = await createProject(ctx, actor, input);
    const { can } = await findProjectFor(ctx, actor, { id: project.id });
    reply.code(201);
    return present(request, actor, project, can, false);
  });

  app.get('/projects/:id', { config: { auth: 'optional' } }, async (request) => {
    const viewer = request.actor?.user ?? null;
    const { id } = parseInput(projectIdParams, request.params);
    const { subject: project, can } = await findProjectFor(ctx, viewer, id);
    // Entities::ProjectWithAccess for signed-in callers.
    return present(request, viewer, project, can, viewer !== null);
  });

  app.put('/projects/:id', async (request) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(projectIdParams, request.params);
    const input = parseUpdateProject(request.body);
    const found = await findProjectFor(ctx, actor, id);
    const project = await updateProject(ctx, found.subject, found.can, input);
    return present(request, actor, project, found.can, false);
  });
}
