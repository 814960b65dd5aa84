import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addRouteHook } from './route-hooks.js';

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
 * Requests in flight under one time limit, in the order they started (so in
 * the order their deadlines fall), watched by one timer armed for the
 * earliest deadline: a request costs two Map operations, not a timer and two
 * listeners of its own.
 */
class DeadlineQueue {
  private readonly deadlines = new Map<FastifyReply, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly limitMs: number,
    private readonly expire: (reply: FastifyReply, limitMs: number) => void,
  ) {}

  add(reply: FastifyReply): void {
    this.deadlines.set(reply, Date.now() + this.limitMs);
    if (this.timer === undefined) this.arm(this.limitMs);
  }

  delete(reply: FastifyReply): void {
    this.deadlines.delete(reply);
  }

  close(): void {
    clearTimeout(this.timer);
    this.deadlines.clear();
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, ms);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const [reply, deadline] of this.deadlines) {
      if (deadline > now) return this.arm(deadline - now);
      this.deadlines.delete(reply);
      this.expire(reply, this.limitMs);
    }
  };
}

/**
 * A handler still running `ms` after its request started answers 503 (the
 * request is not the client's fault, and may be retried). Routes that hold
 * the request on purpose (long polls) get their hold added. Requests that
 * match no route are answered at once and are not watched.
 */
export function registerHandlerTimeout(app: FastifyInstance, ms: (url: string) => number): void {
  const queues = new Map<number, DeadlineQueue>();
  const expire = (reply: FastifyReply, limitMs: number) => {
    // Answered, or the client has gone (no response is coming: onResponse never ran).
    if (reply.sent || reply.raw.headersSent || reply.raw.destroyed || reply.request.raw.socket?.destroyed === true) return;
    // Still receiving the body: that is Node's requestTimeout (408), not the handler's.
    if (!reply.request.raw.complete) return;
    reply.request.log.warn({ limitMs }, 'handler timed out');
    void reply.code(503).header('retry-after', '5').send({ message: '503 Service Unavailable' });
  };
  app.addHook('onRoute', (route) => {
    const limit = ms(route.url);
    let queue = queues.get(limit);
    if (!queue) queues.set(limit, (queue = new DeadlineQueue(limit, expire)));
    const watched = queue;
    addRouteHook(route, 'onRequest', function watchHandlerTime(_request: FastifyRequest, reply: FastifyReply, done: () => void) {
      watched.add(reply);
      done();
    });
    addRouteHook(route, 'onResponse', function unwatchHandlerTime(_request: FastifyRequest, reply: FastifyReply, done: () => void) {
      watched.delete(reply);
      done();
    });
  });
  app.addHook('onClose', async () => {
    for (const queue of queues.values()) queue.close();
  });
}
