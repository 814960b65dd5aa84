import type { FastifyInstance } from 'fastify';
import { paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentOptions, presentRunnerItems } from '../../../presenters/runner.js';
import { parseInput } from '../../../schemas/common.js';
import { groupRunnerListQuery, namespacedIdParams } from '../../../schemas/runners.js';
import { findGroupForRunners, groupRunnersSource } from '../../../services/runners/runner-list-service.js';

// GET /groups/:id/runners (docs.gitlab.com/api/runners): the group's and its
// ancestors' runners plus instance runners; `scope` is not a parameter here.

export default async function groupRunnerRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  app.get('/groups/:id/runners', async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(namespacedIdParams, request.params);
    const { subject: group } = await findGroupForRunners(ctx, actor, id);
    const query = parseInput(groupRunnerListQuery, request.query);
    const source = groupRunnersSource(ctx, group, query);
    const runners = await paginate(request, reply, query, { ...query, id: (request.params as { id: string }).id }, source, { externalUrl });
    return presentRunnerItems(runners, presentOptions(request, externalUrl));
  });
}
