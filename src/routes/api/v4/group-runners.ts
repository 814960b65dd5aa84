import type { FastifyInstance } from 'fastify';
import { keysetPage, paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentOptions, presentRunnerItems } from '../../../presenters/runner.js';
import { parseInput } from '../../../schemas/common.js';
import { groupRunnerListQuery, namespacedIdParams } from '../../../schemas/runners.js';
import { findGroupForRunners, groupRunnersSource } from '../../../services/runners/runner-list-service.js';

// GET /groups/:id/runners (runners-api.md §4.13): the group's and its
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
    const linkParams = { ...query, id: (request.params as { id: string }).id };
    const runners =
      query.pagination === 'keyset'
        ? keysetPage(request, reply, linkParams, await source.keyset(query), query.per_page, { externalUrl, idOf: (r) => r.runner.id })
        : await paginate(request, reply, query, linkParams, source, { externalUrl });
    return presentRunnerItems(runners, presentOptions(request, externalUrl));
  });
}
