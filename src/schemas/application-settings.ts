import { z } from 'zod';
import { glBoolean, glInteger, glStringArray } from './common.js';

// PUT /application/settings: the runner settings (docs.gitlab.com/api/settings).

export const VALID_RUNNER_REGISTRARS = ['project', 'group'] as const;

/** Grape `type: Integer` on an optional setting: null (or an empty form value) clears it. */
const nullableInterval = () => z.preprocess((v) => (v === '' ? null : v), glInteger().nullable()).optional();

export const updateApplicationSettingsBody = z.object({
  allow_runner_registration_token: glBoolean().optional(),
  valid_runner_registrars: glStringArray()
    .refine((values) => values.every((v) => (VALID_RUNNER_REGISTRARS as readonly string[]).includes(v)), { message: 'does not have a valid value' })
    .optional(),
  runner_token_expiration_interval: nullableInterval(),
  group_runner_token_expiration_interval: nullableInterval(),
  project_runner_token_expiration_interval: nullableInterval(),
});
export type UpdateApplicationSettingsInput = z.output<typeof updateApplicationSettingsBody>;
