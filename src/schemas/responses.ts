import { z } from 'zod';

// Response bodies as the routes declare them (the OpenAPI document's
// schemas, and what the contract test checks real responses against). Each
// names the fields clients rely on, with their types; GitLab adds fields
// over time, so objects are open (extra fields allowed).

const iso = () => z.string().describe('ISO 8601 timestamp');
const isoOrNull = () => z.string().nullable();

export const userBasic = z
  .looseObject({ id: z.number().int(), username: z.string(), name: z.string(), state: z.string(), avatar_url: z.string().nullable(), web_url: z.string() })
  .meta({ id: 'UserBasic', example: { id: 1, username: 'root', name: 'Administrator', state: 'active', locked: false, avatar_url: null, web_url: 'http://localhost:3000/root' } });

export const user = userBasic.extend({ created_at: iso() }).meta({ id: 'User' });

export const runner = z
  .looseObject({
    id: z.number().int(),
    description: z.string().nullable(),
    ip_address: z.null(),
    active: z.boolean(),
    paused: z.boolean(),
    is_shared: z.boolean(),
    runner_type: z.enum(['instance_type', 'group_type', 'project_type']),
    name: z.string().nullable(),
    online: z.boolean().nullable(),
    status: z.string(),
    job_execution_status: z.enum(['active', 'idle']),
  })
  .meta({
    id: 'Runner',
    example: {
      id: 6, description: 'test-1-20150125', ip_address: null, active: true, paused: false, is_shared: false, runner_type: 'project_type',
      name: null, online: true, created_at: '2025-01-25T10:00:00.000Z', status: 'online', job_execution_status: 'idle',
    },
  });
export const runnerList = z.array(runner);

export const runnerDetails = runner
  .extend({
    tag_list: z.array(z.string()),
    run_untagged: z.boolean(),
    locked: z.boolean(),
    maximum_timeout: z.number().int().nullable(),
    access_level: z.enum(['not_protected', 'ref_protected']),
    maintenance_note: z.string().nullable(),
    projects: z.array(z.looseObject({ id: z.number().int() })).optional(),
    groups: z.array(z.looseObject({ id: z.number().int() })),
  })
  .meta({ id: 'RunnerDetails' });

export const runnerManager = z
  .looseObject({
    id: z.number().int(),
    system_id: z.string(),
    version: z.string().nullable(),
    revision: z.string().nullable(),
    platform: z.string().nullable(),
    architecture: z.string().nullable(),
    created_at: isoOrNull(),
    contacted_at: isoOrNull(),
    ip_address: z.string().nullable(),
    status: z.string(),
    job_execution_status: z.enum(['active', 'idle']),
  })
  .meta({ id: 'RunnerManager' });

export const runnerProject = z
  .looseObject({ id: z.number().int(), name: z.string(), path: z.string(), path_with_namespace: z.string() })
  .meta({ id: 'RunnerProject' });

export const runnerJob = z
  .looseObject({ id: z.number().int(), status: z.string(), stage: z.string(), name: z.string(), ref: z.string() })
  .meta({ id: 'RunnerJob' });

export const tokenWithExpiry = z
  .looseObject({ token: z.string(), token_expires_at: isoOrNull() })
  .meta({ id: 'RunnerToken', example: { token: 'glrt-t1_2z3y4x5w6v7u8t9s0', token_expires_at: null } });

export const registeredRunner = z
  .looseObject({ id: z.number().int(), token: z.string(), token_expires_at: isoOrNull() })
  .meta({ id: 'RunnerRegistration', example: { id: 12345, token: 'glrt-t1_2z3y4x5w6v7u8t9s0', token_expires_at: null } });

export const registrationToken = z.looseObject({ token: z.string() }).meta({ id: 'RegistrationToken', example: { token: 'GR1348941x1y2z3' } });

export const group = z
  .looseObject({ id: z.number().int(), name: z.string(), path: z.string(), full_path: z.string(), visibility: z.string(), parent_id: z.number().int().nullable(), web_url: z.string() })
  .meta({ id: 'Group' });

export const project = z
  .looseObject({
    id: z.number().int(),
    name: z.string(),
    path: z.string(),
    path_with_namespace: z.string(),
    visibility: z.string().optional(),
    web_url: z.string(),
    namespace: z.looseObject({ id: z.number().int(), full_path: z.string() }),
  })
  .meta({ id: 'Project' });

export const member = userBasic.extend({ access_level: z.number().int(), created_at: iso(), expires_at: z.string().nullable() }).meta({ id: 'Member' });

export const personalAccessToken = z
  .looseObject({ id: z.number().int(), name: z.string(), revoked: z.boolean(), scopes: z.array(z.string()), user_id: z.number().int(), active: z.boolean(), expires_at: z.string().nullable(), token: z.string() })
  .meta({ id: 'PersonalAccessTokenWithToken' });

export const pipeline = z
  .looseObject({ id: z.number().int(), iid: z.number().int(), project_id: z.number().int(), status: z.string(), ref: z.string(), sha: z.string(), web_url: z.string() })
  .meta({ id: 'Pipeline' });

export const projectJob = z
  .looseObject({ id: z.number().int(), status: z.string(), stage: z.string(), name: z.string(), ref: z.string(), pipeline: z.looseObject({ id: z.number().int() }) })
  .meta({ id: 'Job' });

export const protectedBranch = z
  .looseObject({ id: z.number().int(), name: z.string(), push_access_levels: z.array(z.looseObject({ access_level: z.number().int() })), allow_force_push: z.boolean() })
  .meta({ id: 'ProtectedBranch', example: { id: 1, name: 'main', push_access_levels: [{ id: 1, access_level: 40, access_level_description: 'Maintainers', deploy_key_id: null, user_id: null, group_id: null }], merge_access_levels: [{ id: 1, access_level: 40, access_level_description: 'Maintainers', deploy_key_id: null, user_id: null, group_id: null }], allow_force_push: false, code_owner_approval_required: false } });

export const applicationSettings = z
  .looseObject({
    id: z.number().int(),
    runner_token_expiration_interval: z.number().int().nullable(),
    group_runner_token_expiration_interval: z.number().int().nullable(),
    project_runner_token_expiration_interval: z.number().int().nullable(),
    allow_runner_registration_token: z.boolean(),
    valid_runner_registrars: z.array(z.string()),
  })
  .meta({ id: 'ApplicationSettings' });

export const jobRequestResponse = z
  .looseObject({
    id: z.number().int(),
    token: z.string(),
    allow_git_fetch: z.boolean(),
    job_info: z.looseObject({ id: z.number().int(), name: z.string(), stage: z.string(), project_id: z.number().int() }),
    git_info: z.looseObject({ repo_url: z.string(), ref: z.string(), sha: z.string() }),
    steps: z.array(z.looseObject({ name: z.string(), script: z.array(z.string()) })),
    variables: z.array(z.looseObject({ key: z.string(), value: z.string() })),
    features: z.looseObject({ trace_sections: z.boolean(), failure_reasons: z.array(z.string()) }),
  })
  .meta({ id: 'JobRequestResponse' });

export const version = z
  .looseObject({ version: z.string(), revision: z.string(), enterprise: z.boolean() })
  .meta({ id: 'Version', example: { version: '18.6.0', revision: 'runners-api', kas: { enabled: false, externalUrl: null, version: null }, enterprise: false } });

/** Grape's validation errors and GitLab's API errors. */
/** GitLab's AuditEvent entity (doc/api/audit_events.md). */
export const auditEvent = z
  .looseObject({
    id: z.number().int(),
    author_id: z.number().int(),
    entity_id: z.number().int(),
    entity_type: z.string(),
    event_name: z.string(),
    details: z.looseObject({ custom_message: z.string().nullable(), author_name: z.string().nullable(), entity_path: z.string().nullable() }),
    created_at: iso(),
  })
  .meta({
    id: 'AuditEvent',
    example: {
      id: 1, author_id: 1, entity_id: 1, entity_type: 'Gitlab::Audit::InstanceScope', event_name: 'ci_runner_unregistered',
      details: { custom_message: 'Unregistered instance CI runner', author_name: 'Administrator', target_id: 6, target_type: 'Ci::Runner', target_details: '/admin/runners/6', ip_address: '127.0.0.1', entity_path: 'gitlab_instance' },
      created_at: '2026-12-03T10:00:00.000Z',
    },
  });
export const auditEventList = z.array(auditEvent);

/** POST /runners/cleanup (extension, docs/fleet-management.md). */
export const runnerCleanupResult = z
  .looseObject({
    dry_run: z.boolean(),
    matched: z.number().int(),
    deleted: z.number().int(),
    runners: z.array(z.looseObject({ id: z.number().int(), description: z.string().nullable(), runner_type: z.string(), contacted_at: isoOrNull() })),
  })
  .meta({ id: 'RunnerCleanupResult', example: { dry_run: true, matched: 1, deleted: 0, runners: [{ id: 6, description: 'old', runner_type: 'instance_type', contacted_at: null }] } });

export const errorBody = z.union([z.looseObject({ error: z.string() }), z.looseObject({ message: z.unknown() })]).meta({ id: 'Error' });
