import type { FastifyInstance, FastifyRequest } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { presentRegistrationDetails, presentResetTokenResult } from '../../../presenters/runner-registration.js';
import * as res from '../../../schemas/responses.js';
import {
  authenticateRunnerParams,
  registerRunnerParams,
  unregisterRunnerManagerParams,
  unregisterRunnerParams,
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

const runnerToken = { tags: ['runners (runner)'], auth: 'runner-token' as const, headerFallbacks: { token: 'runner-token' } };

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
  defineRoute(
    app,
    { method: 'POST', path: '/runners', summary: 'Register a runner with a registration token', ...runnerToken, params: registerRunnerParams, responses: { 201: { description: 'The runner and its authentication token', schema: res.registeredRunner } } },
    async (p, request, reply) => {
      const { runner, token } = await registerRunner(app.ctx, p.token, registrationAttributes(p));
      request.logRunnerId = runner.id;
      return reply.code(201).send(presentRegistrationDetails(runner, token));
    },
  );

  defineRoute(
    app,
    { method: 'POST', path: '/runners/verify', summary: "Verify a runner's authentication token", ...runnerToken, params: authenticateRunnerParams, responses: { 200: { description: 'The runner', schema: res.registeredRunner } } },
    async (p, request, reply) => {
      const { runner } = await verifyRunner(app.ctx, p.token, heartbeatDetails(request, p));
      request.logRunnerId = runner.id;
      return reply.code(200).send(presentRegistrationDetails(runner, p.token));
    },
  );

  defineRoute(
    app,
    { method: 'DELETE', path: '/runners', summary: 'Unregister a runner', ...runnerToken, params: unregisterRunnerParams, responses: { 204: { description: 'Unregistered' } } },
    async (p, request, reply) => {
      await unregisterRunner(app.ctx, p.token, request.headers['if-unmodified-since']);
      return reply.code(204).send();
    },
  );

  defineRoute(
    app,
    { method: 'DELETE', path: '/runners/managers', summary: 'Unregister one runner manager', ...runnerToken, params: unregisterRunnerManagerParams, responses: { 204: { description: 'Unregistered' } } },
    async (p, request, reply) => {
      await unregisterRunnerManager(app.ctx, p.token, p.system_id, request.headers['if-unmodified-since']);
      return reply.code(204).send();
    },
  );

  defineRoute(
    app,
    { method: 'POST', path: '/runners/reset_authentication_token', summary: "Reset a runner's authentication token (with that token)", ...runnerToken, params: authenticateRunnerParams, responses: { 201: { description: 'The new token', schema: res.tokenWithExpiry } } },
    async (p, request, reply) => {
      const result = await resetAuthenticationToken(app.ctx, p.token, heartbeatDetails(request, p));
      return reply.code(201).send(presentResetTokenResult(result));
    },
  );
}
