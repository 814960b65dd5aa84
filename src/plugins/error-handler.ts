import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../lib/errors.js';
import { RETRY_AFTER_SECONDS } from '../db/availability.js';
import { lingerOnClose } from '../lib/lingering-close.js';

// The one place that turns anything thrown into GitLab's error shapes.
// Nothing a client can cause should surface as a 500.

const PG_CLIENT_ERRORS: Record<string, [number, string]> = {
  '22021': [400, '400 Bad request - invalid byte sequence'],
  '22P05': [400, '400 Bad request - invalid byte sequence'],
  '22003': [400, '400 Bad request - value out of range'],
  '22001': [400, '400 Bad request - value too long'],
  '23505': [409, '409 Conflict'],
  '40001': [409, '409 Conflict'],
  '40P01': [409, '409 Conflict'],
};

function fromDriver(err: unknown): [number, string] | undefined {
  let cur: any = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = cur.code ?? cur.meta?.code ?? cur.meta?.driverAdapterError?.cause?.originalCode;
    if (typeof code === 'string' && PG_CLIENT_ERRORS[code]) return PG_CLIENT_ERRORS[code];
    if (code === 'P2002') return [409, '409 Conflict'];
    if (code === 'P2025') return [404, '404 Not found'];
    const kind = cur.cause?.kind ?? cur.meta?.driverAdapterError?.cause?.kind;
    if (kind === 'UniqueConstraintViolation') return [409, '409 Conflict'];
    cur = cur.cause ?? cur.meta?.driverAdapterError;
  }
  return undefined;
}

async function errorHandler(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).headers(error.headers).send(error.body);
    }
    // Database down, restarting, out of disk or connections: the request
    // may be retried, nothing was half-written (each write is one
    // transaction), and it is not the server's bug.
    if (error.statusCode === undefined && app.ctx.availability.report(error)) {
      request.log.warn({ err: { message: error.message, code: error.code } }, 'database unavailable');
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ message: '503 Service Unavailable' });
    }
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      // The rest of the body may still be on its way: drain it after answering.
      lingerOnClose(request.raw);
      return reply.code(413).send({ message: '413 Request Entity Too Large' });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
      return reply.code(415).send({ message: '415 Unsupported Media Type' });
    }
    if (status >= 400 && status < 500) {
      const reason = error.code === 'GL_INVALID_JSON' ? 'Invalid JSON body' : error.message;
      return reply.code(status).send({ message: status === 400 ? `400 Bad request - ${reason}` : `${status} ${reason}` });
    }
    const mapped = fromDriver(error);
    if (mapped) {
      request.log.info({ err: { message: error.message, code: error.code } }, 'database rejected the request');
      return reply.code(mapped[0]).send({ message: mapped[1] });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ message: '500 Internal Server Error' });
  });

  // While the database is known to be down, API requests fail at once
  // rather than each waiting for a connection that will be refused.
  app.addHook('onRequest', (request, reply, done) => {
    if (!app.ctx.availability.up && request.url.startsWith('/api/')) {
      reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ message: '503 Service Unavailable' });
      return;
    }
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    if (/^\/api\/v3(?:[/?]|$)/.test(request.url)) {
      return reply.code(410).send({ error: 'API V3 is no longer supported. Use API V4 instead.' });
    }
    return reply.code(404).send({ error: '404 Not Found' });
  });
}

export default fp(errorHandler, { name: 'error-handler' });
