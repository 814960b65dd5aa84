import type { FastifyInstance } from 'fastify';
import { runnerListPage, sendJsonText } from './runner-list-page.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { namespacedIdText } from '../../../schemas/common.js';
import { presentOptions, runnerItemsJson } from '../../../presenters/runner.js';
import * as res from '../../../schemas/responses.js';
import { groupRunnerListParams, namespacedIdPath } from '../../../schemas/runners.js';
import { findGroupForRunners, groupRunnersSource } from '../../../services/runners/runner-list-service.js';

// GET /groups/:id/runners (docs.gitlab.com/api/runners): the group's and its
// ancestors' runners plus instance runners; `scope` is not a parameter here.
// The group lookup (404/403) runs before the filters are validated, as
// GitLab's `before` block.

export default async function groupRunnerRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  defineRoute(
    app,
    {
      method: 'GET',
      path: '/groups/:id/runners',
      summary: "List a group's runners",
      tags: ['runners'],
      auth: 'user',
      pathParams: namespacedIdPath,
      params: groupRunnerListParams,
      paginated: true,
      before: async (request, { id }) => (await findGroupForRunners(ctx, requireActor(request).user, id)).subject,
      responses: { 200: { description: 'Runners', schema: res.runnerList } },
    },
    async (input, request, reply, group) => {
      const { id, ...query } = input;
      const source = groupRunnersSource(ctx, group, query);
      const linkParams = { ...query, id: namespacedIdText(id) };
      const runners = await runnerListPage(request, reply, query, linkParams, source, externalUrl);
      return sendJsonText(reply, runnerItemsJson(runners, presentOptions(request, externalUrl)));
    },
  );
}
