import type { PolicyActor } from './access-levels.js';

export type InstanceAbility =
  | 'read_all_runners'
  | 'create_instance_runner'
  | 'update_runners_registration_token'
  | 'read_runners_registration_token'
  | 'admin_users'
  | 'read_application_settings'
  | 'update_application_settings';

export interface InstanceFacts {
  allowRunnerRegistrationToken: boolean;
}

/** GlobalPolicy + ApplicationSettingPolicy (GitLab's app/policies). Admin mode is off: admins are always admins. */
export function instanceAbilities(actor: PolicyActor | null, facts: InstanceFacts): Set<InstanceAbility> {
  const can = new Set<InstanceAbility>();
  if (!actor?.admin) return can;
  can.add('read_all_runners');
  can.add('create_instance_runner');
  can.add('admin_users');
  can.add('read_application_settings');
  can.add('update_application_settings');
  if (facts.allowRunnerRegistrationToken) {
    can.add('update_runners_registration_token');
    can.add('read_runners_registration_token');
  }
  return can;
}
