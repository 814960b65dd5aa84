import type { FastifyInstance } from 'fastify';
import { validationError } from '../../../lib/errors.js';
import { paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentProtectedBranch } from '../../../presenters/protected-branch.js';
import { parseInput } from '../../../schemas/common.js';
import { createProtectedBranchSchema, protectedBranchesQuery, protectedBranchParams } from '../../../schemas/pipelines.js';
import { authorize, findProjectFor } from '../../../services/namespaces/access-service.js';
import {
  countProtectedBranches,
  createProtectedBranch,
  deleteProtectedBranch,
  findProtectedBranch,
  listProtectedBranches,
} from '../../../services/pipelines/protected-branches-service.js';

// /projects/:id/protected_branches (Maintainer+). Which branches are
// protected decides `protected` on new pipelines and so which jobs a
// `ref_protected` runner may take.

export default async function protectedBranchRoutes(app: FastifyInstance) {
  const ctx = app.ctx;

  app.get('/projects/:id/protected_branches', async (request, reply) => {
    const actor = requireActor(request);
    const q = parseInput(protectedBranchesQuery, { ...(request.query as object), ...(request.params as object) });
    const { subject: project, can } = await findProjectFor(ctx, actor.user, q.id);
    authorize(can, 'admin_protected_branches');
    const rows = await paginate(request, reply, { page: q.page, per_page: q.per_page }, { search: q.search }, {
      count: (limit) => countProtectedBranches(ctx, project.id, limit, q.search),
      items: (offset, limit) => listProtectedBranches(ctx, project.id, offset, limit, q.search),
    }, { externalUrl: ctx.config.EXTERNAL_URL });
    return rows.map(presentProtectedBranch);
  });

  app.get('/projects/:id/protected_branches/:name', async (request) => {
    const actor = requireActor(request);
    const params = parseInput(protectedBranchParams, request.params);
    const { subject: project, can } = await findProjectFor(ctx, actor.user, params.id);
    authorize(can, 'admin_protected_branches');
    return presentProtectedBranch(await findProtectedBranch(ctx, project.id, params.name));
  });

  app.post('/projects/:id/protected_branches', async (request, reply) => {
    const actor = requireActor(request);
    const input = parseInput(createProtectedBranchSchema, { ...(request.body as object), ...(request.params as object) });
    const { subject: project, can } = await findProjectFor(ctx, actor.user, input.id);
    authorize(can, 'admin_protected_branches');
    if (input.name.trim() === '') throw validationError({ name: ["can't be blank"] });
    return reply.code(201).send(presentProtectedBranch(await createProtectedBranch(ctx, project.id, input.name)));
  });

  app.delete('/projects/:id/protected_branches/:name', async (request, reply) => {
    const actor = requireActor(request);
    const params = parseInput(protectedBranchParams, request.params);
    const { subject: project, can } = await findProjectFor(ctx, actor.user, params.id);
    authorize(can, 'admin_protected_branches');
    await deleteProtectedBranch(ctx, project.id, params.name);
    return reply.code(204).send();
  });
}
