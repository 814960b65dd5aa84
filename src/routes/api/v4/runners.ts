import type { FastifyInstance } from 'fastify';
import { linkUrl, paginate } from '../../../lib/pagination.js';
import { requireActor, type Scope } from '../../../plugins/auth.js';
import { presentProjectView, presentRunnerDetails } from '../../../presenters/runner-details.js';
import { presentRunnerManager } from '../../../presenters/runner-manager.js';
import { presentOptions, presentRunnerItems } from '../../../presenters/runner.js';
import { atLeastOneOf, mutuallyExclusive, parseInput } from '../../../schemas/common.js';
import {
  requestParams,
  RUNNER_UPDATE_KEYS,
  runnerIdParams,
  runnerJobsParams,
  runnerListQuery,
  runnerProjectsParams,
  runnerShowParams,
  runnerUpdateParams,
} from '../../../schemas/runners.js';
import { readRunnerDetails } from '../../../services/runners/runner-details-service.js';
import { findRunnerForJobs, keysetRunnerJobs, presentRunnerJobs, runnerJobsSource } from '../../../services/runners/runner-jobs-service.js';
import { allRunnersSource, ownedRunnersSource } from '../../../services/runners/runner-list-service.js';
import {
  deleteRunner,
  findReadableRunner,
  findUpdatableRunner,
  listRunnerManagers,
  resetAuthenticationToken,
  runnerProjectsSource,
  updateRunner,
} from '../../../services/runners/runner-service.js';
import { executingManagerIds } from '../../../services/runners/runner-view-service.js';

// User-authenticated /runners routes (docs.gitlab.com/api/runners). The
// runner-token routes (POST/DELETE /runners, /runners/verify, …) live in
// runner-registration.ts. `manage_runner` tokens are accepted only on the
// /runners/:id… routes, as GitLab's scope condition.

const manageRunner = { scopes: ['manage_runner'] as Scope[] };

export default async function runnerRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  app.get('/runners', async (request, reply) => {
    const actor = requireActor(request).user;
    const query = parseInput(runnerListQuery, request.query);
    const source = ownedRunnersSource(ctx, actor, query);
    const runners = await paginate(request, reply, query, query, source, { externalUrl });
    return presentRunnerItems(runners, presentOptions(request, externalUrl));
  });

  app.get('/runners/all', async (request, reply) => {
    const actor = requireActor(request).user;
    const query = parseInput(runnerListQuery, request.query);
    const source = await allRunnersSource(ctx, actor, query);
    const runners = await paginate(request, reply, query, query, source, { externalUrl });
    return presentRunnerItems(runners, presentOptions(request, externalUrl));
  });

  app.get('/runners/:id', { config: manageRunner }, async (request) => {
    const actor = requireActor(request).user;
    const params = parseInput(runnerShowParams, requestParams(request));
    const { runner, extras } = await readRunnerDetails(ctx, actor, params.id, { includeProjects: params.include_projects });
    return presentRunnerDetails(runner, extras, presentOptions(request, externalUrl));
  });

  app.put('/runners/:id', { config: manageRunner }, async (request) => {
    const actor = requireActor(request).user;
    const raw = requestParams(request);
    const input = parseInput(runnerUpdateParams, raw);
    atLeastOneOf(raw, [...RUNNER_UPDATE_KEYS]);
    mutuallyExclusive(raw, ['active', 'paused']);
    const access = await findUpdatableRunner(ctx, actor, input.id);
    const written = await updateRunner(ctx, access.runner.id, input);
    const { runner, extras } = await readRunnerDetails(ctx, actor, input.id, { includeProjects: true, written });
    return presentRunnerDetails(runner, extras, presentOptions(request, externalUrl));
  });

  app.delete('/runners/:id', { config: manageRunner }, async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(runnerIdParams, requestParams(request));
    await deleteRunner(ctx, actor, id, request.headers['if-unmodified-since']);
    return reply.code(204).send();
  });

  app.get('/runners/:id/managers', { config: manageRunner }, async (request) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(runnerIdParams, requestParams(request));
    const managers = await listRunnerManagers(ctx, actor, id);
    const executing = await executingManagerIds(ctx, managers);
    const now = Date.now();
    return managers.map((m) => presentRunnerManager(m, executing.has(m.id), now));
  });

  app.get('/runners/:id/projects', { config: manageRunner }, async (request, reply) => {
    const actor = requireActor(request).user;
    const params = parseInput(runnerProjectsParams, requestParams(request));
    const { runner } = await findReadableRunner(ctx, actor, params.id);
    const views = await paginate(request, reply, params, params, runnerProjectsSource(ctx, actor, runner), { externalUrl });
    const opts = presentOptions(request, externalUrl);
    return views.map((v) => presentProjectView(v, opts.baseUrl));
  });

  app.get('/runners/:id/jobs', { config: manageRunner }, async (request, reply) => {
    const actor = requireActor(request).user;
    const params = parseInput(runnerJobsParams, requestParams(request));
    const { runner } = await findRunnerForJobs(ctx, actor, params.id);
    const opts = presentOptions(request, externalUrl);
    if (params.pagination === 'keyset') {
      const { jobs, nextCursor } = await keysetRunnerJobs(ctx, actor, runner.id, params);
      if (nextCursor) reply.header('link', `<${linkUrl(request, externalUrl, { ...params, cursor: nextCursor })}>; rel="next"`);
      return presentRunnerJobs(ctx, actor, jobs, opts);
    }
    const { source, skipCount } = runnerJobsSource(ctx, actor, runner.id, params);
    const jobs = await paginate(request, reply, params, params, source, { externalUrl, skipCount });
    return presentRunnerJobs(ctx, actor, jobs, opts);
  });

  app.post('/runners/:id/reset_authentication_token', { config: manageRunner }, async (request, reply) => {
    const actor = requireActor(request).user;
    const { id } = parseInput(runnerIdParams, requestParams(request));
    const access = await findUpdatableRunner(ctx, actor, id);
    return reply.code(201).send(await resetAuthenticationToken(ctx, access));
  });
}
