import type { AppContext } from '../../context.js';
import { INTERACTIVE_TX } from '../../db/client.js';
import type { Runner } from '../../generated/prisma/client.js';
import { badRequest, forbidden } from '../../lib/errors.js';
import type { PolicyActor } from '../../policies/access-levels.js';
import { instanceAbilities } from '../../policies/instance-policy.js';
import { groupAbilities, projectAbilities } from '../../policies/namespace-policy.js';
import type { UserRunnerInput } from '../../schemas/runners.js';
import { loadGroupFacts, loadProjectFacts } from '../namespaces/access-service.js';
import { getSettings } from '../settings/settings-service.js';
import {
  ACCESS_LEVEL_IDS,
  computeTokenExpiry,
  fullMessagesSentence,
  issueRunnerToken,
  normalizeTags,
  REGISTRATION_TYPE,
  RUNNER_TYPE_IDS,
  validateRunner,
} from './runner-core.js';
import { AUDIT_EVENTS, recordRunnerAuditEvents } from '../audit/audit-service.js';

// POST /user/runners (docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user): Ci::Runners::CreateRunnerService
// with its three creation strategies. The runner gets a `glrt-` token that
// is shown once, in this response.

export interface CreatedRunner {
  runner: Runner;
  token: string;
}

/** `attributes_for_keys`: only present values (or an explicit false) are kept; "" and null are dropped. */
const present = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null && (v as unknown) !== '';

/** The owner's lookup ignores visibility (find_by_id): an existing but hidden group/project gets 403, not 400. */
async function authorizeCreation(ctx: AppContext, actor: PolicyActor, input: UserRunnerInput): Promise<{ groupId?: number; projectId?: number }> {
  if (input.runner_type === 'group_type') {
    const group = await ctx.prisma.namespace.findFirst({ where: { id: input.group_id, kind: 'group' } });
    if (!group) throw badRequest('Missing/invalid group');
    if (!groupAbilities(actor, await loadGroupFacts(ctx, actor, group)).has('create_runners')) throw forbidden('Insufficient permissions');
    return { groupId: group.id };
  }
  if (input.runner_type === 'project_type') {
    const project = await ctx.prisma.project.findUnique({ where: { id: input.project_id }, include: { namespace: true } });
    if (!project) throw badRequest('Missing/invalid project');
    if (!projectAbilities(actor, await loadProjectFacts(ctx, actor, project)).has('create_runners')) throw forbidden('Insufficient permissions');
    return { projectId: project.id };
  }
  const settings = await getSettings(ctx);
  if (!instanceAbilities(actor, { allowRunnerRegistrationToken: settings.allow_runner_registration_token }).has('create_instance_runner')) {
    throw forbidden('Insufficient permissions');
  }
  return {};
}

export async function createUserRunner(ctx: AppContext, actor: PolicyActor, input: UserRunnerInput): Promise<CreatedRunner> {
  const owner = await authorizeCreation(ctx, actor, input);
  const attrs = {
    description: present(input.description) ? input.description : null,
    maintenance_note: present(input.maintenance_note) ? input.maintenance_note : null,
    maximum_timeout: present(input.maximum_timeout) ? input.maximum_timeout : null,
    run_untagged: input.run_untagged ?? true,
    locked: input.locked ?? false,
    active: input.paused === undefined ? true : !input.paused,
    access_level: ACCESS_LEVEL_IDS[input.access_level ?? 'not_protected'],
    tag_list: normalizeTags(input.tag_list ?? []),
  };
  const errors = validateRunner(attrs, { tags: true, description: true });
  if (Object.keys(errors).length > 0) throw badRequest(fullMessagesSentence(errors));

  const issued = issueRunnerToken(ctx, input.runner_type, true);
  const expiresAt = await computeTokenExpiry(ctx, input.runner_type, {
    groupIds: owner.groupId !== undefined ? [owner.groupId] : [],
    projectIds: owner.projectId !== undefined ? [owner.projectId] : [],
  });
  const runner = await ctx.prisma.$transaction(async (tx) => {
    const created = await tx.runner.create({
      data: {
        ...attrs,
        runner_type: RUNNER_TYPE_IDS[input.runner_type],
        registration_type: REGISTRATION_TYPE.authenticated_user,
        creator_id: actor.id,
        sharding_key_id: owner.groupId ?? owner.projectId ?? null,
        token_digest: issued.digest,
        token_expires_at: expiresAt,
        // One nested create: the runner and its group/project link commit together.
        runner_namespaces: owner.groupId !== undefined ? { create: { namespace_id: owner.groupId } } : undefined,
        runner_projects: owner.projectId !== undefined ? { create: { project_id: owner.projectId } } : undefined,
      },
    });
    await recordRunnerAuditEvents(tx, [created.id], { eventName: AUDIT_EVENTS.runnerCreated, message: `Created ${input.runner_type.replace('_type', '')} CI runner` });
    return created;
  }, INTERACTIVE_TX);
  return { runner, token: issued.token };
}
