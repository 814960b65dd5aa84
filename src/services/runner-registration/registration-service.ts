import type { AppContext } from '../../context.js';
import type { Namespace, Runner } from '../../generated/prisma/client.js';
import { forbidden, gone, validationError } from '../../lib/errors.js';
import { secureCompare, type RunnerTypeName } from '../../lib/tokens.js';
import type { ProjectWithNamespace } from '../../domain/project.js';
import { loadGroupFacts, loadProjectFacts } from '../namespaces/access-service.js';
import {
  ACCESS_LEVEL_IDS,
  computeTokenExpiry,
  issueRunnerToken,
  normalizeTags,
  REGISTRATION_TYPE,
  RUNNER_TYPE_IDS,
  validateRunner,
} from '../runners/runner-core.js';
import { getSettings } from '../settings/settings-service.js';
import { AUDIT_EVENTS, recordRunnerAuditEvents } from '../audit/audit-service.js';
import { UNAUTHENTICATED_AUTHOR_ID } from '../audit/audit-context.js';
import { withTransaction } from '../pipelines/transaction.js';

// Ci::Runners::RegisterRunnerService (GitLab's app/services/ci/runners/register_runner_service.rb): the legacy
// `gitlab-runner register` path, authenticated by a registration token.

/** What the registration token stands for. */
export type RegistrationTarget =
  | { type: 'instance_type' }
  | { type: 'project_type'; project: ProjectWithNamespace }
  | { type: 'group_type'; group: Namespace }
  /** Unknown token while the instance disallows registration tokens: GitLab answers 410, not 403. */
  | { type: 'disallowed' };

/** Attributes after attributes_for_keys (blank values already dropped) and the paused/active mapping. */
export interface RegistrationAttributes {
  description?: string;
  maintenance_note?: string;
  name?: string;
  active?: boolean;
  locked?: boolean;
  run_untagged?: boolean;
  access_level?: keyof typeof ACCESS_LEVEL_IDS;
  tag_list?: string[];
  maximum_timeout?: number;
}

/**
 * Token resolution in GitLab's order: the instance token, then a project
 * token (if 'project' is a valid registrar), then a group token (if 'group'
 * is). Registration tokens are looked up by digest; the instance one is
 * compared in constant time, and an unset instance token never matches.
 */
export async function resolveRegistrationToken(ctx: AppContext, token: string): Promise<RegistrationTarget | null> {
  if (token === '') return null;
  const settings = await getSettings(ctx);
  const digest = ctx.secrets.digest(token);
  const instanceDigest = settings.runners_registration_token_digest;
  if (instanceDigest && secureCompare(digest, instanceDigest)) return { type: 'instance_type' };

  if (settings.valid_runner_registrars.includes('project')) {
    const project = await ctx.prisma.project.findUnique({ where: { runners_token_digest: digest }, include: { namespace: true } });
    if (project) return { type: 'project_type', project };
  }
  if (settings.valid_runner_registrars.includes('group')) {
    const group = await ctx.prisma.namespace.findFirst({ where: { runners_token_digest: digest, kind: 'group' } });
    if (group) return { type: 'group_type', group };
  }
  if (!settings.allow_runner_registration_token) return { type: 'disallowed' };
  return null;
}

/** The allowed check: the instance setting, AND the root group's setting for group and project tokens. */
async function registrationAllowed(ctx: AppContext, target: Exclude<RegistrationTarget, { type: 'disallowed' }>): Promise<boolean> {
  switch (target.type) {
    case 'instance_type':
      return (await getSettings(ctx)).allow_runner_registration_token;
    case 'group_type':
      return (await loadGroupFacts(ctx, null, target.group)).registrationTokenAllowed;
    case 'project_type':
      return (await loadProjectFacts(ctx, null, target.project)).registrationTokenAllowed;
  }
}

const REGISTER_SQL = `
WITH r AS (
  INSERT INTO runners (runner_type, description, name, active, locked, run_untagged, access_level, maximum_timeout,
                       maintenance_note, tag_list, registration_type, sharding_key_id, token_digest, token_expires_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14)
  RETURNING *
), rp AS (
  INSERT INTO runner_projects (runner_id, project_id) SELECT r.id, $15::int FROM r WHERE $15::int IS NOT NULL
), rn AS (
  INSERT INTO runner_namespaces (runner_id, namespace_id) SELECT r.id, $16::int FROM r WHERE $16::int IS NOT NULL
)
SELECT * FROM r`;

export interface RegisteredRunner {
  runner: Runner;
  /** The plain token: shown this once, stored only as a digest. */
  token: string;
}

export async function registerRunner(ctx: AppContext, registrationToken: string, attrs: RegistrationAttributes): Promise<RegisteredRunner> {
  const target = await resolveRegistrationToken(ctx, registrationToken);
  if (!target) throw forbidden('invalid token supplied');
  if (target.type === 'disallowed' || !(await registrationAllowed(ctx, target))) throw gone('runner registration disallowed');

  const tags = normalizeTags(attrs.tag_list ?? []);
  const runUntagged = attrs.run_untagged ?? true;
  const errors = validateRunner(
    { ...attrs, run_untagged: runUntagged, tag_list: tags },
    { tags: tags.length > 0, description: attrs.description !== undefined },
  );
  if (Object.keys(errors).length > 0) throw validationError(errors);

  const type: RunnerTypeName = target.type;
  const scope =
    target.type === 'group_type' ? { groupIds: [target.group.id] } : target.type === 'project_type' ? { projectIds: [target.project.id] } : {};
  const expiresAt = await computeTokenExpiry(ctx, type, scope);
  const issued = issueRunnerToken(ctx, type, false);

  // One statement inserts the runner and its runner_projects /
  // runner_namespaces row together (a runner never exists without its
  // owner); its audit event commits in the same transaction.
  const ownerProject = target.type === 'project_type' ? target.project.id : null;
  const ownerGroup = target.type === 'group_type' ? target.group.id : null;
  const runner = await withTransaction(ctx, async (sql) => {
    const res = await sql.query<Runner>(REGISTER_SQL, [
      RUNNER_TYPE_IDS[type],
      attrs.description ?? null,
      attrs.name ?? null,
      attrs.active ?? true,
      attrs.locked ?? false,
      runUntagged,
      ACCESS_LEVEL_IDS[attrs.access_level ?? 'not_protected'],
      attrs.maximum_timeout ?? null,
      attrs.maintenance_note ?? null,
      tags,
      REGISTRATION_TYPE.registration_token,
      ownerGroup ?? ownerProject,
      issued.digest,
      expiresAt,
      ownerProject,
      ownerGroup,
    ]);
    const created = res.rows[0]!;
    // GitLab's RunnerRegistrationTokenAuthor: not a user; the token itself is never recorded.
    await recordRunnerAuditEvents(sql, [created.id], {
      eventName: AUDIT_EVENTS.runnerRegistered,
      message: `Registered ${type.replace('_type', '')} CI runner`,
      author: { id: UNAUTHENTICATED_AUTHOR_ID, name: `Registration token (${type.replace('_type', '')})` },
    });
    return created;
  })
    .catch((err: unknown) => {
      // The project or group was deleted since the token was resolved: its token is no longer valid.
      if ((err as { code?: string }).code === '23503') throw forbidden('invalid token supplied');
      throw err;
    });
  return { runner, token: issued.token };
}
