import type { FastifyInstance } from 'fastify';
import { runnerListPage, sendJsonText } from './runner-list-page.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { keysetPage, paginate } from '../../../lib/pagination.js';
import { requireActor, type Scope } from '../../../plugins/auth.js';
import type { JobRow } from '../../../domain/job.js';
import { presentJobBasicWithProject } from '../../../presenters/job.js';
import { presentProjectView, presentRunnerDetails } from '../../../presenters/runner-details.js';
import { presentRunnerManager } from '../../../presenters/runner-manager.js';
import { presentOptions, runnerItemsJson } from '../../../presenters/runner.js';
import * as res from '../../../schemas/responses.js';
import { runnerIdPath, runnerJobsParams, runnerListParams, runnerProjectsParams, runnerShowParams, runnerUpdateParams } from '../../../schemas/runners.js';
import { readRunnerDetails } from '../../../services/runners/runner-details-service.js';
import { findRunnerForJobs, keysetRunnerJobs, loadRunnerJobRelations, runnerJobsSource } from '../../../services/runners/runner-jobs-service.js';
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

const manageRunner: Scope[] = ['manage_runner'];
const tags = ['runners'];

export default async function runnerRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  defineRoute(
    app,
    { method: 'GET', path: '/runners', summary: "List the caller's runners", tags, auth: 'user', params: runnerListParams, paginated: true, responses: { 200: { description: 'Runners', schema: res.runnerList } } },
    async (query, request, reply) => {
      const actor = requireActor(request).user;
      const source = ownedRunnersSource(ctx, actor, query);
      const runners = await runnerListPage(request, reply, query, query, source, externalUrl);
      return sendJsonText(reply, runnerItemsJson(runners, presentOptions(request, externalUrl)));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/runners/all', summary: 'List all runners (admins)', tags, auth: 'user', params: runnerListParams, paginated: true, responses: { 200: { description: 'Runners', schema: res.runnerList } } },
    async (query, request, reply) => {
      const actor = requireActor(request).user;
      const source = await allRunnersSource(ctx, actor, query);
      const runners = await runnerListPage(request, reply, query, query, source, externalUrl);
      return sendJsonText(reply, runnerItemsJson(runners, presentOptions(request, externalUrl)));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/runners/:id', summary: "A runner's details", tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, params: runnerShowParams, responses: { 200: { description: 'The runner', schema: res.runnerDetails } } },
    async (input, request) => {
      const actor = requireActor(request).user;
      const { runner, extras } = await readRunnerDetails(ctx, actor, input.id, { includeProjects: input.include_projects });
      return presentRunnerDetails(runner, extras, presentOptions(request, externalUrl));
    },
  );

  defineRoute(
    app,
    { method: 'PUT', path: '/runners/:id', summary: "Update a runner's details", tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, params: runnerUpdateParams, responses: { 200: { description: 'The updated runner', schema: res.runnerDetails } } },
    async (input, request) => {
      const actor = requireActor(request).user;
      const access = await findUpdatableRunner(ctx, actor, input.id);
      const written = await updateRunner(ctx, access.runner.id, input);
      const { runner, extras } = await readRunnerDetails(ctx, actor, input.id, { includeProjects: true, written });
      return presentRunnerDetails(runner, extras, presentOptions(request, externalUrl));
    },
  );

  defineRoute(
    app,
    { method: 'DELETE', path: '/runners/:id', summary: 'Delete a runner', tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, responses: { 204: { description: 'Deleted' } } },
    async ({ id }, request, reply) => {
      const actor = requireActor(request).user;
      await deleteRunner(ctx, actor, id, request.headers['if-unmodified-since']);
      return reply.code(204).send();
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/runners/:id/managers', summary: "A runner's managers", tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, responses: { 200: { description: 'Runner managers', schema: res.runnerManager.array() } } },
    async ({ id }, request) => {
      const actor = requireActor(request).user;
      const managers = await listRunnerManagers(ctx, actor, id);
      const executing = await executingManagerIds(ctx, managers);
      const now = Date.now();
      return managers.map((m) => presentRunnerManager(m, executing.has(m.id), now));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/runners/:id/projects', summary: 'Projects a runner is assigned to', tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, params: runnerProjectsParams, paginated: true, responses: { 200: { description: 'Projects', schema: res.runnerProject.array() } } },
    async (input, request, reply) => {
      const actor = requireActor(request).user;
      const { runner } = await findReadableRunner(ctx, actor, input.id);
      const views = await paginate(request, reply, input, input, runnerProjectsSource(ctx, actor, runner), { externalUrl });
      const opts = presentOptions(request, externalUrl);
      return views.map((v) => presentProjectView(v, opts.baseUrl));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/runners/:id/jobs', summary: "A runner's jobs", tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, params: runnerJobsParams, paginated: true, responses: { 200: { description: 'Jobs', schema: res.runnerJob.array() } } },
    async (params, request, reply) => {
      const actor = requireActor(request).user;
      const { runner } = await findRunnerForJobs(ctx, actor, params.id);
      let jobs: JobRow[];
      if (params.pagination === 'keyset') {
        const rows = await keysetRunnerJobs(ctx, actor, runner.id, params);
        jobs = keysetPage(request, reply, params, rows, params.per_page, { externalUrl, idOf: (job) => job.id });
      } else {
        const { source, skipCount } = runnerJobsSource(ctx, actor, runner.id, params);
        jobs = await paginate(request, reply, params, params, source, { externalUrl, skipCount });
      }
      const relations = await loadRunnerJobRelations(ctx, actor, jobs);
      const opts = presentOptions(request, externalUrl);
      return jobs.map((job) => presentJobBasicWithProject(job, relations.get(job.id)!, opts));
    },
  );

  defineRoute(
    app,
    { method: 'POST', path: '/runners/:id/reset_authentication_token', summary: "Reset a runner's authentication token", tags, auth: 'user', scopes: manageRunner, pathParams: runnerIdPath, responses: { 201: { description: 'The new token', schema: res.tokenWithExpiry } } },
    async ({ id }, request, reply) => {
      const actor = requireActor(request).user;
      const access = await findUpdatableRunner(ctx, actor, id);
      return reply.code(201).send(await resetAuthenticationToken(ctx, access));
    },
  );
}
