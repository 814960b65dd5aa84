import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

// Request time limits, checked about once a second:
// - the headers must arrive within REQUEST_HEADERS_TIMEOUT_MS of the
//   connection starting the request, and the whole request (body included)
//   within REQUEST_TIMEOUT_MS: Node's own headersTimeout / requestTimeout,
//   whose checking interval (30 s by default, which made the limits 30–60 s
//   coarse) is set to CHECK_INTERVAL_MS. The client gets 408 with a JSON
//   body, then the socket is closed;
// - a handler still running REQUEST_TIMEOUT_MS after the request started
//   answers 503; its database statements are cut by statement_timeout (the
//   pools' sessions are opened with it, src/db/client.ts).

export const CHECK_INTERVAL_MS = 1_000;

const TIMEOUT_BODY = '{"message":"408 Request Timeout"}';
const BAD_REQUEST_BODY = '{"message":"400 Bad request"}';
const HEADER_OVERFLOW_BODY = '{"message":"431 Request Header Fields Too Large"}';

/** Fastify's serverFactory: a plain HTTP server whose time limits are checked every CHECK_INTERVAL_MS. */
export function timedServerFactory(limits: { headersTimeoutMs: number; requestTimeoutMs: number }) {
  return (handler: http.RequestListener) =>
    http.createServer(
      {
        connectionsCheckingInterval: CHECK_INTERVAL_MS,
        headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
        requestTimeout: limits.requestTimeoutMs,
      },
      handler,
    );
}

/** Fastify's clientErrorHandler: GitLab's {"message": ...} shape for what Node rejects before any route runs. */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['408 Request Timeout', TIMEOUT_BODY]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', HEADER_OVERFLOW_BODY]
        : ['400 Bad Request', BAD_REQUEST_BODY];
  this.log.debug({ err: { code: err.code, message: err.message } }, 'client error');
  // Only when no response has started on this socket (else the client would read garbage).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(`HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * A handler still running `ms` after its request started answers 503 (the
 * request is not the client's fault, and may be retried). Routes that hold
 * the request on purpose (long polls) get their hold added.
 */
export function registerHandlerTimeout(app: FastifyInstance, ms: (url: string) => number): void {
  app.addHook('onRequest', (request, reply, done) => {
    const limit = ms(request.routeOptions.url ?? request.url);
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      // Still receiving the body: that is Node's requestTimeout (408), not the handler's.
      if (!request.raw.complete) return;
      request.log.warn({ limitMs: limit }, 'handler timed out');
      void reply.code(503).header('retry-after', '5').send({ message: '503 Service Unavailable' });
    }, limit);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
    reply.raw.once('finish', () => clearTimeout(timer));
    done();
  });
}
