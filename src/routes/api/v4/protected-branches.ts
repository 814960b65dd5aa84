import type { FastifyInstance } from 'fastify';
import { validationError } from '../../../lib/errors.js';
import { paginate } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentProtectedBranch } from '../../../presenters/protected-branch.js';
import { createProtectedBranchParams, projectIdPath, protectedBranchesParams, protectedBranchPath } from '../../../schemas/pipelines.js';
import * as res from '../../../schemas/responses.js';
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

const tags = ['protected branches'];

export default async function protectedBranchRoutes(app: FastifyInstance) {
  const ctx = app.ctx;

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/protected_branches', summary: "List a project's protected branches", tags, auth: 'user', pathParams: projectIdPath, params: protectedBranchesParams, paginated: true, responses: { 200: { description: 'Protected branches', schema: res.protectedBranch.array() } } },
    async (q, request, reply) => {
      const { subject: project, can } = await findProjectFor(ctx, requireActor(request).user, q.id);
      authorize(can, 'admin_protected_branches');
      const rows = await paginate(request, reply, { page: q.page, per_page: q.per_page }, { search: q.search }, {
        count: (limit) => countProtectedBranches(ctx, project.id, limit, q.search),
        items: (offset, limit) => listProtectedBranches(ctx, project.id, offset, limit, q.search),
      }, { externalUrl: ctx.config.EXTERNAL_URL });
      return rows.map(presentProtectedBranch);
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/protected_branches/:name', summary: 'A protected branch', tags, auth: 'user', pathParams: protectedBranchPath, responses: { 200: { description: 'The protected branch', schema: res.protectedBranch } } },
    async (params, request) => {
      const { subject: project, can } = await findProjectFor(ctx, requireActor(request).user, params.id);
      authorize(can, 'admin_protected_branches');
      return presentProtectedBranch(await findProtectedBranch(ctx, project.id, params.name));
    },
  );

  defineRoute(
    app,
    { method: 'POST', path: '/projects/:id/protected_branches', summary: 'Protect a branch', tags, auth: 'user', pathParams: projectIdPath, params: createProtectedBranchParams, responses: { 201: { description: 'The protected branch', schema: res.protectedBranch } } },
    async (input, request, reply) => {
      const { subject: project, can } = await findProjectFor(ctx, requireActor(request).user, input.id);
      authorize(can, 'admin_protected_branches');
      if (input.name.trim() === '') throw validationError({ name: ["can't be blank"] });
      return reply.code(201).send(presentProtectedBranch(await createProtectedBranch(ctx, project.id, input.name)));
    },
  );

  defineRoute(
    app,
    { method: 'DELETE', path: '/projects/:id/protected_branches/:name', summary: 'Unprotect a branch', tags, auth: 'user', pathParams: protectedBranchPath, responses: { 204: { description: 'Unprotected' } } },
    async (params, request, reply) => {
      const { subject: project, can } = await findProjectFor(ctx, requireActor(request).user, params.id);
      authorize(can, 'admin_protected_branches');
      await deleteProtectedBranch(ctx, project.id, params.name);
      return reply.code(204).send();
    },
  );
}
