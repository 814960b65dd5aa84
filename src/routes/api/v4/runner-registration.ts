import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ApiError, paramError } from '../../../lib/errors.js';
import { presentRegistrationDetails, presentResetTokenResult } from '../../../presenters/runner-registration.js';
import { mutuallyExclusive, parseInput } from '../../../schemas/common.js';
import {
  authenticateRunnerSchema,
  registerRunnerSchema,
  unregisterRunnerManagerSchema,
  unregisterRunnerSchema,
  type AuthenticateRunnerInput,
  type RegisterRunnerInput,
} from '../../../schemas/runner-registration.js';
import type { HeartbeatDetails } from '../../../services/runner-auth/runner-auth-service.js';
import { registerRunner, type RegistrationAttributes } from '../../../services/runner-registration/registration-service.js';
import {
  resetAuthenticationToken,
  unregisterRunner,
  unregisterRunnerManager,
  verifyRunner,
} from '../../../services/runner-registration/runner-token-service.js';

// The endpoints gitlab-runner itself calls (lib/api/ci/runner.rb, resource
// :runners). They take no user credentials: the body (or query) `token` is the
// credential. The runner also sends it as the RUNNER-TOKEN header, which is
// used only when the param is absent.

const RUNNER_TOKEN_HEADER = 'runner-token';
const runnerTokenRoute = { config: { auth: 'none' as const } };

/** Grape's params: query and body merged (body wins), with the header token as a fallback. */
function runnerParams(request: FastifyRequest): Record<string, unknown> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const body = request.body && typeof request.body === 'object' && !Buffer.isBuffer(request.body) ? (request.body as Record<string, unknown>) : {};
  const input: Record<string, unknown> = { ...query, ...body };
  const header = request.headers[RUNNER_TOKEN_HEADER];
  if (input.token === undefined && typeof header === 'string') input.token = header;
  return input;
}

/** parseInput plus `mutually_exclusive` rules, reported together as Grape does. */
function parseParams<S extends z.ZodType>(schema: S, input: Record<string, unknown>, exclusive: string[][] = []): z.output<S> {
  const messages: string[] = [];
  let parsed: z.output<S> | undefined;
  try {
    parsed = parseInput(schema, input);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    messages.push(String(err.body.error));
  }
  for (const keys of exclusive) {
    try {
      mutuallyExclusive(input, keys);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      messages.push(String(err.body.error));
    }
  }
  if (messages.length > 0) throw paramError(messages.join(', '));
  return parsed as z.output<S>;
}

/** `attributes_for_keys`: keep a value only if it is present (non-blank) or exactly false. */
function registrationAttributes(p: RegisterRunnerInput): RegistrationAttributes {
  const keep = <T>(v: T | undefined): T | undefined =>
    v === undefined || v === '' || (Array.isArray(v) && v.length === 0) ? undefined : v;
  const paused = p.paused;
  return {
    description: keep(p.description),
    // The deprecated maintainer_note counts only when maintenance_note is absent.
    maintenance_note: keep(p.maintenance_note) ?? keep(p.maintainer_note),
    name: keep(p.info?.name),
    active: paused !== undefined ? !paused : p.active,
    locked: p.locked,
    run_untagged: p.run_untagged,
    access_level: p.access_level,
    tag_list: keep(p.tag_list),
    maximum_timeout: p.maximum_timeout,
  };
}

function heartbeatDetails(request: FastifyRequest, p: AuthenticateRunnerInput): HeartbeatDetails {
  return { systemId: p.system_id, info: p.info, ipAddress: request.ip };
}

export default async function runnerRegistrationRoutes(app: FastifyInstance) {
  app.post('/runners', runnerTokenRoute, async (request, reply) => {
    const p = parseParams(registerRunnerSchema, runnerParams(request), [
      ['maintainer_note', 'maintenance_note'],
      ['active', 'paused'],
    ]);
    const { runner, token } = await registerRunner(app.ctx, p.token, registrationAttributes(p));
    request.logRunnerId = runner.id;
    return reply.code(201).send(presentRegistrationDetails(runner, token));
  });

  app.post('/runners/verify', runnerTokenRoute, async (request, reply) => {
    const p = parseParams(authenticateRunnerSchema, runnerParams(request));
    const { runner } = await verifyRunner(app.ctx, p.token, heartbeatDetails(request, p));
    request.logRunnerId = runner.id;
    return reply.code(200).send(presentRegistrationDetails(runner, p.token));
  });

  app.delete('/runners', runnerTokenRoute, async (request, reply) => {
    const p = parseParams(unregisterRunnerSchema, runnerParams(request));
    await unregisterRunner(app.ctx, p.token, request.headers['if-unmodified-since']);
    return reply.code(204).send();
  });

  app.delete('/runners/managers', runnerTokenRoute, async (request, reply) => {
    const p = parseParams(unregisterRunnerManagerSchema, runnerParams(request));
    await unregisterRunnerManager(app.ctx, p.token, p.system_id, request.headers['if-unmodified-since']);
    return reply.code(204).send();
  });

  app.post('/runners/reset_authentication_token', runnerTokenRoute, async (request, reply) => {
    const p = parseParams(authenticateRunnerSchema, runnerParams(request));
    const result = await resetAuthenticationToken(app.ctx, p.token, heartbeatDetails(request, p));
    return reply.code(201).send(presentResetTokenResult(result));
  });
}
