import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import * as res from '../../../schemas/responses.js';
import { groupRunnerCleanupPath, runnerCleanupParams } from '../../../schemas/runner-cleanup.js';
import { authorize, findGroupFor } from '../../../services/namespaces/access-service.js';
import { authorizeInstanceCleanup, cleanupRunners } from '../../../services/runners/runner-cleanup-service.js';

// Stale-runner cleanup (extension, docs/fleet-management.md): POST
// /runners/cleanup for admins, POST /groups/:id/runners/cleanup for a group's
// Owners (the group's own runners). A dry run unless dry_run=false.

const tags = ['runners'];
const description = 'Extension (docs/fleet-management.md): deletes the runners the filters match, at most `limit`; a dry run unless `dry_run=false`.';

export default async function runnerCleanupRoutes(app: FastifyInstance) {
  const { ctx } = app;

  defineRoute(
    app,
    {
      method: 'POST', path: '/runners/cleanup', summary: 'Delete stale runners (admins)', description, tags, auth: 'user',
      params: runnerCleanupParams,
      before: async (request) => authorizeInstanceCleanup(requireActor(request).user),
      responses: { 200: { description: 'What was (or would be) deleted', schema: res.runnerCleanupResult } },
    },
    async (input) => cleanupRunners(ctx, { kind: 'instance' }, input),
  );

  defineRoute(
    app,
    {
      method: 'POST', path: '/groups/:id/runners/cleanup', summary: "Delete a group's stale runners (Owners)", description, tags, auth: 'user',
      pathParams: groupRunnerCleanupPath, params: runnerCleanupParams,
      before: async (request, { id }) => {
        const { subject: group, can } = await findGroupFor(ctx, requireActor(request).user, id);
        authorize(can, 'admin');
        return group;
      },
      responses: { 200: { description: 'What was (or would be) deleted', schema: res.runnerCleanupResult } },
    },
    async ({ id: _id, ...input }, _request, _reply, group) => cleanupRunners(ctx, { kind: 'group', group }, input),
  );
}
