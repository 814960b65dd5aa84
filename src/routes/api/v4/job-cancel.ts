import type { FastifyInstance } from 'fastify';
import { requireActor } from '../../../plugins/auth.js';
import { baseUrl } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { presentProjectJob } from '../../../presenters/project-job.js';
import { projectJobPath } from '../../../schemas/jobs.js';
import * as res from '../../../schemas/responses.js';
import { cancelJob } from '../../../services/jobs/job-cancel-service.js';
import { findProjectJob, loadJobRelations } from '../../../services/jobs/job-query-service.js';
import { authorize, findProjectFor } from '../../../services/namespaces/access-service.js';

// POST /projects/:id/jobs/:job_id/cancel (lib/api/ci/jobs.rb): Developer+
// (`update_build`); 201 with the job as it is after the cancel.

export default async function jobCancelRoutes(app: FastifyInstance) {
  const ctx = app.ctx;

  defineRoute(
    app,
    {
      method: 'POST', path: '/projects/:id/jobs/:job_id/cancel', summary: 'Cancel a job', tags: ['jobs'], auth: 'user', pathParams: projectJobPath,
      responses: { 201: { description: 'The job after the cancel', schema: res.projectJob } },
    },
    async (params, request, reply) => {
      const actor = requireActor(request);
      const { subject: project, can } = await findProjectFor(ctx, actor.user, params.id);
      authorize(can, 'update_build');
      await cancelJob(ctx, project.id, params.job_id);
      const job = await findProjectJob(ctx, project.id, params.job_id);
      const relations = await loadJobRelations(ctx, actor.user, project, [job], can.has('read_runners'));
      return reply.code(201).send(presentProjectJob(job, relations.get(job.id)!, { baseUrl: baseUrl(request, ctx.config.EXTERNAL_URL), now: Date.now() }));
    },
  );
}
