import type { FastifyInstance } from 'fastify';
import { declareParams, defineRoute } from '../../../lib/route-contract/index.js';
import { runnerListPage, sendJsonText } from './runner-list-page.js';
import { requireActor } from '../../../plugins/auth.js';
import { namespacedIdText } from '../../../schemas/common.js';
import { presentOptions, presentRunnerItems, runnerItemsJson } from '../../../presenters/runner.js';
import * as res from '../../../schemas/responses.js';
import { namespacedIdPath, runnerIdOfProjectShape, runnerListParams } from '../../../schemas/runners.js';
import { assignRunner, unassignRunner } from '../../../services/runners/project-runner-service.js';
import { findProjectForRunners, projectRunnersSource } from '../../../services/runners/runner-list-service.js';
import { runnerListItems } from '../../../services/runners/runner-view-service.js';

// /projects/:id/runners (docs.gitlab.com/api/runners). As in GitLab, the
// project lookup (404) and `read_runners` (403) run before the parameters
// are validated, like Grape's `before` block.

const tags = ['runners'];

export default async function projectRunnerRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;
  const findProject = async (request: Parameters<typeof requireActor>[0], id: Parameters<typeof findProjectForRunners>[2]) =>
    findProjectForRunners(ctx, requireActor(request).user, id);

  defineRoute(
    app,
    {
      method: 'GET', path: '/projects/:id/runners', summary: "List a project's runners", tags, auth: 'user',
      pathParams: namespacedIdPath, params: runnerListParams, paginated: true,
      before: (request, { id }) => findProject(request, id),
      responses: { 200: { description: 'Runners', schema: res.runnerList } },
    },
    async (input, request, reply, { subject: project }) => {
      const { id, ...query } = input;
      const source = projectRunnersSource(ctx, project, query);
      const linkParams = { ...query, id: namespacedIdText(id) };
      const runners = await runnerListPage(request, reply, query, linkParams, source, externalUrl);
      return sendJsonText(reply, runnerItemsJson(runners, presentOptions(request, externalUrl)));
    },
  );

  defineRoute(
    app,
    {
      method: 'POST', path: '/projects/:id/runners', summary: 'Assign a runner to a project', tags, auth: 'user',
      pathParams: namespacedIdPath, params: declareParams(runnerIdOfProjectShape),
      before: (request, { id }) => findProject(request, id),
      responses: { 201: { description: 'The assigned runner', schema: res.runner } },
    },
    async ({ runner_id }, request, reply, { subject: project, can }) => {
      const runner = await assignRunner(ctx, requireActor(request).user, project, can, runner_id);
      const [body] = presentRunnerItems(await runnerListItems(ctx, [runner]), presentOptions(request, externalUrl));
      return reply.code(201).send(body);
    },
  );

  defineRoute(
    app,
    {
      method: 'DELETE', path: '/projects/:id/runners/:runner_id', summary: 'Unassign a runner from a project', tags, auth: 'user',
      pathParams: { ...namespacedIdPath, ...runnerIdOfProjectShape },
      before: (request, { id }) => findProject(request, id),
      responses: { 204: { description: 'Unassigned' } },
    },
    async ({ runner_id }, request, reply, { subject: project }) => {
      await unassignRunner(ctx, requireActor(request).user, project, runner_id, request.headers['if-unmodified-since']);
      return reply.code(204).send();
    },
  );
}
