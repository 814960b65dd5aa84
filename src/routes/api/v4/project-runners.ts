import type { FastifyInstance } from 'fastify';
import { paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentOptions, presentRunnerItems } from '../../../presenters/runner.js';
import { parseInput } from '../../../schemas/common.js';
import { namespacedIdParams, requestParams, runnerIdOfProjectParams, runnerListQuery } from '../../../schemas/runners.js';
import { assignRunner, unassignRunner } from '../../../services/runners/project-runner-service.js';
import { findProjectForRunners, projectRunnersSource } from '../../../services/runners/runner-list-service.js';
import { presentRunnerList } from '../../../services/runners/runner-view-service.js';

// /projects/:id/runners (docs.gitlab.com/api/runners). As in GitLab, the
// project lookup (404) and `read_runners` (403) run before the parameters
// are validated, like Grape's `before` block.

export default async function projectRunnerRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  app.get('/projects/:id/runners', async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(namespacedIdParams, request.params);
    const { subject: project } = await findProjectForRunners(ctx, actor, id);
    const query = parseInput(runnerListQuery, request.query);
    const source = projectRunnersSource(ctx, project, query);
    const runners = await paginate(request, reply, query, { ...query, id: (request.params as { id: string }).id }, source, { externalUrl });
    return presentRunnerItems(runners, presentOptions(request, externalUrl));
  });

  app.post('/projects/:id/runners', async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(namespacedIdParams, request.params);
    const { subject: project, can } = await findProjectForRunners(ctx, actor, id);
    const { runner_id } = parseInput(runnerIdOfProjectParams, requestParams(request));
    const runner = await assignRunner(ctx, actor, project, can, runner_id);
    const [body] = await presentRunnerList(ctx, [runner], presentOptions(request, externalUrl));
    return reply.code(201).send(body);
  });

  app.delete('/projects/:id/runners/:runner_id', async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(namespacedIdParams, request.params);
    const { subject: project } = await findProjectForRunners(ctx, actor, id);
    const { runner_id } = parseInput(runnerIdOfProjectParams, requestParams(request));
    await unassignRunner(ctx, actor, project, runner_id, request.headers['if-unmodified-since']);
    return reply.code(204).send();
  });
}
