import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { apiError } from '../lib/errors.js';
import { addRouteHook, isApiRoute, routeAuthMode, routeMethods } from '../lib/route-hooks.js';

// Per-client-address abuse limits, in memory (one server process; several
// processes each keep their own counts, which only makes the limit looser).
//
//  1. The runner-token endpoints take a secret in the body and need no user:
//     they are where tokens get guessed. Every request counts.
//  2. Failed sign-ins: a 401 answered to a request that presented a token
//     counts against its address; past the limit, every signed-in route
//     answers 429 for that address until the window ends (the token is not
//     even looked at, so guessing stops).
//
// POST /jobs/request is deliberately not limited: whole fleets of runners poll
// from behind one NAT address. Answers are GitLab's 429 body plus Retry-After
// in seconds, which gitlab-runner honours before retrying.
//
// Fixed one-minute windows: one small object per address, reused when its
// window rolls over, and swept once a window. The address is the socket's
// (trustProxy is off); behind a reverse proxy all clients share the proxy's.

const WINDOW_MS = 60_000;
/** Past this many tracked addresses, expired entries are swept at once. */
const MAX_TRACKED = 100_000;

const TOKEN_ENDPOINTS: Readonly<Record<string, ReadonlySet<string>>> = {
  POST: new Set(['/api/v4/runners', '/api/v4/runners/verify', '/api/v4/runners/reset_authentication_token']),
  DELETE: new Set(['/api/v4/runners', '/api/v4/runners/managers']),
};

interface Window {
  count: number;
  resetAt: number;
}

/** Counts per address in fixed windows. */
export class WindowCounter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = WINDOW_MS,
  ) {}

  private current(key: string, now: number): Window {
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= MAX_TRACKED) this.sweep(now);
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    } else if (w.resetAt <= now) {
      w.count = 0;
      w.resetAt = now + this.windowMs;
    }
    return w;
  }

  /** Counts one hit; returns the seconds to wait when the hit is over the limit, else 0. */
  hit(key: string, now = Date.now()): number {
    const w = this.current(key, now);
    w.count += 1;
    return w.count > this.limit ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0;
  }

  /** Seconds to wait when the address is already over the limit, else 0 (counts nothing). */
  blocked(key: string, now = Date.now()): number {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now || w.count < this.limit) return 0;
    return Math.max(1, Math.ceil((w.resetAt - now) / 1000));
  }

  sweep(now = Date.now()): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }
}

const tooManyRequests = (retryAfter: number) => apiError(429, '429 Too Many Requests', { 'retry-after': String(retryAfter) });

/** Did the request carry a user credential the auth hook would have checked? */
function presentedCredentials(request: FastifyRequest): boolean {
  const h = request.headers;
  if (h['private-token'] !== undefined || h.authorization !== undefined) return true;
  const q = request.query as Record<string, unknown> | undefined;
  const b = request.body as Record<string, unknown> | undefined;
  return q?.private_token !== undefined || (typeof b === 'object' && b !== null && !Buffer.isBuffer(b) && b.private_token !== undefined);
}

async function rateLimit(app: FastifyInstance) {
  const config = app.ctx.config;
  if (!config.RATE_LIMIT_ENABLED) return;
  const tokenEndpoints = new WindowCounter(config.RATE_LIMIT_TOKEN_ENDPOINTS_PER_MINUTE);
  const failedAuth = new WindowCounter(config.RATE_LIMIT_FAILED_AUTH_PER_MINUTE);

  const sweeper = setInterval(() => {
    const now = Date.now();
    tokenEndpoints.sweep(now);
    failedAuth.sweep(now);
  }, WINDOW_MS);
  sweeper.unref();
  app.addHook('onClose', async () => clearInterval(sweeper));

  // Added to the routes that are limited, when they are registered: the
  // runner's poll and other routes without user auth run none of it.
  // onRequest: before the body is read, so a limited client costs no parsing.
  // Callback-style hooks: no promise per request.
  app.addHook('onRoute', (route) => {
    const tokenMethods = routeMethods(route).filter((m) => TOKEN_ENDPOINTS[m]?.has(route.url));
    const signedIn = routeAuthMode(route) !== 'none' && isApiRoute(route);
    if (tokenMethods.length > 0) {
      addRouteHook(route, 'onRequest', function limitTokenEndpoint(request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) {
        if (tokenMethods.includes(request.method)) {
          const wait = tokenEndpoints.hit(request.ip);
          return done(wait > 0 ? tooManyRequests(wait) : undefined);
        }
        if (!signedIn) return done();
        const wait = failedAuth.blocked(request.ip);
        done(wait > 0 ? tooManyRequests(wait) : undefined);
      });
    } else if (signedIn) {
      addRouteHook(route, 'onRequest', function stopFailedSignIns(request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) {
        const wait = failedAuth.blocked(request.ip);
        done(wait > 0 ? tooManyRequests(wait) : undefined);
      });
    }
    // A 401 to a request that presented a token counts, on any route that checks one.
    if (routeAuthMode(route) === 'none') return;
    addRouteHook(route, 'onResponse', function countFailedSignIn(request: FastifyRequest, reply: FastifyReply, done: () => void) {
      if (reply.statusCode === 401 && presentedCredentials(request)) failedAuth.hit(request.ip);
      done();
    });
  });
}

export default fp(rateLimit, { name: 'rate-limit', dependencies: ['app-context'] });
