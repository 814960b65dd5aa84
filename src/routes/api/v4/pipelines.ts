import type { FastifyInstance, FastifyRequest } from 'fastify';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentPipeline, presentPipelineListItem } from '../../../presenters/pipeline.js';
import { presentProjectJob } from '../../../presenters/project-job.js';
import { pipelineJobsParams, pipelineJobsPath } from '../../../schemas/jobs.js';
import { createPipelineParams, listPipelinesParams, pipelinePath, projectIdPath } from '../../../schemas/pipelines.js';
import * as res from '../../../schemas/responses.js';
import { countJobs, listJobs, loadJobRelations } from '../../../services/jobs/job-query-service.js';
import type { ProjectWithNamespace } from '../../../domain/project.js';
import { authorize, findProjectFor } from '../../../services/namespaces/access-service.js';
import {
  countPipelines,
  createPipeline,
  findPipeline,
  listPipelines,
  pipelineHasWarnings,
  type PipelineWithUser,
} from '../../../services/pipelines/pipeline-service.js';

// Pipelines: creation from .gitlab-ci.yml text (README: "Pipelines", an
// extension) and GitLab's read endpoints. Reading needs read_build (Guest+,
// as GitLab's default "Public pipelines"), creating Developer+ (create_pipeline).

const tags = ['pipelines'];

export default async function pipelineRoutes(app: FastifyInstance) {
  const ctx = app.ctx;
  const base = (request: FastifyRequest) => baseUrl(request, ctx.config.EXTERNAL_URL);

  async function present(project: ProjectWithNamespace, pipeline: PipelineWithUser, request: FastifyRequest) {
    const warnings = await pipelineHasWarnings(ctx, pipeline.id);
    return presentPipeline(pipeline, { user: pipeline.user, project, warnings }, base(request));
  }

  defineRoute(
    app,
    {
      method: 'POST', path: '/projects/:id/pipeline', summary: 'Create a pipeline from .gitlab-ci.yml text', tags, auth: 'user',
      description: '`content` (the .gitlab-ci.yml text) is this server\'s extension: there is no repository to read it from.',
      pathParams: projectIdPath, params: createPipelineParams,
      responses: { 201: { description: 'The pipeline', schema: res.pipeline } },
    },
    async (input, request, reply) => {
      const actor = requireActor(request);
      const { subject: project, can } = await findProjectFor(ctx, actor.user, input.id);
      authorize(can, 'create_pipeline');
      const pipelineId = await createPipeline(ctx, project, actor.user, input);
      const pipeline = await findPipeline(ctx, project.id, pipelineId);
      return reply.code(201).send(await present(project, pipeline, request));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/pipelines', summary: "List a project's pipelines", tags, auth: 'user-optional', pathParams: projectIdPath, params: listPipelinesParams, paginated: true, responses: { 200: { description: 'Pipelines', schema: res.pipeline.array() } } },
    async (q, request, reply) => {
      const { subject: project, can } = await findProjectFor(ctx, request.actor?.user ?? null, q.id);
      authorize(can, 'read_build');
      const { id: _projectId, page, per_page, ...filters } = q;
      const rows = await paginate(request, reply, { page, per_page }, filters, {
        count: (limit) => countPipelines(ctx, project.id, filters, limit),
        items: (offset, limit) => listPipelines(ctx, project.id, filters, offset, limit),
      }, { externalUrl: ctx.config.EXTERNAL_URL });
      return rows.map((p) => presentPipelineListItem(p, project, base(request)));
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/pipelines/:pipeline_id', summary: 'A pipeline', tags, auth: 'user-optional', pathParams: pipelinePath, responses: { 200: { description: 'The pipeline', schema: res.pipeline } } },
    async (params, request) => {
      const { subject: project, can } = await findProjectFor(ctx, request.actor?.user ?? null, params.id);
      authorize(can, 'read_build');
      return present(project, await findPipeline(ctx, project.id, params.pipeline_id), request);
    },
  );

  defineRoute(
    app,
    { method: 'GET', path: '/projects/:id/pipelines/:pipeline_id/jobs', summary: "List a pipeline's jobs", tags, auth: 'user-optional', pathParams: pipelineJobsPath, params: pipelineJobsParams, paginated: true, responses: { 200: { description: 'Jobs', schema: res.projectJob.array() } } },
    async (q, request, reply) => {
      const actor = request.actor?.user ?? null;
      const { subject: project, can } = await findProjectFor(ctx, actor, q.id);
      authorize(can, 'read_build');
      await findPipeline(ctx, project.id, q.pipeline_id);
      const scope = { projectId: project.id, pipelineId: q.pipeline_id, statuses: q.scope };
      const jobs = await paginate(request, reply, { page: q.page, per_page: q.per_page }, { scope: q.scope }, {
        count: (limit) => countJobs(ctx, scope, limit),
        items: (offset, limit) => listJobs(ctx, scope, offset, limit),
      }, { externalUrl: ctx.config.EXTERNAL_URL });
      // read_build implies a signed-in actor (src/policies/namespace-policy.ts).
      const relations = await loadJobRelations(ctx, actor!, project, jobs, can.has('read_runners'));
      const opts = { baseUrl: base(request), now: Date.now() };
      return jobs.map((job) => presentProjectJob(job, relations.get(job.id)!, opts));
    },
  );
}
