import { z } from 'zod';
import { declareParams } from '../lib/route-contract/index.js';
import { glBoolean, glInteger, glStringArray } from './common.js';

// PUT /application/settings: the runner settings (docs.gitlab.com/api/settings).

export const VALID_RUNNER_REGISTRARS = ['project', 'group'] as const;

/** Grape `type: Integer` on an optional setting: null (or an empty form value) clears it. */
const nullableInterval = () => z.preprocess((v) => (v === '' ? null : v), glInteger().nullable()).optional();

const updateSettingsShape = {
  allow_runner_registration_token: glBoolean().optional(),
  valid_runner_registrars: glStringArray({ values: VALID_RUNNER_REGISTRARS, strict: true }).optional(),
  runner_token_expiration_interval: nullableInterval(),
  group_runner_token_expiration_interval: nullableInterval(),
  project_runner_token_expiration_interval: nullableInterval(),
  /** Extension (docs/fleet-management.md). */
  stale_runner_pruning_enabled: glBoolean().optional(),
};
export const updateApplicationSettingsParams = declareParams(updateSettingsShape);
export type UpdateApplicationSettingsInput = z.output<z.ZodObject<typeof updateSettingsShape>>;
