import type { AppContext } from '../../context.js';
import { INTERACTIVE_TX } from '../../db/client.js';
import type { ApplicationSetting, User } from '../../generated/prisma/client.js';
import { forbidden, validationError } from '../../lib/errors.js';
import { instanceAbilities } from '../../policies/instance-policy.js';
import type { UpdateApplicationSettingsInput } from '../../schemas/application-settings.js';
import { INSTANCE_SCOPE, recordSettingChanges } from '../audit/audit-service.js';

/** The single application_settings row (created at bootstrap). */
export async function getSettings(ctx: AppContext): Promise<ApplicationSetting> {
  const row = await ctx.prisma.applicationSetting.findUnique({ where: { id: 1 } });
  if (row) return row;
  return ctx.prisma.applicationSetting.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
}

// ---------------------------------------------------------------------------
// GET/PUT /application/settings (admin): the runner settings of docs.gitlab.com/api/settings.

const INTERVAL_KEYS = ['runner_token_expiration_interval', 'group_runner_token_expiration_interval', 'project_runner_token_expiration_interval'] as const;

export interface SettingsView {
  settings: ApplicationSetting;
  /** The instance registration token, for admins while registration tokens are allowed; else null. */
  runnersRegistrationToken: string | null;
}

async function view(ctx: AppContext, actor: User, settings: ApplicationSetting): Promise<SettingsView> {
  const can = instanceAbilities(actor, { allowRunnerRegistrationToken: settings.allow_runner_registration_token });
  const token =
    can.has('read_runners_registration_token') && settings.runners_registration_token_encrypted
      ? ctx.secrets.decrypt(settings.runners_registration_token_encrypted)
      : null;
  return { settings, runnersRegistrationToken: token };
}

/** The settings API is for admins only: 403 {"message":"403 Forbidden"}, checked before any parameter. */
export function authorizeSettings(actor: User): void {
  if (!instanceAbilities(actor, { allowRunnerRegistrationToken: false }).has('update_application_settings')) throw forbidden();
}

/** GET /application/settings. */
export async function readSettingsFor(ctx: AppContext, actor: User): Promise<SettingsView> {
  authorizeSettings(actor);
  return view(ctx, actor, await getSettings(ctx));
}

/**
 * PUT /application/settings (admin). Intervals are seconds, null clears one
 * (0 also means "no expiry"); a negative one → 400 {"message":{key:[...]}}.
 */
export async function updateSettings(ctx: AppContext, actor: User, input: UpdateApplicationSettingsInput): Promise<SettingsView> {
  authorizeSettings(actor);
  const errors: Record<string, string[]> = {};
  for (const key of INTERVAL_KEYS) {
    const value = input[key];
    if (typeof value === 'number' && value < 0) errors[key] = ['must be greater than or equal to 0'];
  }
  if (Object.keys(errors).length) throw validationError(errors);
  const data: Record<string, unknown> = {};
  if (input.allow_runner_registration_token !== undefined) data.allow_runner_registration_token = input.allow_runner_registration_token;
  if (input.valid_runner_registrars !== undefined) data.valid_runner_registrars = [...new Set(input.valid_runner_registrars)];
  for (const key of INTERVAL_KEYS) if (input[key] !== undefined) data[key] = input[key];
  if (input.stale_runner_pruning_enabled !== undefined) data.stale_runner_pruning_enabled = input.stale_runner_pruning_enabled;
  const settings = await ctx.prisma.$transaction(async (tx) => {
    const before = await tx.applicationSetting.findUniqueOrThrow({ where: { id: 1 } });
    const after = await tx.applicationSetting.update({ where: { id: 1 }, data });
    await recordSettingChanges(tx, before as unknown as Record<string, unknown>, data, INSTANCE_SCOPE);
    return after;
  }, INTERACTIVE_TX);
  return view(ctx, actor, settings);
}
