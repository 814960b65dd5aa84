import type { FastifyInstance, FastifyRequest } from 'fastify';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentProjectJob } from '../../../presenters/project-job.js';
import { projectJobPath, projectJobsParams } from '../../../schemas/jobs.js';
import { projectIdPath } from '../../../schemas/pipelines.js';
import * as res from '../../../schemas/responses.js';
import { countJobs, findProjectJob, listJobs, loadJobRelations, readTrace } from '../../../services/jobs/job-query-service.js';
import { markTraceWatched } from '../../../services/jobs/trace-watch.js';
import { authorize, findProjectFor } from '../../../services/namespaces/access-service.js';

// GET /projects/:id/jobs, /jobs/:job_id and /jobs/:job_id/trace
// (lib/api/ci/jobs.rb): read_build (Guest+, as GitLab's default "Public
// pipelines"). The list is paginated
// without counts, as GitLab's `paginator_params: { without_count: true }`.

const tags = ['jobs'];

export default async function projectJobRoutes(app: FastifyInstance) {
  const ctx = app.ctx;
  const options = (request: FastifyRequest) => ({ baseUrl: baseUrl(request, ctx.config.EXTERNAL_URL), now: Date.now() });

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/jobs', summary: "List a project's jobs", tags, auth: 'user', pathParams: projectIdPath, params: projectJobsParams, paginated: true, responses: { 200: { description: 'Jobs', schema: res.projectJob.array() } } },
    async (q, request, reply) => {
      const actor = requireActor(request);
      const { subject: project, can } = await findProjectFor(ctx, actor.user, q.id);
      authorize(can, 'read_build');
      const scope = { projectId: project.id, statuses: q.scope };
      const jobs = await paginate(
        request,
        reply,
        { page: q.page, per_page: q.per_page },
        { scope: q.scope },
        { count: (limit) => countJobs(ctx, scope, limit), items: (offset, limit) => listJobs(ctx, scope, offset, limit) },
        { externalUrl: ctx.config.EXTERNAL_URL, skipCount: true },
      );
      const relations = await loadJobRelations(ctx, actor.user, project, jobs, can.has('read_runners'));
      const opts = options(request);
      return jobs.map((job) => presentProjectJob(job, relations.get(job.id)!, opts));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/jobs/:job_id', summary: 'A job', tags, auth: 'user', pathParams: projectJobPath, responses: { 200: { description: 'The job', schema: res.projectJob } } },
    async (params, request) => {
      const actor = requireActor(request);
      const { subject: project, can } = await findProjectFor(ctx, actor.user, params.id);
      authorize(can, 'read_build');
      const job = await findProjectJob(ctx, project.id, params.job_id);
      const relations = await loadJobRelations(ctx, actor.user, project, [job], can.has('read_runners'));
      return presentProjectJob(job, relations.get(job.id)!, options(request));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/jobs/:job_id/trace', summary: "A job's log", tags, auth: 'user', pathParams: projectJobPath, responses: { 200: { description: 'The log text', contentType: 'text/plain' } } },
    async (params, request, reply) => {
      const actor = requireActor(request);
      const { subject: project, can } = await findProjectFor(ctx, actor.user, params.id);
      authorize(can, 'read_build');
      const trace = await readTrace(ctx, project.id, params.job_id);
      // Someone is reading the log: ask the runner to send it more often.
      markTraceWatched(params.job_id);
      return reply
        .header('content-disposition', `infile; filename="${params.job_id}.log"`)
        .type('text/plain')
        .send(trace);
    },
  );
}
