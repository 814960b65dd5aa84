import { z } from 'zod';
import { declareParams, mutuallyExclusive } from '../lib/route-contract/index.js';
import { glBoolean, glEnum, glHash, glInteger, glString, glStringArray } from './common.js';

// Params of the runner-token endpoints (lib/api/ci/runner.rb), with Grape's
// semantics: an optional param sent as JSON null counts as absent, and a
// `requires :token` that is present but null behaves like an empty token
// (GitLab looks up `token.to_s`, finds nothing and answers 403).

const absentIfNull = (v: unknown) => (v === null ? undefined : v);

/** An optional Grape param: null is treated as not sent. */
const opt = <S extends z.ZodType>(schema: S) => z.preprocess(absentIfNull, schema.optional());


/** `requires :token, type: String`. */
const runnerToken = () => z.preprocess((v) => (v === null ? '' : v), glString());

/** system_xid is at most 64 characters (Ci::RunnerManager validation). */
export const SYSTEM_ID_MAX = 64;
const systemId = () => glString({ max: SYSTEM_ID_MAX });

/**
 * The `info` hash the runner sends (gitlab-runner's Go `common.Info`).
 * Only the keys the server keeps are declared; others (e.g. `shell`) are
 * dropped. Lengths follow the ci_runner_machines column limits, so a value
 * the database would refuse is a 400 instead of a 500.
 */
export const runnerInfoSchema = z.object({
  name: opt(glString()), // not stored by a heartbeat
  version: opt(glString({ max: 2048 })),
  revision: opt(glString({ max: 255 })),
  platform: opt(glString({ max: 255 })),
  architecture: opt(glString({ max: 255 })),
  executor: opt(glString({ max: 255 })),
  features: opt(glHash()),
  config: opt(z.object({ gpus: opt(glString({ max: 255 })) })),
  labels: opt(glHash()),
});
export type RunnerInfoInput = z.output<typeof runnerInfoSchema>;

/** POST /runners (legacy registration with a registration token). */
const registerRunnerShape = {
  token: runnerToken(),
  description: opt(glString()),
  maintainer_note: opt(glString()),
  maintenance_note: opt(glString()),
  // Registration declares only these info keys; only `name` is stored.
  info: opt(
    z.object({
      name: opt(glString()),
      version: opt(glString()),
      revision: opt(glString()),
      platform: opt(glString()),
      architecture: opt(glString()),
    }),
  ),
  active: opt(glBoolean()),
  paused: opt(glBoolean()),
  locked: opt(glBoolean()),
  access_level: opt(glEnum(['not_protected', 'ref_protected'])),
  run_untagged: opt(glBoolean()),
  tag_list: glStringArray().optional(),
  maximum_timeout: opt(glInteger()),
};
export const registerRunnerParams = declareParams(registerRunnerShape, mutuallyExclusive('maintainer_note', 'maintenance_note'), mutuallyExclusive('active', 'paused'));
export type RegisterRunnerInput = z.output<z.ZodObject<typeof registerRunnerShape>>;

/**
 * POST /runners/verify and POST /runners/reset_authentication_token: the
 * runner token plus what `authenticate_runner!` heartbeats with.
 */
export const authenticateRunnerShape = {
  token: runnerToken(),
  system_id: opt(systemId()),
  info: opt(runnerInfoSchema),
};
export const authenticateRunnerParams = declareParams(authenticateRunnerShape);
export type AuthenticateRunnerInput = z.output<z.ZodObject<typeof authenticateRunnerShape>>;

/** DELETE /runners. */
export const unregisterRunnerParams = declareParams({ token: runnerToken() });

/** DELETE /runners/managers: both params are required. */
export const unregisterRunnerManagerParams = declareParams({
  token: runnerToken(),
  system_id: z.preprocess(absentIfNull, systemId()),
});
