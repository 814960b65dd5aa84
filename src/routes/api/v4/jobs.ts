import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, apiError, paramError } from '../../../lib/errors.js';
import { baseUrl } from '../../../lib/pagination.js';
import { presentJobRequestResponse } from '../../../presenters/job-request-response.js';
import { jobIdParams, jobRequestSchema, jobUpdateSchema, traceQuerySchema, type JobRequestBody } from '../../../schemas/jobs.js';
import { ParseMemo } from '../../../lib/parse-memo.js';
import { parseJsonBody } from '../../../plugins/compat.js';
import { parseInput } from '../../../schemas/common.js';
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
const POLL_MEMO_ENTRIES = 20_000;
const POLL_MEMO_TEXT_LENGTH = 4096;

const jobTokenHeader = (request: FastifyRequest): string | undefined => {
  const value = request.headers['job-token'];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** The PATCH body as bytes, whatever parser produced it. */
function traceChunk(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.alloc(0);
}

export default async function jobsRoutes(app: FastifyInstance) {
  // A held long poll must not keep the server from shutting down.
  app.addHook('onClose', async () => runnerQueues(app.ctx).releaseAll());

  // The poll keeps its JSON body as text (in this scope only) and parses it
  // through a memo: a runner sends the same body every few seconds.
  const pollBodies = new ParseMemo<JobRequestBody>(POLL_MEMO_ENTRIES, POLL_MEMO_TEXT_LENGTH);
  const pollBody = (raw: unknown): JobRequestBody =>
    typeof raw === 'string' ? (pollBodies.get(raw) ?? parseInput(jobRequestSchema, parseJsonBody(raw))) : parseInput(jobRequestSchema, raw);
  await app.register(async (poll) => {
    poll.removeContentTypeParser('application/json');
    poll.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

    poll.post('/jobs/request', { config: { auth: 'none' } }, async (request, reply) => {
      const body = pollBody(request.body);
      const result = await requestJob(app.ctx, body, request.ip);
      // Authenticated and answered: the same text next time is the same request.
      if (typeof request.body === 'string') pollBodies.remember(request.body, body);
      if (result.kind === 'none') return reply.code(204).header('x-gitlab-last-update', result.lastUpdate).send();
      appMetrics(app.ctx).observeJobTaken(result.job.job.queued_at ?? result.job.job.created_at, result.job.runner.runner_type === RUNNER_TYPE_IDS.instance_type);
      const payload = presentJobRequestResponse(result.job, baseUrl(request, app.ctx.config.EXTERNAL_URL));
      return reply.code(201).type('application/json').send(payload);
    });
  });

  app.put('/jobs/:id', { config: { auth: 'none' } }, async (request, reply) => {
    const { id } = parseInput(jobIdParams, request.params);
    const body = parseInput(jobUpdateSchema, request.body);
    // Grape declares `requires :token`; the runner also sends it as JOB-TOKEN.
    const token = body.token ?? jobTokenHeader(request);
    if (token === undefined) throw paramError('token is missing');
    const job = await authenticateJob(app.ctx, id, token, request.ip);
    request.logRunnerId = job.runner_id;
    const result = await updateJob(app.ctx, job, body);
    // GitLab answers with the status code as the body ("200"); the runner reads only the status and headers.
    return reply.code(result.status).header('job-status', result.jobStatus).type('text/plain').send(String(result.status));
  });

  app.patch('/jobs/:id/trace', { config: { auth: 'none' }, bodyLimit: TRACE_BODY_LIMIT }, async (request, reply) => {
    const { id } = parseInput(jobIdParams, request.params);
    const query = parseInput(traceQuerySchema, request.query);
    const job = await authenticateJob(app.ctx, id, jobTokenHeader(request) ?? query.token, request.ip);
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
  });
}
