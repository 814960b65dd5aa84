import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { scrubUrl } from '../lib/logger.js';

// One log line per request, written when the response is done: method,
// route template, URL (tokens in its query scrubbed),
// status, duration, client address, request id (bound by Fastify), and who asked (user id
// for tokens of users, runner id for runner routes that know it). A poll
// answered 204 (nothing to do) is the bulk of a fleet's traffic and carries
// no news: it is logged at debug only. At trace level the incoming request
// (scrubbed URL) is logged as well.

declare module 'fastify' {
  interface FastifyRequest {
    /** The runner a runner-token or job-token route acted for, for the request log. */
    logRunnerId: number | null;
  }
}

const POLL_ROUTE = '/api/v4/jobs/request';

async function requestLog(app: FastifyInstance) {
  app.decorateRequest('logRunnerId', null);
  // At trace level, the request as it came in too (URL scrubbed of tokens by the `req` serializer, src/lib/logger.ts).
  // The level is the server's LOG_LEVEL, fixed when it starts: below trace, no hook at all.
  if ((app.log as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.('trace')) {
    app.addHook('onRequest', (request, _reply, done) => {
      request.log.trace({ req: request }, 'incoming request');
      done();
    });
  }
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? null;
    const level = status === 204 && route === POLL_ROUTE ? 'debug' : status >= 500 ? 'error' : 'info';
    // Polls at the default level: no line, and no line built.
    if ((app.log as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.(level) === false) return done();
    const line: Record<string, unknown> = {
      method: request.method,
      route,
      // The URL as sent, with tokens in its query replaced by [REDACTED].
      url: scrubUrl(request.url),
      status,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      // The client, as TRUSTED_PROXIES lets X-Forwarded-For name it (src/app.ts).
      remoteAddress: request.ip,
    };
    const actor = (request as { actor?: { user?: { id: number } } | null }).actor;
    if (actor?.user) line.userId = actor.user.id;
    if (request.logRunnerId !== null) line.runnerId = request.logRunnerId;
    request.log[level](line, 'request');
    done();
  });
}

export default fp(requestLog, { name: 'request-log' });
