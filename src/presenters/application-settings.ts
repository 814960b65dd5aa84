import type { ApplicationSetting } from '../generated/prisma/client.js';

/**
 * The runner-related part of Entities::ApplicationSetting, in GitLab's order
 * (visible attributes, then `valid_runner_registrars`). `runnersRegistrationToken`
 * is the instance registration token, given only to those who may read it
 * (admins, while registration tokens are allowed); null otherwise.
 */
export function presentApplicationSettings(settings: ApplicationSetting, runnersRegistrationToken: string | null) {
  return {
    id: settings.id,
    updated_at: settings.updated_at.toISOString(),
    runner_token_expiration_interval: settings.runner_token_expiration_interval,
    group_runner_token_expiration_interval: settings.group_runner_token_expiration_interval,
    project_runner_token_expiration_interval: settings.project_runner_token_expiration_interval,
    allow_runner_registration_token: settings.allow_runner_registration_token,
    valid_runner_registrars: settings.valid_runner_registrars,
    runners_registration_token: runnersRegistrationToken,
    /** Extension (docs/fleet-management.md): scheduled deletion of stale runners. */
    stale_runner_pruning_enabled: settings.stale_runner_pruning_enabled,
  };
}
