import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, apiError, paramError } from '../../../lib/errors.js';
import { baseUrl } from '../../../lib/pagination.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { presentJobRequestResponse } from '../../../presenters/job-request-response.js';
import { jobIdPath, jobRequestParams, jobUpdateParams, traceParams } from '../../../schemas/jobs.js';
import * as res from '../../../schemas/responses.js';
import { requestJob } from '../../../services/jobs/job-request-service.js';
import { appendTrace, authenticateJob, contentRangeStart, updateJob } from '../../../services/jobs/job-update-service.js';
import { runnerQueues } from '../../../services/jobs/runner-queue.js';
import { RUNNER_TYPE_IDS } from '../../../services/runners/runner-core.js';
import { appMetrics } from '../../../lib/metrics/app-metrics.js';

// The runner's job endpoints (GitLab's lib/api/ci/runner.rb). They authenticate
// with the runner token (jobs/request) or the job token (PUT, PATCH), never
// with a user token.

/** The runner sends at most 1 MiB per PATCH (DefaultTracePatchLimit); leave room above that. */
const TRACE_BODY_LIMIT = 2 * 1024 * 1024;

/** Twice the 10,000-runner fleet the server is sized for; a poll body is well under 4 KiB. */
const POLL_MEMO = { entries: 20_000, maxTextLength: 4096 };

const tags = ['jobs (runner)'];

const jobTokenHeader = (request: FastifyRequest): string | undefined => {
  const value = request.headers['job-token'];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** The PATCH body as bytes (a `body: 'raw'` route keeps every body as a Buffer; none when empty). */
const traceChunk = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

export default async function jobsRoutes(app: FastifyInstance) {
  // A held long poll must not keep the server from shutting down.
  app.addHook('onClose', async () => runnerQueues(app.ctx).releaseAll());

  defineRoute(
    app,
    {
      method: 'POST', path: '/jobs/request', summary: 'Request a job (runner poll)', tags, auth: 'runner-token',
      description: 'Long-polls when no job is pending; answers 204 with X-GitLab-Last-Update when there is none.',
      params: jobRequestParams, bodyMemo: POLL_MEMO,
      responses: {
        201: { description: 'A job for the runner', schema: res.jobRequestResponse },
        204: { description: 'No job; X-GitLab-Last-Update carries the queue value' },
      },
    },
    async (body, request, reply) => {
      const result = await requestJob(app.ctx, body, request.ip);
      if (result.kind === 'none') return reply.code(204).header('x-gitlab-last-update', result.lastUpdate).send();
      appMetrics(app.ctx).observeJobTaken(result.job.job.queued_at ?? result.job.job.created_at, result.job.runner.runner_type === RUNNER_TYPE_IDS.instance_type);
      const payload = presentJobRequestResponse(result.job, baseUrl(request, app.ctx.config.EXTERNAL_URL));
      return reply.code(201).type('application/json').send(payload);
    },
  );

  defineRoute(
    app,
    {
      method: 'PUT', path: '/jobs/:id', summary: "Update a job's state (runner)", tags, auth: 'job-token',
      pathParams: jobIdPath, params: jobUpdateParams, headerFallbacks: { token: 'job-token' },
      responses: {
        200: { description: 'Updated; Job-Status carries the state', contentType: 'text/plain', example: '200' },
        202: { description: 'Accepted while the log is still arriving', contentType: 'text/plain' },
      },
    },
    async (body, request, reply) => {
      // Grape declares `requires :token`; the runner also sends it as JOB-TOKEN.
      if (body.token === undefined) throw paramError('token is missing');
      const job = await authenticateJob(app.ctx, body.id, body.token, request.ip);
      request.logRunnerId = job.runner_id;
      const result = await updateJob(app.ctx, job, body);
      // GitLab answers with the status code as the body ("200"); the runner reads only the status and headers.
      return reply.code(result.status).header('job-status', result.jobStatus).type('text/plain').send(String(result.status));
    },
  );

  defineRoute(
    app,
    {
      method: 'PATCH', path: '/jobs/:id/trace', summary: "Append to a job's log (runner)", tags, auth: 'job-token',
      description: 'The body is the raw log chunk; Content-Range gives its offset.',
      pathParams: jobIdPath, params: traceParams, body: 'raw', bodyLimit: TRACE_BODY_LIMIT,
      responses: { 202: { description: 'Appended; Range gives the stored size' } },
    },
    async (query, request, reply) => {
      const job = await authenticateJob(app.ctx, query.id, jobTokenHeader(request) ?? query.token, request.ip);
      request.logRunnerId = job.runner_id;
      const range = request.headers['content-range'];
      if (typeof range !== 'string') throw apiError(400, '400 Missing header Content-Range');
      const result = await appendTrace(app.ctx, job, contentRangeStart(range), traceChunk(request.body));
      if (result.kind === 'size-exceeded') throw new ApiError(403, { message: '403 Forbidden' }, { 'job-status': 'failed' });
      if (result.kind === 'range-mismatch') {
        throw apiError(416, '416 Range Not Satisfiable', { range: `0-${result.size}`, 'job-status': result.jobStatus });
      }
      return reply
        .code(202)
        .headers({ 'job-status': result.jobStatus, range: `0-${result.size}`, 'x-gitlab-trace-update-interval': String(result.updateInterval) })
        .send();
    },
  );
}
