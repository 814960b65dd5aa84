import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Scope } from '../../domain/scopes.js';
import { paramError } from '../errors.js';
import { ParseMemo } from '../parse-memo.js';
import { declareParams, type ParamsDeclaration, type Shape } from './params.js';
import { jsonText, parseJsonBody } from './raw-input.js';
import { registerSecretParams } from './secret-params.js';

// The one way a route receives input. A contract declares, once, the
// method and path, who may call it, its parameters with Grape types and
// its responses; `defineRoute` registers it with Fastify, gathers the
// parameters (Grape's precedence: path over body over query), validates
// them with Grape's messages and order, and calls the handler with typed
// input. The same contract feeds the OpenAPI document (openapi.ts) and the
// security suites (the route table).

/**
 * Who may call the route. `user`: a personal/OAuth token (401 without);
 * `user-optional`: anonymous callers allowed; `runner-token`: the `token`
 * parameter (or RUNNER-TOKEN header) is the credential; `job-token`: the
 * job's token (JOB-TOKEN header or `token` parameter); `none`: public.
 */
export type AuthKind = 'user' | 'user-optional' | 'runner-token' | 'job-token' | 'none';

export interface ResponseSpec {
  description: string;
  /** The JSON body; omitted for bodiless or non-JSON answers. */
  schema?: z.ZodType;
  /** Set for text answers (e.g. a job log). */
  contentType?: string;
  example?: unknown;
}

export interface RouteContract<PathShape extends Shape, Params, Before> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify URL pattern, relative to the plugin prefix (e.g. `/runners/:id`). */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: AuthKind;
  /** Token scopes accepted besides api (and read_api on GET). */
  scopes?: readonly Scope[];
  /** Path parameters, validated first. */
  pathParams?: PathShape;
  /** Query and body parameters (declareParams). */
  params?: ParamsDeclaration<Params>;
  /** Parameters that may also come in a header, used only when the parameter is absent: `{ token: 'runner-token' }`. */
  headerFallbacks?: Record<string, string>;
  /** Parameter names never to be logged, besides the ones every route redacts. */
  secretParams?: readonly string[];
  /** GitLab's offset-pagination headers are sent (documented on the 200). */
  paginated?: boolean;
  /** `raw`: the body is data (a job log), not parameters. */
  body?: 'params' | 'raw';
  bodyLimit?: number;
  /**
   * Grape `before` work that GitLab runs ahead of parameter validation
   * (finding the project, checking access). Gets the validated path
   * parameters; its result is the handler's fourth argument.
   */
  before?: (request: FastifyRequest, path: z.output<z.ZodObject<PathShape>>) => Promise<Before>;
  /**
   * Remember what a JSON body text parsed to (a runner's poll repeats the
   * same body): `{ entries, maxTextLength }`.
   */
  bodyMemo?: { entries: number; maxTextLength: number };
  responses: Record<number, ResponseSpec>;
}

export type RouteInput<PathShape extends Shape, Params> = z.output<z.ZodObject<PathShape>> & Params;

export type RouteHandler<PathShape extends Shape, Params, Before> = (
  input: RouteInput<PathShape, Params>,
  request: FastifyRequest,
  reply: FastifyReply,
  before: Before,
) => Promise<unknown>;

/** What the route table keeps of a contract. */
export type AnyContract = RouteContract<Shape, unknown, unknown>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's declared contract (route-contract/define.ts). */
    contract?: AnyContract;
  }
}

const NO_PARAMS = declareParams();

const asObject = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** Grape's `params`: query, then body over it, then the path over both; header fallbacks fill what is still absent. */
function gather(request: FastifyRequest, contract: AnyContract, body: unknown): Record<string, unknown> {
  const input: Record<string, unknown> = { ...asObject(request.query), ...(contract.body === 'raw' ? {} : asObject(body)), ...asObject(request.params) };
  for (const [param, header] of Object.entries(contract.headerFallbacks ?? {})) {
    const value = request.headers[header];
    if (input[param] === undefined && typeof value === 'string') input[param] = value;
  }
  return input;
}

const AUTH_MODE: Record<AuthKind, 'required' | 'optional' | 'none'> = {
  user: 'required',
  'user-optional': 'optional',
  'runner-token': 'none',
  'job-token': 'none',
  none: 'none',
};

/** Registers one route from its contract. */
export function defineRoute<const PathShape extends Shape = {}, Params = {}, Before = undefined>(
  app: FastifyInstance,
  contract: RouteContract<PathShape, Params, Before>,
  handler: RouteHandler<PathShape, Params, Before>,
): void {
  const params = (contract.params ?? NO_PARAMS) as ParamsDeclaration<Params>;
  const pathSchema = declareParams((contract.pathParams ?? {}) as Shape);
  registerSecretParams(contract.secretParams ?? []);
  const memo = contract.bodyMemo ? new ParseMemo<Record<string, unknown>>(contract.bodyMemo.entries, contract.bodyMemo.maxTextLength) : undefined;

  function validate(raw: Record<string, unknown>, pathOut?: Record<string, unknown>): RouteInput<PathShape, Params> {
    const messages: string[] = [];
    let path = pathOut;
    if (!path) {
      const r = pathSchema.run(raw);
      if (r.ok) path = r.value;
      else messages.push(...r.messages);
    }
    const p = params.run(raw);
    if (!p.ok) messages.push(...p.messages);
    if (messages.length) throw paramError([...new Set(messages)].join(', '));
    return { ...(p as { value: object }).value, ...path } as RouteInput<PathShape, Params>;
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    let body = request.body;
    let memoText: string | undefined;
    if (memo && typeof body === 'string') {
      memoText = body;
      const known = Object.keys(asObject(request.query)).length === 0 ? memo.get(body) : undefined;
      if (known) {
        const input = { ...known, ...(pathSchema.run(asObject(request.params)) as { value: object }).value } as RouteInput<PathShape, Params>;
        return handler(input, request, reply, undefined as Before);
      }
      body = parseJsonBody(body);
    }
    const raw = gather(request, contract as unknown as AnyContract, body);
    let before: Before = undefined as Before;
    let input: RouteInput<PathShape, Params>;
    if (contract.before) {
      const path = pathSchema.run(raw);
      if (!path.ok) throw paramError(path.messages.join(', '));
      before = await contract.before(request, path.value as z.output<z.ZodObject<PathShape>>);
      input = validate(raw, path.value);
    } else {
      input = validate(raw);
    }
    const result = await handler(input, request, reply, before);
    // Succeeded: the same text next time is the same input (unless a header filled a parameter).
    if (memo && memoText !== undefined && Object.keys(asObject(request.query)).length === 0 && !usedHeaderFallback(request, contract as unknown as AnyContract, body)) {
      const { ...value } = input as Record<string, unknown>;
      for (const k of Object.keys(contract.pathParams ?? {})) delete value[k];
      memo.remember(memoText, value);
    }
    return result;
  }

  const register = (scope: FastifyInstance) =>
    scope.route({
      method: contract.method,
      url: contract.path,
      config: { auth: AUTH_MODE[contract.auth], scopes: [...(contract.scopes ?? [])], contract: contract as unknown as AnyContract },
      ...(contract.bodyLimit !== undefined ? { bodyLimit: contract.bodyLimit } : {}),
      handler: handle,
    });

  if (contract.body === 'raw') {
    // The body is data whatever its Content-Type: GitLab appends `request.body.read` to a job log
    // (lib/api/ci/runner.rb), so curl's default form type must not turn it into parameters.
    void app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, bytes, done) => done(null, bytes));
      register(scope);
    });
    return;
  }
  if (!memo) {
    register(app);
    return;
  }
  // The body stays text in this route's own scope, so that it can be looked up before parsing.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, bytes, done) => {
      try {
        done(null, jsonText(bytes as Buffer));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    register(scope);
  });
}

function usedHeaderFallback(request: FastifyRequest, contract: AnyContract, body: unknown): boolean {
  const sent = { ...asObject(request.query), ...asObject(body) };
  return Object.keys(contract.headerFallbacks ?? {}).some((p) => sent[p] === undefined);
}
