import type { AppContext } from '../../context.js';
import { INTERACTIVE_TX } from '../../db/client.js';
import { newInstanceRegistrationToken, newNamespaceRegistrationToken } from '../../lib/tokens.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import { instanceAbilities } from '../../policies/instance-policy.js';
import type { NamespacedId } from '../../schemas/common.js';
import { authorize, findGroupFor, findProjectFor } from '../namespaces/access-service.js';
import { getSettings } from '../settings/settings-service.js';
import { AUDIT_EVENTS, groupEntity, INSTANCE_SCOPE, projectEntity, recordAuditEvent } from '../audit/audit-service.js';

// Resetting the instance, project and group registration tokens
// (docs.gitlab.com/api/runners). Registration tokens must be shown again, so
// they are kept encrypted plus a digest for lookup. Each reset answers
// ResetTokenResult, which for these non-expiring tokens is {"token"} only.

/** POST /runners/reset_registration_token: admins, and only while registration tokens are allowed (else 403). */
export async function resetInstanceRegistrationToken(ctx: AppContext, actor: PolicyActor): Promise<{ token: string }> {
  const settings = await getSettings(ctx);
  authorize(instanceAbilities(actor, { allowRunnerRegistrationToken: settings.allow_runner_registration_token }), 'update_runners_registration_token');
  const token = newInstanceRegistrationToken();
  await ctx.prisma.$transaction(async (tx) => {
    await tx.applicationSetting.update({
      where: { id: 1 },
      data: { runners_registration_token_encrypted: ctx.secrets.encrypt(token), runners_registration_token_digest: ctx.secrets.digest(token) },
    });
    await recordAuditEvent(tx, { eventName: AUDIT_EVENTS.registrationTokenReset, message: 'Reset instance runner registration token', entity: INSTANCE_SCOPE });
  }, INTERACTIVE_TX);
  return { token };
}

/** POST /projects/:id/runners/reset_registration_token: 404 unless visible, then Maintainer+ and allowed (403). */
export async function resetProjectRegistrationToken(ctx: AppContext, actor: PolicyActor, id: NamespacedId): Promise<{ token: string }> {
  const { subject: project, can } = await findProjectFor(ctx, actor, id);
  authorize(can, 'update_runners_registration_token');
  const token = newNamespaceRegistrationToken();
  await ctx.prisma.$transaction(async (tx) => {
    await tx.project.update({
      where: { id: project.id },
      data: { runners_token_encrypted: ctx.secrets.encrypt(token), runners_token_digest: ctx.secrets.digest(token) },
    });
    await recordAuditEvent(tx, { eventName: AUDIT_EVENTS.registrationTokenReset, message: 'Reset project runner registration token', entity: projectEntity(project) });
  }, INTERACTIVE_TX);
  return { token };
}

/** POST /groups/:id/runners/reset_registration_token: 404 unless visible, then Owner and allowed (403). */
export async function resetGroupRegistrationToken(ctx: AppContext, actor: PolicyActor, id: NamespacedId): Promise<{ token: string }> {
  const { subject: group, can } = await findGroupFor(ctx, actor, id);
  authorize(can, 'update_runners_registration_token');
  const token = newNamespaceRegistrationToken();
  await ctx.prisma.$transaction(async (tx) => {
    await tx.namespace.update({
      where: { id: group.id },
      data: { runners_token_encrypted: ctx.secrets.encrypt(token), runners_token_digest: ctx.secrets.digest(token) },
    });
    await recordAuditEvent(tx, { eventName: AUDIT_EVENTS.registrationTokenReset, message: 'Reset group runner registration token', entity: groupEntity(group) });
  }, INTERACTIVE_TX);
  return { token };
}
