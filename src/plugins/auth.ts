import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, apiError, forbidden, unauthorized } from '../lib/errors.js';
import type { User } from '../generated/prisma/client.js';
import type { Scope } from '../domain/scopes.js';
import { authenticatePersonalAccessToken, findUserByIdOrUsername } from '../services/users/user-service.js';
import { addRouteHook, isApiRoute, routeAuthMode } from '../lib/route-hooks.js';

// The one authentication hook for user-facing routes (docs.gitlab.com/api/rest/authentication).
// A route says in its config whether it needs a user (`auth`, default
// 'required') and which scopes beyond `api`/`read_api` it accepts.

// The auth hook's vocabulary; defined in the domain so that services and schemas need not import this plugin.
export { ALL_SCOPES, type Scope } from '../domain/scopes.js';

export interface Actor {
  user: User;
  scopes: Scope[];
  /** Set when an admin acts as another user through Sudo. */
  impersonator?: User;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** 'required' (default): 401 without a user. 'optional': anonymous allowed. 'none': runner-token or public route. */
    auth?: 'required' | 'optional' | 'none';
    /** Scopes this route accepts besides api (and read_api on GET/HEAD). */
    scopes?: Scope[];
  }
}

function tokenFrom(request: FastifyRequest): string | undefined {
  const header = request.headers['private-token'];
  if (typeof header === 'string' && header !== '') return header;
  const authz = request.headers.authorization;
  if (typeof authz === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(authz);
    if (m) return m[1]!.trim();
    const basic = /^Basic\s+(.+)$/i.exec(authz);
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const idx = decoded.indexOf(':');
      if (idx >= 0 && decoded.slice(idx + 1) !== '') return decoded.slice(idx + 1);
    }
  }
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.private_token;
  if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery;
  const fromBody = (request.body as Record<string, unknown> | undefined)?.private_token;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  return undefined;
}

/** GitLab's `params[:sudo] || env['HTTP_SUDO']`: the parameter wins over the header. */
function sudoFrom(request: FastifyRequest): string | undefined {
  const q = (request.query as Record<string, unknown> | undefined)?.sudo;
  if (typeof q === 'string' && q !== '') return q;
  const b = (request.body as Record<string, unknown> | undefined)?.sudo;
  if (typeof b === 'string' && b !== '') return b;
  const header = request.headers.sudo;
  if (typeof header === 'string' && header !== '') return header;
  return undefined;
}

/** GitLab: a token passes when any registered scope's condition matches the request. */
export function scopeAllows(scopes: readonly Scope[], method: string, routeScopes: readonly Scope[] = []): boolean {
  if (scopes.includes('api')) return true;
  if (scopes.includes('read_api') && (method === 'GET' || method === 'HEAD')) return true;
  return routeScopes.some((s) => scopes.includes(s));
}

/**
 * 403 insufficient_scope. `scope` lists the scopes registered for the route
 * (its own, then API::API's `api read_api`); `exactScopes` replaces that list
 * where GitLab checks one scope on its own (sudo).
 */
export function insufficientScope(routeScopes: readonly Scope[], exactScopes?: readonly Scope[]): ApiError {
  return new ApiError(403, {
    error: 'insufficient_scope',
    error_description: 'The request requires higher privileges than provided by the access token.',
    scope: (exactScopes ?? [...routeScopes, 'api', 'read_api']).join(' '),
  });
}

async function auth(app: FastifyInstance) {
  app.decorateRequest('actor', null);
  // Only API routes that take a user's token run it: routes without user auth
  // (the runner's jobs/request poll, runner-token and job-token routes) do not.
  app.addHook('onRoute', (route) => {
    const mode = routeAuthMode(route);
    if (mode === 'none' || !isApiRoute(route)) return;
    addRouteHook(route, 'preHandler', function authenticate(request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) {
      authenticateRequest(request, mode).then(() => done(), done);
    });
  });

  async function authenticateRequest(request: FastifyRequest, mode: 'required' | 'optional'): Promise<void> {
    const token = tokenFrom(request);
    if (token === undefined) {
      if (mode === 'required') throw unauthorized();
      return;
    }
    const found = await authenticatePersonalAccessToken(app.ctx, token);
    if (found.kind === 'unknown') throw unauthorized();
    if (found.kind === 'expired') {
      throw new ApiError(
        401,
        { error: 'invalid_token', error_description: 'Token is expired. You can either do re-authorization or token refresh.' },
        { 'www-authenticate': 'Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."' },
      );
    }
    if (found.kind === 'revoked') {
      throw new ApiError(
        401,
        { error: 'invalid_token', error_description: 'Token was revoked. You have to re-authorize from the user.' },
        { 'www-authenticate': 'Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."' },
      );
    }
    const { user, scopes } = found;
    const routeScopes = request.routeOptions.config?.scopes ?? [];
    if (!scopeAllows(scopes, request.method, routeScopes)) throw insufficientScope(routeScopes);
    if (user.state !== 'active') throw forbidden('Your account has been blocked.');

    const sudo = sudoFrom(request);
    if (sudo !== undefined) {
      // lib/api/helpers.rb#sudo!: admin first, then the token's sudo scope.
      if (!user.admin) throw forbidden('Must be admin to use sudo');
      if (!scopes.includes('sudo')) throw insufficientScope([], ['sudo']);
      const target = await findUserByIdOrUsername(app.ctx, sudo);
      if (!target) throw apiError(404, `404 User with ID or username '${sudo}' Not Found`);
      if (target.state !== 'active') throw forbidden('Your account has been blocked.');
      request.actor = { user: target, scopes, impersonator: user };
      return;
    }
    request.actor = { user, scopes };
  }
}

/** The signed-in user of a route whose auth mode is 'required'. */
export function requireActor(request: FastifyRequest): Actor {
  if (!request.actor) throw unauthorized();
  return request.actor;
}

export default fp(auth, { name: 'auth', dependencies: ['app-context'] });
