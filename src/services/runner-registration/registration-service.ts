import type { AppContext } from '../../context.js';
import { queryPrepared } from '../../db/prepared.js';
import type { Runner } from '../../generated/prisma/client.js';
import { forbidden, gone, validationError } from '../../lib/errors.js';
import { secureCompare, type RunnerTypeName } from '../../lib/tokens.js';
import { ACCESS_LEVEL_IDS, issueRunnerToken, normalizeTags, REGISTRATION_TYPE, RUNNER_TYPE_IDS, validateRunner } from '../runners/runner-core.js';
import { getSettings } from '../settings/settings-service.js';
import {
  AUDIT_EVENTS,
  groupEntity,
  INSTANCE_SCOPE,
  projectEntity,
  runnerAuditCteSql,
  runnerAuditCteValues,
  type AuditEntity,
} from '../audit/audit-service.js';
import { UNAUTHENTICATED_AUTHOR_ID } from '../audit/audit-context.js';

// Ci::Runners::RegisterRunnerService (GitLab's app/services/ci/runners/register_runner_service.rb): the legacy
// `gitlab-runner register` path, authenticated by a registration token.

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

// Registration is measured in the benchmark (bench/README.md, scenario 7), so
// it is plain SQL (docs/architecture.md): one statement reads everything the
// token stands for, one statement writes the runner, its owner link and its
// audit event (atomic without BEGIN/COMMIT round trips).

/** `pos(x)`: a positive interval, else NULL (an unset or zero interval imposes no limit). */
const pos = (x: string) => `CASE WHEN ${x} > 0 THEN ${x} END`;

/**
 * What a registration token stands for, in GitLab's order of lookup: the
 * instance token (compared in constant time in JS), then a project token
 * (if 'project' is a valid registrar), then a group token (if 'group' is);
 * with each candidate its scope's facts: the root group's
 * allow_runner_registration_token, and the token expiry interval as
 * computeTokenExpiry (runner-core.ts) derives it: the least positive of the
 * instance's, the ancestors' and the owner's own interval.
 */
const RESOLVE_SQL = `
SELECT s.allow_runner_registration_token AS allow, s.valid_runner_registrars AS registrars,
       s.runners_registration_token_digest AS instance_digest,
       ${pos('s.runner_token_expiration_interval')} AS instance_interval,
       p.id AS project_id, p.path_with_namespace AS project_path, p.root_allows AS project_root_allows, p.interval AS project_interval,
       g.id AS group_id, g.full_path AS group_path, g.root_allows AS group_root_allows, g.interval AS group_interval
  FROM application_settings s
  LEFT JOIN LATERAL (
    SELECT p.id, p.path_with_namespace,
           CASE WHEN n.kind = 'group' THEN COALESCE(
                  (SELECT root.allow_runner_registration_token FROM namespaces root WHERE root.id = COALESCE(n.traversal_ids[1], n.id)), true)
                ELSE true END AS root_allows,
           LEAST(${pos('s.project_runner_token_expiration_interval')}, ${pos('p.runner_token_expiration_interval')},
                 CASE WHEN n.kind = 'group' THEN
                   (SELECT min(${pos('a.project_runner_token_expiration_interval')}) FROM namespaces a WHERE a.id = ANY(n.traversal_ids)) END) AS interval
      FROM projects p JOIN namespaces n ON n.id = p.namespace_id
     WHERE p.runners_token_digest = $1::text AND 'project' = ANY(s.valid_runner_registrars)
  ) p ON true
  LEFT JOIN LATERAL (
    SELECT g.id, g.full_path,
           CASE WHEN COALESCE(g.traversal_ids[1], g.id) = g.id THEN g.allow_runner_registration_token
                ELSE COALESCE((SELECT root.allow_runner_registration_token FROM namespaces root WHERE root.id = g.traversal_ids[1]), true) END AS root_allows,
           LEAST(${pos('s.group_runner_token_expiration_interval')}, ${pos('g.runner_token_expiration_interval')},
                 (SELECT min(${pos('a.subgroup_runner_token_expiration_interval')}) FROM namespaces a
                   WHERE a.id = ANY(g.traversal_ids) AND a.id <> g.id)) AS interval
      FROM namespaces g
     WHERE g.runners_token_digest = $1::text AND g.kind = 'group' AND 'group' = ANY(s.valid_runner_registrars)
     LIMIT 1
  ) g ON true
 WHERE s.id = 1`;

interface ResolveRow {
  allow: boolean;
  registrars: string[];
  instance_digest: string | null;
  instance_interval: number | null;
  project_id: number | null;
  project_path: string | null;
  project_root_allows: boolean | null;
  project_interval: number | null;
  group_id: number | null;
  group_path: string | null;
  group_root_allows: boolean | null;
  group_interval: number | null;
}

/** The runner's type, owner, audit scope and token expiry interval a registration token stands for. */
interface RegistrationTarget {
  type: RunnerTypeName;
  projectId: number | null;
  groupId: number | null;
  entity: AuditEntity;
  /** Registration tokens allowed: the instance setting, AND the root group's for group and project tokens. */
  allowed: boolean;
  intervalSeconds: number | null;
}

/** The target, `disallowed` (an unknown token while registration tokens are off: GitLab answers 410, not 403), or null. */
async function resolveRegistrationToken(ctx: AppContext, token: string): Promise<RegistrationTarget | 'disallowed' | null> {
  if (token === '') return null;
  const digest = ctx.secrets.digest(token);
  let row = (await queryPrepared<ResolveRow>(ctx, { text: RESOLVE_SQL, values: [digest], generic: false })).rows[0];
  if (!row) {
    // The settings row exists from bootstrap on; getSettings recreates it otherwise.
    await getSettings(ctx);
    row = (await queryPrepared<ResolveRow>(ctx, { text: RESOLVE_SQL, values: [digest], generic: false })).rows[0]!;
  }
  if (row.instance_digest && secureCompare(digest, row.instance_digest)) {
    return { type: 'instance_type', projectId: null, groupId: null, entity: INSTANCE_SCOPE, allowed: row.allow, intervalSeconds: row.instance_interval };
  }
  if (row.project_id !== null) {
    return {
      type: 'project_type',
      projectId: row.project_id,
      groupId: null,
      entity: projectEntity({ id: row.project_id, path_with_namespace: row.project_path! }),
      allowed: row.allow && row.project_root_allows!,
      intervalSeconds: row.project_interval,
    };
  }
  if (row.group_id !== null) {
    return {
      type: 'group_type',
      projectId: null,
      groupId: row.group_id,
      entity: groupEntity({ id: row.group_id, full_path: row.group_path! }),
      allowed: row.allow && row.group_root_allows!,
      intervalSeconds: row.group_interval,
    };
  }
  return row.allow ? null : 'disallowed';
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
), audit AS (
  ${runnerAuditCteSql('r', 17)}
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
  if (target === 'disallowed' || !target.allowed) throw gone('runner registration disallowed');

  const tags = normalizeTags(attrs.tag_list ?? []);
  const runUntagged = attrs.run_untagged ?? true;
  const errors = validateRunner(
    { ...attrs, run_untagged: runUntagged, tag_list: tags },
    { tags: tags.length > 0, description: attrs.description !== undefined },
  );
  if (Object.keys(errors).length > 0) throw validationError(errors);

  const { type } = target;
  const expiresAt = target.intervalSeconds === null ? null : new Date(Date.now() + target.intervalSeconds * 1000);
  const issued = issueRunnerToken(ctx, type, false);
  const scopeName = type.replace('_type', '');

  // One statement inserts the runner, its runner_projects / runner_namespaces
  // row (a runner never exists without its owner) and its audit event.
  const res = await queryPrepared<Runner>(ctx, {
    text: REGISTER_SQL,
    values: [
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
      target.groupId ?? target.projectId,
      issued.digest,
      expiresAt,
      target.projectId,
      target.groupId,
      // GitLab's RunnerRegistrationTokenAuthor: not a user; the token itself is never recorded.
      ...runnerAuditCteValues({
        eventName: AUDIT_EVENTS.runnerRegistered,
        message: `Registered ${scopeName} CI runner`,
        author: { id: UNAUTHENTICATED_AUTHOR_ID, name: `Registration token (${scopeName})` },
        entity: target.entity,
      }),
    ],
    generic: false,
  }).catch((err: unknown) => {
    // The project or group was deleted since the token was resolved: its token is no longer valid.
    if ((err as { code?: string }).code === '23503') throw forbidden('invalid token supplied');
    throw err;
  });
  return { runner: res.rows[0]!, token: issued.token };
}
