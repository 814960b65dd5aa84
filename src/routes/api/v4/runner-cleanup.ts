import type { FastifyInstance } from 'fastify';
import { requireActor } from '../../../plugins/auth.js';
import { parseInput } from '../../../schemas/common.js';
import { groupRunnerCleanupParams, runnerCleanupBody } from '../../../schemas/runner-cleanup.js';
import { requestParams } from '../../../schemas/runners.js';
import { authorize, findGroupFor } from '../../../services/namespaces/access-service.js';
import { authorizeInstanceCleanup, cleanupRunners } from '../../../services/runners/runner-cleanup-service.js';

// Stale-runner cleanup (extension, docs/fleet-management.md): POST
// /runners/cleanup for admins, POST /groups/:id/runners/cleanup for a group's
// Owners (the group's own runners). A dry run unless dry_run=false.

export default async function runnerCleanupRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post('/runners/cleanup', async (request) => {
    const actor = requireActor(request).user;
    authorizeInstanceCleanup(actor);
    const input = parseInput(runnerCleanupBody, requestParams(request));
    return cleanupRunners(ctx, { kind: 'instance' }, input);
  });

  app.post('/groups/:id/runners/cleanup', async (request) => {
    const actor = requireActor(request).user;
    const { id, ...input } = parseInput(groupRunnerCleanupParams, requestParams(request));
    const { subject: group, can } = await findGroupFor(ctx, actor, id);
    authorize(can, 'admin');
    return cleanupRunners(ctx, { kind: 'group', group }, input);
  });
}
