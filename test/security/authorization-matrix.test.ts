import { afterAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { ALL_SCOPES, type Scope } from '../../src/plugins/auth.js';
import { AccessLevel } from '../../src/policies/access-levels.js';
import { createTestApp } from '../helpers/app.js';
import { createPipeline, singleJob } from '../helpers/ci.js';
import { diffSnapshots, snapshotDb, writeMark, type DbSnapshot } from '../helpers/db-snapshot.js';
import { apiRoutes, fillUrl, pathParams, routeName, takesRunnerId, type RouteEntry } from '../helpers/route-table.js';

// Privilege boundaries, generated from the route table: every route × every
// kind of caller (admin, each group role, non-member, blocked, anonymous,
// tokens with a single scope, expired / revoked / unknown tokens, Sudo with
// and without the sudo scope) × every kind of runner where the route takes a
// runner. Every cell is compared with a literal expectation, as GitLab's
// request specs do, never with what src/policies computes:
//   - the auth layer (docs.gitlab.com/api/rest/authentication): anonymous →
//     401 unless the route's auth is 'none'/'optional'; expired and revoked
//     tokens → 401 invalid_token bodies; a token scope the route does not
//     accept (EXTRA_SCOPES, literal) → 403 insufficient_scope; blocked → 403;
//     Sudo rules;
//   - TABLE and USER_RUNNERS: the status and GitLab's message each role gets
//     on every route, per runner type where the route takes a runner, and what
//     an anonymous caller gets on the routes where a user is optional.
// A write the table denies must not write to the database; writes that
// succeed get their own target (a fresh runner, job, branch, user, name) per
// cell, so no cell depends on another. And for every response: no other
// principal's token, no token digest, no `*_encrypted` value, no
// maintenance_note the caller may not edit.

const t = await createTestApp();
const routes = apiRoutes(t.app);
afterAll(async () => t.close());

// ---------------------------------------------------------------------------
// Callers

type Role = 'admin' | 'owner' | 'maintainer' | 'developer' | 'reporter' | 'guest' | 'non_member';
const ROLE_LEVEL: Record<Role, number> = {
  admin: AccessLevel.NO_ACCESS,
  owner: AccessLevel.OWNER,
  maintainer: AccessLevel.MAINTAINER,
  developer: AccessLevel.DEVELOPER,
  reporter: AccessLevel.REPORTER,
  guest: AccessLevel.GUEST,
  non_member: AccessLevel.NO_ACCESS,
};
const ROLES = Object.keys(ROLE_LEVEL) as Role[];

type Caller =
  | { key: string; kind: 'role'; role: Role }
  | { key: string; kind: 'scope'; scope: Scope }
  | { key: 'anonymous' | 'expired' | 'revoked' | 'unknown' | 'blocked'; kind: 'auth' }
  | { key: string; kind: 'sudo'; role: Role }
  | { key: 'sudo without sudo scope' | 'sudo by a non-admin'; kind: 'sudo-denied' };

const CALLERS: Caller[] = [
  ...ROLES.map((role): Caller => ({ key: role, kind: 'role', role })),
  ...ALL_SCOPES.map((scope): Caller => ({ key: `admin token with only ${scope}`, kind: 'scope', scope })),
  { key: 'anonymous', kind: 'auth' },
  { key: 'expired', kind: 'auth' },
  { key: 'revoked', kind: 'auth' },
  { key: 'unknown', kind: 'auth' },
  { key: 'blocked', kind: 'auth' },
  { key: 'sudo as maintainer', kind: 'sudo', role: 'maintainer' },
  { key: 'sudo as non_member', kind: 'sudo', role: 'non_member' },
  { key: 'sudo without sudo scope', kind: 'sudo-denied' },
  { key: 'sudo by a non-admin', kind: 'sudo-denied' },
];

// ---------------------------------------------------------------------------
// The world: a private group with two projects, a member of every role.

interface Fixture {
  group: Namespace & { runnersToken: string };
  project: Project & { runnersToken: string };
  otherProject: Project & { runnersToken: string };
  users: Record<Exclude<Role, 'admin'> | 'blocked', { id: number; username: string; token: string }>;
  tokens: { admin: string; scope: Record<Scope, string>; expired: string; revoked: string; adminSudo: string; ownerSudo: string };
  jobId: number;
  pipelineId: number;
  /** An audit event of the group and one of the project, both written by root. */
  auditEvents: { group: number; project: number };
  /** Secrets that must never show up where they do not belong. */
  secrets: { value: string; what: string; visibleTo?: (role: Role) => boolean }[];
}

const NOTE_PREFIX = 'maintenance-note-secret-';

async function buildFixture(): Promise<Fixture> {
  const root = await t.ctx.prisma.user.findFirstOrThrow({ where: { username: 'root' } });
  const group = await t.fx.group();
  const project = await t.fx.project({ namespace: group });
  const otherProject = await t.fx.project({ namespace: group });
  const users = {} as Fixture['users'];
  for (const role of ['owner', 'maintainer', 'developer', 'reporter', 'guest', 'non_member', 'blocked'] as const) {
    const { user, token } = await t.fx.user({ state: role === 'blocked' ? 'blocked' : 'active' });
    if (role !== 'non_member' && role !== 'blocked') await t.fx.groupMember(group, user, ROLE_LEVEL[role]);
    users[role] = { id: user.id, username: user.username, token };
  }
  const maintainer = await t.ctx.prisma.user.findUniqueOrThrow({ where: { id: users.maintainer.id } });
  const owner = await t.ctx.prisma.user.findUniqueOrThrow({ where: { id: users.owner.id } });
  const scope = {} as Record<Scope, string>;
  for (const s of ALL_SCOPES) scope[s] = await t.fx.token(root, [s]);
  const tokens = {
    admin: await t.fx.token(root, ['api']),
    scope,
    expired: await t.fx.token(maintainer, ['api'], { expiresAt: new Date('2020-01-01') }),
    revoked: await t.fx.token(maintainer, ['api'], { revoked: true }),
    adminSudo: await t.fx.token(root, ['api', 'sudo']),
    ownerSudo: await t.fx.token(owner, ['api', 'sudo']),
  };
  const pipeline = await createPipeline(t, project, singleJob('build'), { token: tokens.admin });
  const job = await t.ctx.prisma.job.findFirstOrThrow({ where: { pipeline_id: pipeline.id } });

  // Registration tokens: the group's to its Owners, a project's to its Maintainers and Owners, all to admins.
  const groupTokenReaders = new Set<Role>(['admin', 'owner']);
  const projectTokenReaders = new Set<Role>(['admin', 'owner', 'maintainer']);
  const secrets: Fixture['secrets'] = [
    { value: t.rootToken, what: "root's token" },
    ...Object.entries(tokens).flatMap(([k, v]) => (typeof v === 'string' ? [{ value: v, what: `token ${k}` }] : Object.entries(v).map(([s, tok]) => ({ value: tok, what: `token ${s}` })))),
    ...Object.entries(users).map(([role, u]) => ({ value: u.token, what: `${role}'s token` })),
    { value: group.runnersToken, what: "the group's registration token", visibleTo: (role) => groupTokenReaders.has(role) },
    { value: project.runnersToken, what: "the project's registration token", visibleTo: (role) => projectTokenReaders.has(role) },
    { value: otherProject.runnersToken, what: "the other project's registration token", visibleTo: (role) => projectTokenReaders.has(role) },
  ];
  const settings = await t.ctx.prisma.applicationSetting.findUniqueOrThrow({ where: { id: 1 } });
  if (settings.runners_registration_token_encrypted) {
    secrets.push({ value: t.ctx.secrets.decrypt(settings.runners_registration_token_encrypted), what: 'the instance registration token', visibleTo: (role) => role === 'admin' });
  }
  const auditEvent = (entity: { type: 'Group' | 'Project'; id: number; path: string }) =>
    t.ctx.prisma.auditEvent.create({
      data: { author_id: root.id, author_name: root.name, entity_type: entity.type, entity_id: entity.id, entity_path: entity.path, event_name: 'authorization_matrix', custom_message: 'Written by the authorization matrix' },
    });
  const auditEvents = {
    group: (await auditEvent({ type: 'Group', id: group.id, path: group.full_path })).id,
    project: (await auditEvent({ type: 'Project', id: project.id, path: project.path_with_namespace })).id,
  };
  return { group, project, otherProject, users, tokens, jobId: job.id, pipelineId: pipeline.id, auditEvents, secrets };
}

/** Every digest and ciphertext in the database: none may ever appear in a response. Read again only after a write. */
let storedCache: { mark: string; values: string[] } | undefined;
async function storedSecrets(): Promise<string[]> {
  const mark = await writeMark(t.db.pool);
  if (storedCache?.mark === mark) return storedCache.values;
  const { rows } = await t.db.pool.query<{ v: string }>(`
    SELECT token_digest AS v FROM personal_access_tokens
    UNION ALL SELECT token_digest FROM runners
    UNION ALL SELECT token_digest FROM jobs WHERE token_digest IS NOT NULL
    UNION ALL SELECT runners_token_digest FROM namespaces WHERE runners_token_digest IS NOT NULL
    UNION ALL SELECT runners_token_encrypted FROM namespaces WHERE runners_token_encrypted IS NOT NULL
    UNION ALL SELECT runners_token_digest FROM projects WHERE runners_token_digest IS NOT NULL
    UNION ALL SELECT runners_token_encrypted FROM projects WHERE runners_token_encrypted IS NOT NULL
    UNION ALL SELECT runners_registration_token_digest FROM application_settings WHERE runners_registration_token_digest IS NOT NULL
    UNION ALL SELECT runners_registration_token_encrypted FROM application_settings WHERE runners_registration_token_encrypted IS NOT NULL
    UNION ALL SELECT generated_secret_key FROM application_settings WHERE generated_secret_key IS NOT NULL`);
  storedCache = { mark, values: rows.map((r) => r.v) };
  return storedCache.values;
}

// ---------------------------------------------------------------------------
/** The runners a cell is run against. */
type Variant = 'instance' | 'group' | 'project' | 'project, two projects' | 'project of the other project' | 'project, also on the other project';

async function makeRunner(f: Fixture, variant: Variant) {
  const note = `${NOTE_PREFIX}${Math.random().toString(36).slice(2)}`;
  const common = { maintenanceNote: note };
  const made =
    variant === 'instance'
      ? await t.fx.runner({ type: 'instance_type', ...common })
      : variant === 'group'
        ? await t.fx.runner({ group: f.group, ...common })
        : variant === 'project'
          ? await t.fx.runner({ projects: [f.project], ...common })
          : variant === 'project, two projects'
            ? await t.fx.runner({ projects: [f.project, f.otherProject], ...common })
            : variant === 'project of the other project'
              ? await t.fx.runner({ projects: [f.otherProject], ...common })
              : await t.fx.runner({ projects: [f.otherProject, f.project], ...common });
  return { ...made, note };
}

// ---------------------------------------------------------------------------
// Expectations

type Expectation =
  | { kind: 'status'; status: number; body?: unknown }
  /** No role expectation for this route: anything below 500 that the auth layer let through. */
  | { kind: 'any' };

const deny = (status: number, message?: string): Expectation => ({ kind: 'status', status, ...(message !== undefined ? { body: { message } } : {}) });

interface CellInput {
  f: Fixture;
  runner?: Awaited<ReturnType<typeof makeRunner>>;
  variant?: Variant;
}

/** What a cell sends besides the caller's credentials: its body and any path value made for it alone. */
interface Prepared {
  payload?: Record<string, unknown>;
  /** Path parameter values that replace the fixture's (a fresh job to cancel, a fresh branch to unprotect). */
  path?: Record<string, string | number>;
}

const ALL_VARIANTS: Variant[] = ['instance', 'group', 'project', 'project, two projects'];

// Expected outcomes, literal: one row per route × runner (where the route
// takes one), one column per role, in ROLES order; `anonymous` for the routes
// that take an optional user, `everyone` for the runner- and job-token routes
// (a personal token means nothing there). Written from GitLab's code and
// documented permissions (docs.gitlab.com/api/runners, docs.gitlab.com/user/permissions,
// app/policies/ci/runner_policy.rb, project_policy.rb, group_policy.rb, the
// lib/api/*.rb of each route), never computed by src/policies.
//
// Runners: instance runners are readable by any signed-in user and
// administered by admins only; group runners are read by the group's
// Maintainers and administered by its Owners; project runners are read and
// administered by Maintainers of the owner project; a runner on more than one
// project cannot be deleted by a non-admin. Every membership in the fixture is
// on the group, so a role's level is the same on the group and both projects.
// A private group or project is invisible (404) to a non-member.

/** A status; a status and the `message` its body must carry (null: body not checked); or a status and the whole body. */
type Cell = number | readonly [number, unknown] | { readonly status: number; readonly body: unknown };
/**            admin  owner  maint. dev.   rep.   guest  non-member */
type Row = readonly [Cell, Cell, Cell, Cell, Cell, Cell, Cell];

const NA = '403 Forbidden - No access granted';
const F = '403 Forbidden';
const PNF = '404 Project Not Found';
const GNF = '404 Group Not Found';
const MANY = '403 Forbidden - Runner associated with more than one project';
const GROUP_RUNNER = '403 Forbidden - Runner is a group runner';
const RNF = '404 Runner Not Found';
const INSUFFICIENT = '403 Forbidden - Insufficient permissions';
const na: Cell = [403, NA];
const f403: Cell = [403, F];
const pnf: Cell = [404, PNF];
const gnf: Cell = [404, GNF];
/** ActiveRecord::RecordNotFound, as lib/api/api.rb renders it (lowercase f). */
const recordNotFound: Cell = [404, '404 Not found'];
/** A Grape parameter error: 400 {"error": ...}. */
const grape = (error: string): Cell => ({ status: 400, body: { error } });
const everyone = (cell: Cell): Row => [cell, cell, cell, cell, cell, cell, cell];

interface RouteTable {
  /** Runners the route is tried with; omitted: none ('-'). */
  variants?: Variant[];
  /** The body (and fresh path values) of one cell; called once per cell, so writes never share a target. */
  prepare?: (c: CellInput) => Promise<Prepared> | Prepared;
  rows: Partial<Record<Variant | '-', Row>>;
  /** Routes with an optional user: what an anonymous caller gets. */
  anonymous?: Cell;
  /** The route changes what other routes' cells rely on (registration tokens): it gets a fixture of its own. */
  ownFixture?: boolean;
}

let uniqueCounter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${uniqueCounter++}`;
/** A ref no branch protection covers: pipelines and jobs on a protected ref add ref rules this table is not about. */
const UNPROTECTED_REF = 'matrix-unprotected';

async function freshJob(f: Fixture): Promise<number> {
  const pipeline = await createPipeline(t, f.project, singleJob('cancel-me'), { token: f.tokens.admin, ref: UNPROTECTED_REF });
  return (await t.ctx.prisma.job.findFirstOrThrow({ where: { pipeline_id: pipeline.id } })).id;
}

const TABLE: Record<string, RouteTable> = {
  // --- Runners (lib/api/ci/runners.rb, Ci::RunnerPolicy)
  'GET /api/v4/runners': { rows: { '-': [200, 200, 200, 200, 200, 200, 200] } },
  'GET /api/v4/runners/all': { rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },
  ...Object.fromEntries(
    ['GET /api/v4/runners/:id', 'GET /api/v4/runners/:id/managers', 'GET /api/v4/runners/:id/projects'].map((name) => [
      name,
      {
        variants: ALL_VARIANTS,
        rows: {
          instance: [200, 200, 200, 200, 200, 200, 200],
          group: [200, 200, 200, na, na, na, na],
          project: [200, 200, 200, na, na, na, na],
          'project, two projects': [200, 200, 200, na, na, na, na],
        },
      } satisfies RouteTable,
    ]),
  ),
  'GET /api/v4/runners/:id/jobs': {
    variants: ALL_VARIANTS,
    rows: {
      instance: [200, na, na, na, na, na, na],
      group: [200, 200, 200, na, na, na, na],
      project: [200, 200, 200, na, na, na, na],
      'project, two projects': [200, 200, 200, na, na, na, na],
    },
  },
  'PUT /api/v4/runners/:id': {
    variants: ALL_VARIANTS,
    prepare: () => ({ payload: { description: 'changed by the authorization matrix' } }),
    rows: {
      instance: [200, na, na, na, na, na, na],
      group: [200, 200, na, na, na, na, na],
      project: [200, 200, 200, na, na, na, na],
      'project, two projects': [200, 200, 200, na, na, na, na],
    },
  },
  'POST /api/v4/runners/:id/reset_authentication_token': {
    variants: ALL_VARIANTS,
    rows: {
      instance: [201, na, na, na, na, na, na],
      group: [201, 201, na, na, na, na, na],
      project: [201, 201, 201, na, na, na, na],
      'project, two projects': [201, 201, 201, na, na, na, na],
    },
  },
  'DELETE /api/v4/runners/:id': {
    variants: ALL_VARIANTS,
    rows: {
      instance: [204, na, na, na, na, na, na],
      group: [204, 204, na, na, na, na, na],
      project: [204, 204, 204, na, na, na, na],
      'project, two projects': [204, [403, MANY], [403, MANY], [403, MANY], [403, MANY], [403, MANY], [403, MANY]],
    },
  },
  'GET /api/v4/projects/:id/runners': { rows: { '-': [200, 200, 200, f403, f403, f403, pnf] } },
  'GET /api/v4/groups/:id/runners': { rows: { '-': [200, 200, 200, f403, f403, f403, gnf] } },
  'POST /api/v4/projects/:id/runners': {
    variants: ['instance', 'group', 'project of the other project'],
    prepare: (c) => ({ payload: { runner_id: c.runner!.runner.id } }),
    rows: {
      instance: [[403, null], na, na, f403, f403, f403, pnf],
      group: [[403, GROUP_RUNNER], [403, GROUP_RUNNER], [403, GROUP_RUNNER], f403, f403, f403, pnf],
      'project of the other project': [201, 201, 201, f403, f403, f403, pnf],
    },
  },
  'DELETE /api/v4/projects/:id/runners/:runner_id': {
    variants: ['instance', 'group', 'project', 'project, also on the other project'],
    rows: {
      instance: [[404, RNF], [404, RNF], [404, RNF], f403, f403, f403, pnf],
      group: [[404, RNF], [404, RNF], [404, RNF], f403, f403, f403, pnf],
      project: [[403, null], na, na, f403, f403, f403, pnf],
      'project, also on the other project': [204, 204, 204, f403, f403, f403, pnf],
    },
  },
  'POST /api/v4/runners/reset_registration_token': { ownFixture: true, rows: { '-': [201, f403, f403, f403, f403, f403, f403] } },
  'POST /api/v4/projects/:id/runners/reset_registration_token': { ownFixture: true, rows: { '-': [201, 201, 201, f403, f403, f403, pnf] } },
  'POST /api/v4/groups/:id/runners/reset_registration_token': { ownFixture: true, rows: { '-': [201, 201, f403, f403, f403, f403, gnf] } },
  // Extension (docs/fleet-management.md), modelled on admin_runners: the instance's for admins, a group's for its Owners. A dry run.
  'POST /api/v4/runners/cleanup': { prepare: () => ({ payload: { contacted_before: '2000-01-01T00:00:00Z' } }), rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },
  'POST /api/v4/groups/:id/runners/cleanup': { prepare: () => ({ payload: { contacted_before: '2000-01-01T00:00:00Z' } }), rows: { '-': [200, 200, f403, f403, f403, f403, gnf] } },

  // --- Runner- and job-token routes (lib/api/ci/runner.rb): `token` is a required parameter, so a
  // personal token alone is a missing parameter; the trace upload authenticates the job first (403).
  'POST /api/v4/runners': { rows: { '-': everyone(grape('token is missing')) } },
  'POST /api/v4/runners/verify': { rows: { '-': everyone(grape('token is missing')) } },
  'DELETE /api/v4/runners': { rows: { '-': everyone(grape('token is missing')) } },
  'DELETE /api/v4/runners/managers': { rows: { '-': everyone(grape('token is missing, system_id is missing')) } },
  'POST /api/v4/runners/reset_authentication_token': { rows: { '-': everyone(grape('token is missing')) } },
  'POST /api/v4/jobs/request': { rows: { '-': everyone(grape('token is missing')) } },
  'PUT /api/v4/jobs/:id': { rows: { '-': everyone(grape('token is missing')) } },
  'PATCH /api/v4/jobs/:id/trace': { rows: { '-': everyone(f403) } },

  // --- Instance (lib/api/version.rb, metadata.rb, settings.rb: authenticated_as_admin!)
  'GET /api/v4/version': { rows: { '-': everyone(200) } },
  'GET /api/v4/metadata': { rows: { '-': everyone(200) } },
  'GET /api/v4/application/settings': { rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },
  'PUT /api/v4/application/settings': { prepare: () => ({ payload: { allow_runner_registration_token: true } }), rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },

  // --- Users (lib/api/users.rb, user.rb): lists and profiles to every signed-in user; creation and
  // tokens for others to admins (authenticated_as_admin!). Anonymous: `read_users_list` needs a
  // `username`, and GET /users/:id refuses before the lookup.
  'GET /api/v4/user': { rows: { '-': everyone(200) } },
  'GET /api/v4/users': { rows: { '-': everyone(200) }, anonymous: [403, '403 Forbidden - Not authorized to access /api/v4/users'] },
  'GET /api/v4/users/:id(^\\d+$)': { rows: { '-': everyone(200) }, anonymous: [403, '403 Forbidden - Not authorized!'] },
  'POST /api/v4/users': {
    prepare: () => {
      const username = unique('matrix-user');
      return { payload: { email: `${username}@example.com`, name: username, username, password: 'matrix-password-1' } };
    },
    rows: { '-': [201, f403, f403, f403, f403, f403, f403] },
  },
  'POST /api/v4/users/:user_id(^\\d+$)/personal_access_tokens': { prepare: () => ({ payload: { name: unique('matrix-token'), scopes: ['read_api'] } }), rows: { '-': [201, f403, f403, f403, f403, f403, f403] } },

  // --- Groups (lib/api/groups.rb): read_group for members; a subgroup needs create_subgroup
  // (subgroup_creation_level defaults to Maintainers); PUT needs admin_group (Owner).
  'GET /api/v4/groups': { rows: { '-': everyone(200) }, anonymous: 200 },
  'GET /api/v4/groups/:id': { rows: { '-': [200, 200, 200, 200, 200, 200, gnf] }, anonymous: gnf },
  'POST /api/v4/groups': {
    prepare: (c) => {
      const path = unique('matrix-subgroup');
      return { payload: { name: path, path, parent_id: c.f.group.id } };
    },
    rows: { '-': [201, 201, 201, f403, f403, f403, gnf] },
  },
  'PUT /api/v4/groups/:id': { prepare: () => ({ payload: { description: unique('described by the matrix') } }), rows: { '-': [200, 200, f403, f403, f403, f403, gnf] } },

  // --- Projects (lib/api/projects.rb): creating in a group needs the group's project_creation_level
  // (default: Developers and Maintainers), else Projects::CreateService's `namespace is not valid`;
  // PUT needs admin_project (Maintainer+).
  'POST /api/v4/projects': {
    prepare: (c) => {
      const path = unique('matrix-project');
      return { payload: { name: path, path, namespace_id: c.f.group.id } };
    },
    rows: { '-': [201, 201, 201, 201, [400, { namespace: ['is not valid'] }], [400, { namespace: ['is not valid'] }], [400, { namespace: ['is not valid'] }]] },
  },
  'GET /api/v4/projects/:id': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] }, anonymous: pnf },
  'PUT /api/v4/projects/:id': { prepare: () => ({ payload: { description: unique('described by the matrix') } }), rows: { '-': [200, 200, 200, f403, f403, f403, pnf] } },

  // --- Members (lib/api/members.rb): read_*_member for every member; adding needs
  // admin_group_member (Owner) / admin_project_member (Maintainer+).
  'GET /api/v4/groups/:id/members': { rows: { '-': [200, 200, 200, 200, 200, 200, gnf] } },
  'GET /api/v4/projects/:id/members': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] } },
  'POST /api/v4/groups/:id/members': {
    prepare: async () => ({ payload: { user_id: (await t.fx.user()).user.id, access_level: AccessLevel.DEVELOPER } }),
    rows: { '-': [201, 201, f403, f403, f403, f403, gnf] },
  },
  'POST /api/v4/projects/:id/members': {
    prepare: async () => ({ payload: { user_id: (await t.fx.user()).user.id, access_level: AccessLevel.DEVELOPER } }),
    rows: { '-': [201, 201, 201, f403, f403, f403, pnf] },
  },

  // --- Pipelines and jobs (lib/api/ci/pipelines.rb, jobs.rb): read_pipeline and read_build reach
  // Guests because "Public pipelines" (public_builds) is on by default (ProjectPolicy:
  // `public_builds & guest_access`); create_pipeline and update_build are Developer+.
  'POST /api/v4/projects/:id/pipeline': {
    prepare: () => ({ payload: { ref: UNPROTECTED_REF, content: singleJob('matrix') } }),
    rows: { '-': [201, 201, 201, 201, f403, f403, pnf] },
  },
  'GET /api/v4/projects/:id/pipelines': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] }, anonymous: pnf },
  'GET /api/v4/projects/:id/pipelines/:pipeline_id': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] }, anonymous: pnf },
  'GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] }, anonymous: pnf },
  'GET /api/v4/projects/:id/jobs': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] } },
  'GET /api/v4/projects/:id/jobs/:job_id': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] } },
  'GET /api/v4/projects/:id/jobs/:job_id/trace': { rows: { '-': [200, 200, 200, 200, 200, 200, pnf] } },
  'POST /api/v4/projects/:id/jobs/:job_id/cancel': {
    prepare: async (c) => ({ path: { job_id: await freshJob(c.f) } }),
    rows: { '-': [201, 201, 201, 201, f403, f403, pnf] },
  },

  // --- Protected branches (lib/api/protected_branches.rb): admin_project (Maintainer+) for all four.
  'GET /api/v4/projects/:id/protected_branches': { rows: { '-': [200, 200, 200, f403, f403, f403, pnf] } },
  'GET /api/v4/projects/:id/protected_branches/:name': { rows: { '-': [200, 200, 200, f403, f403, f403, pnf] } },
  'POST /api/v4/projects/:id/protected_branches': { prepare: () => ({ payload: { name: unique('matrix-protect') } }), rows: { '-': [201, 201, 201, f403, f403, f403, pnf] } },
  'DELETE /api/v4/projects/:id/protected_branches/:name': {
    prepare: async (c) => {
      const name = unique('matrix-unprotect');
      await t.ctx.prisma.protectedBranch.create({ data: { project_id: c.f.project.id, name } });
      return { path: { name } };
    },
    rows: { '-': [204, 204, 204, f403, f403, f403, pnf] },
  },

  // --- Audit events (ee/lib/api/audit_events.rb, ee/lib/ee/api/groups.rb, projects.rb): the
  // instance's to admins; a group's and a project's to Developers+ (read_group_audit_events,
  // read_project_audit_events), and only their own events unless they hold admin_group (Owner)
  // / admin_project (Maintainer+), so the event in the fixture, written by root, is a 404
  // (AuditEventFinder#find_by!) to the others.
  'GET /api/v4/audit_events': { rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },
  'GET /api/v4/audit_events/:audit_event_id': { rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },
  'GET /api/v4/groups/:id/audit_events': { rows: { '-': [200, 200, 200, 200, f403, f403, gnf] } },
  'GET /api/v4/groups/:id/audit_events/:audit_event_id': { rows: { '-': [200, 200, recordNotFound, recordNotFound, f403, f403, gnf] } },
  'GET /api/v4/projects/:id/audit_events': { rows: { '-': [200, 200, 200, 200, f403, f403, pnf] } },
  'GET /api/v4/projects/:id/audit_events/:audit_event_id': { rows: { '-': [200, 200, 200, recordNotFound, f403, f403, pnf] } },
};

/** POST /user/runners, per runner type: instance → admin; group → Owner; project → Maintainer+. Invisible still gives 403. */
const ins: Cell = [403, INSUFFICIENT];
const USER_RUNNERS: Record<string, { payload: (f: Fixture) => Record<string, unknown>; row: Row }> = {
  instance_type: { payload: () => ({ runner_type: 'instance_type' }), row: [201, ins, ins, ins, ins, ins, ins] },
  group_type: { payload: (f) => ({ runner_type: 'group_type', group_id: f.group.id }), row: [201, 201, ins, ins, ins, ins, ins] },
  project_type: { payload: (f) => ({ runner_type: 'project_type', project_id: f.project.id }), row: [201, 201, 201, ins, ins, ins, ins] },
};

// Scopes, literal (lib/api/api.rb and each API class's allow_access_with_scope): `api` everywhere,
// `read_api` on GET, and these on top; a token with none of them gets 403 insufficient_scope
// naming the route's scopes and then `api read_api`.
const READ_USER_ROUTES = ['GET /api/v4/version', 'GET /api/v4/metadata', 'GET /api/v4/user', 'GET /api/v4/users', 'GET /api/v4/users/:id(^\\d+$)'];
const MANAGE_RUNNER_ROUTES = [
  'GET /api/v4/runners/:id', 'PUT /api/v4/runners/:id', 'DELETE /api/v4/runners/:id', 'GET /api/v4/runners/:id/managers',
  'GET /api/v4/runners/:id/projects', 'GET /api/v4/runners/:id/jobs', 'POST /api/v4/runners/:id/reset_authentication_token',
];
const EXTRA_SCOPES: Record<string, Scope[]> = {
  ...Object.fromEntries(READ_USER_ROUTES.map((r) => [r, ['read_user']])),
  ...Object.fromEntries(MANAGE_RUNNER_ROUTES.map((r) => [r, ['manage_runner']])),
  'POST /api/v4/user/runners': ['create_runner'],
};
const tokenScopeAllowed = (name: string, method: string, scope: Scope): boolean =>
  scope === 'api' || (scope === 'read_api' && method === 'GET') || (EXTRA_SCOPES[name] ?? []).includes(scope);

function expectationOf(cell: Cell): Expectation {
  if (typeof cell === 'number') return { kind: 'status', status: cell };
  if ('status' in cell) return { kind: 'status', status: cell.status, body: cell.body };
  const [status, message] = cell;
  return { kind: 'status', status, ...(message !== null ? { body: { message } } : {}) };
}

const cellFor = (row: Row, role: Role): Expectation => expectationOf(row[ROLES.indexOf(role)]!);

/** Whether the role may update the runner (and so see its maintenance_note): PUT's row says 200. */
const mayUpdateRunner = (role: Role, v: Variant): boolean => {
  const row = TABLE['PUT /api/v4/runners/:id']!.rows[v];
  if (row === undefined) return false;
  const e = cellFor(row, role);
  return e.kind === 'status' && e.status === 200;
};

/** What the auth layer answers before any role rule, or `undefined` to go on as `role`. */
function authLayer(route: RouteEntry, caller: Caller): { expectation?: Expectation; role?: Role | 'anonymous' } {
  // Runner- and job-token routes: whatever personal credentials come along, the caller is nobody.
  if (route.auth === 'none') return { role: 'anonymous' };
  const name = routeName(route);
  const scopeError = (scopes: string) => ({ kind: 'status' as const, status: 403, body: { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope: scopes } });
  switch (caller.kind) {
    case 'role':
      return { role: caller.role };
    case 'scope':
      return tokenScopeAllowed(name, route.method, caller.scope) ? { role: 'admin' } : { expectation: scopeError([...(EXTRA_SCOPES[name] ?? []), 'api', 'read_api'].join(' ')) };
    case 'sudo':
      return { role: caller.role };
    case 'sudo-denied':
      return caller.key === 'sudo by a non-admin' ? { expectation: deny(403, '403 Forbidden - Must be admin to use sudo') } : { expectation: scopeError('sudo') };
    case 'auth':
      if (caller.key === 'anonymous') return route.auth === 'optional' ? { role: 'anonymous' } : { expectation: deny(401, '401 Unauthorized') };
      if (caller.key === 'unknown') return { expectation: deny(401, '401 Unauthorized') };
      if (caller.key === 'expired') return { expectation: { kind: 'status', status: 401, body: { error: 'invalid_token', error_description: 'Token is expired. You can either do re-authorization or token refresh.' } } };
      if (caller.key === 'revoked') return { expectation: { kind: 'status', status: 401, body: { error: 'invalid_token', error_description: 'Token was revoked. You have to re-authorize from the user.' } } };
      return { expectation: deny(403, '403 Forbidden - Your account has been blocked.') };
  }
}

function headersFor(caller: Caller, f: Fixture): Record<string, string> {
  switch (caller.kind) {
    case 'role':
      return { 'private-token': caller.role === 'admin' ? f.tokens.admin : f.users[caller.role].token };
    case 'scope':
      return { 'private-token': f.tokens.scope[caller.scope] };
    case 'sudo':
      return { 'private-token': f.tokens.adminSudo, sudo: f.users[caller.role === 'admin' ? 'owner' : caller.role as Exclude<Role, 'admin'>].username };
    case 'sudo-denied':
      return caller.key === 'sudo by a non-admin'
        ? { 'private-token': f.tokens.ownerSudo, sudo: f.users.maintainer.username }
        : { 'private-token': f.tokens.admin, sudo: f.users.maintainer.username };
    case 'auth':
      if (caller.key === 'anonymous') return {};
      if (caller.key === 'unknown') return { 'private-token': 'glpat-thisisnotatokenatall00' };
      if (caller.key === 'blocked') return { 'private-token': f.users.blocked.token };
      return { 'private-token': caller.key === 'expired' ? f.tokens.expired : f.tokens.revoked };
  }
}

function pathFor(route: RouteEntry, c: CellInput, overrides: Record<string, string | number> = {}): string {
  const values: Record<string, string> = {};
  for (const p of pathParams(route.url)) {
    const is = (name: string, seg: string) => p.name === name || (p.name === 'id' && p.after === seg);
    let v: number | string = 1;
    if (overrides[p.name] !== undefined) v = overrides[p.name]!;
    else if (is('runner_id', 'runners')) v = c.runner?.runner.id ?? 1;
    else if (is('user_id', 'users') || p.after === 'members') v = c.f.users.developer.id;
    else if (is('job_id', 'jobs')) v = c.f.jobId;
    else if (is('pipeline_id', 'pipelines')) v = c.f.pipelineId;
    else if (is('project_id', 'projects')) v = c.f.project.id;
    else if (is('group_id', 'groups')) v = c.f.group.id;
    else if (p.after === 'protected_branches') v = c.f.project.default_branch;
    else if (p.name === 'audit_event_id') v = route.url.startsWith('/api/v4/projects/') ? c.f.auditEvents.project : c.f.auditEvents.group;
    values[p.name] = encodeURIComponent(String(v));
  }
  return fillUrl(route.url, values);
}

// ---------------------------------------------------------------------------

const counts = { cells: 0, roleCells: 0, authCells: 0, anyCells: 0, bodiesScanned: 0, routesWithRoleRules: 0, deniedWritesChecked: 0 };
const cellsByCaller = new Map<string, number>();
const routesWithoutRoleRules: string[] = [];
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function check(res: LightMyRequestResponse, expectation: Expectation): string | undefined {
  if (res.statusCode >= 500) return `5xx ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (expectation.kind === 'any') return res.statusCode === 401 ? `an allowed caller got 401 ${res.body}` : undefined;
  if (res.statusCode !== expectation.status) return `expected ${expectation.status}, got ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (expectation.body !== undefined) {
    try {
      expect(res.json()).toEqual(expectation.body);
    } catch {
      return `expected body ${JSON.stringify(expectation.body)}, got ${res.body.slice(0, 300)}`;
    }
  }
  return undefined;
}

function leaks(res: LightMyRequestResponse, f: Fixture, stored: string[], role: Role | 'anonymous' | undefined, c: CellInput, mayUpdateRunner: boolean): string[] {
  counts.bodiesScanned++;
  const body = res.body;
  const out: string[] = [];
  for (const s of f.secrets) {
    if (!body.includes(s.value)) continue;
    const allowed = s.visibleTo && role !== undefined && role !== 'anonymous' && s.visibleTo(role) && res.statusCode < 300;
    if (!allowed) out.push(`leaks ${s.what}`);
  }
  for (const s of stored) if (body.includes(s)) out.push(`leaks a stored digest or ciphertext (${s.slice(0, 12)}…)`);
  if (c.runner && body.includes(c.runner.token)) out.push("leaks the runner's authentication token");
  if (c.runner && body.includes(c.runner.note) && !mayUpdateRunner) out.push('leaks maintenance_note to a caller who may not update the runner');
  if (!c.runner && body.includes(NOTE_PREFIX)) {
    // List endpoints: a note may appear only for runners the caller may update (checked by the runner routes);
    // the fixture's runners are all fresh per cell, so a stray note here is someone else's.
    out.push('leaks a maintenance_note of a runner not asked for');
  }
  return out;
}

/** What the table expects of `caller` on `route` (one runner variant), and as whom the caller acts. */
function expectationFor(route: RouteEntry, rule: RouteTable | undefined, caller: Caller, variant: Variant | undefined, isUserRunners: boolean): { expectation: Expectation; role: Role | 'anonymous' | undefined; kind: 'role' | 'auth' | 'any' } {
  const layer = authLayer(route, caller);
  if (layer.expectation) return { expectation: layer.expectation, role: undefined, kind: 'auth' };
  if (route.auth === 'none' && rule) return { expectation: cellFor(rule.rows['-']!, 'admin'), role: 'anonymous', kind: 'role' };
  if (layer.role === 'anonymous') {
    if (rule?.anonymous !== undefined) return { expectation: expectationOf(rule.anonymous), role: 'anonymous', kind: 'role' };
    return { expectation: { kind: 'any' }, role: 'anonymous', kind: 'any' };
  }
  if (isUserRunners) return { expectation: cellFor(USER_RUNNERS[variant as string]!.row, layer.role!), role: layer.role, kind: 'role' };
  if (rule) return { expectation: cellFor(rule.rows[variant ?? '-']!, layer.role!), role: layer.role, kind: 'role' };
  return { expectation: { kind: 'any' }, role: layer.role, kind: 'any' };
}

/**
 * "Nothing changed", cheaply: a database fingerprint (db-snapshot.ts) is taken
 * again only when PostgreSQL handed out a transaction id since the last one,
 * so a denied request that wrote nothing costs two tiny queries. Columns a
 * background flush may touch (contacted_at, heartbeats) are not compared.
 */
const unchanged = {
  snapshot: undefined as DbSnapshot | undefined,
  mark: '',
  snapshots: 0,
  ms: 0,
  async take() {
    const started = performance.now();
    this.mark = await writeMark(t.db.pool);
    this.snapshot = await snapshotDb(t.db.pool);
    this.snapshots++;
    this.ms += performance.now() - started;
  },
  async baseline() {
    if (this.snapshot === undefined || (await writeMark(t.db.pool)) !== this.mark) await this.take();
  },
  async changes(): Promise<string[]> {
    if ((await writeMark(t.db.pool)) === this.mark) return [];
    const before = this.snapshot!;
    await this.take();
    return diffSnapshots(before, this.snapshot!);
  },
};

let shared: Promise<Fixture> | undefined;
const sharedFixture = () => (shared ??= buildFixture());

describe('authorization matrix (generated from the route table)', () => {
  for (const route of routes) {
    const name = routeName(route);
    const rule = TABLE[name];
    const isUserRunners = name === 'POST /api/v4/user/runners';
    it(`${name} (${route.auth}${route.scopes.length ? `, scopes ${route.scopes.join(' ')}` : ''})`, { timeout: 300_000 }, async () => {
      const f = rule?.ownFixture ? await buildFixture() : await sharedFixture();
      const problems: string[] = [];
      if (rule || isUserRunners) counts.routesWithRoleRules++;
      else routesWithoutRoleRules.push(name);
      if (route.auth === 'optional' && rule && rule.anonymous === undefined) problems.push('the route takes an optional user but its row has no `anonymous` cell');

      const variants: (Variant | undefined)[] = rule?.variants ?? (takesRunnerId(route.url) ? ALL_VARIANTS : isUserRunners ? (Object.keys(USER_RUNNERS) as Variant[]) : [undefined]);
      // Every cell's target is made first (in parallel), then the cells the table denies run before
      // the ones it allows: the denied writes then follow one another with nothing written in
      // between, so proving "nothing changed" costs one database fingerprint per route.
      const cells = (
        await Promise.all(
          variants.flatMap((variant) =>
            CALLERS.map(async (caller) => {
              const runner = variant && !isUserRunners ? await makeRunner(f, variant) : undefined;
              const c: CellInput = { f, runner, variant };
              const prepared: Prepared = isUserRunners ? { payload: USER_RUNNERS[variant as string]!.payload(f) } : ((await rule?.prepare?.(c)) ?? {});
              const { expectation, role, kind } = expectationFor(route, rule, caller, variant, isUserRunners);
              const denied = expectation.kind === 'status' && expectation.status >= 400;
              return { caller, variant, c, prepared, expectation, role, kind, denied };
            }),
          ),
        )
      ).sort((a, b) => Number(b.denied) - Number(a.denied));

      for (const { caller, variant, c, prepared, expectation, role, kind, denied } of cells) {
        const { payload } = prepared;
        // A write the table denies must leave the database as it was.
        const deniedWrite = denied && MUTATING.has(route.method);
        if (deniedWrite) await unchanged.baseline();
        const res = await t.app.inject({
          method: route.method as 'GET',
          url: pathFor(route, c, prepared.path),
          headers: { ...headersFor(caller, f), ...(payload ? { 'content-type': 'application/json' } : {}) },
          ...(payload ? { payload: JSON.stringify(payload) } : {}),
        });
        const where = `${caller.key}${variant ? ` × ${variant} runner` : ''}`;
        if (deniedWrite) {
          counts.deniedWritesChecked++;
          const diff = await unchanged.changes();
          if (diff.length > 0) problems.push(`${where}: denied (${res.statusCode}) but changed the database: ${diff.join('; ')}`);
        }
        const stored = await storedSecrets();

        counts[kind === 'role' ? 'roleCells' : kind === 'auth' ? 'authCells' : 'anyCells']++;
        counts.cells++;
        cellsByCaller.set(caller.key, (cellsByCaller.get(caller.key) ?? 0) + 1);

        const actingRole = role === 'anonymous' || role === undefined ? undefined : role;
        const mayUpdate = actingRole !== undefined && variant !== undefined && !isUserRunners && mayUpdateRunner(actingRole, variant);
        const problem = check(res, expectation);
        if (problem) problems.push(`${where}: ${problem}`);
        for (const leak of leaks(res, f, stored, role, c, mayUpdate)) problems.push(`${where}: ${leak}`);
      }

      // Credentials mean nothing on routes that take none: every caller gets the same status.
      if (route.auth === 'none') {
        const statuses = new Set<number>();
        for (const caller of CALLERS) {
          const res = await t.app.inject({ method: route.method as 'GET', url: pathFor(route, { f }), headers: headersFor(caller, f) });
          statuses.add(res.statusCode);
        }
        if (statuses.size !== 1) problems.push(`credentials changed the answer of an auth: 'none' route: ${[...statuses].join(', ')}`);
      }
      expect(problems, `${problems.length} problems on ${name}`).toEqual([]);
    });
  }

  it('summary: every route has literal rows, and every row a route', () => {
    console.log(
      `authorization-matrix: ${routes.length} routes (${counts.routesWithRoleRules} with literal role expectations), ${CALLERS.length} caller kinds, ` +
        `${counts.cells} cells (${counts.roleCells} role, ${counts.authCells} auth-layer, ${counts.anyCells} without a literal expectation), ` +
        `${counts.deniedWritesChecked} denied writes checked for an unchanged database (${unchanged.snapshots} fingerprints, ${Math.round(unchanged.ms)} ms), ${counts.bodiesScanned} bodies scanned for secrets`,
    );
    console.log(`authorization-matrix: cells per caller: ${[...cellsByCaller].map(([k, v]) => `${k}=${v}`).join(', ')}`);
    expect(routesWithoutRoleRules, 'routes without literal rows').toEqual([]);
    expect(counts.anyCells).toBe(0);
    const served = new Set(routes.map(routeName));
    expect(Object.keys(TABLE).filter((k) => !served.has(k)), 'rows for routes the app does not serve').toEqual([]);
    expect([...READ_USER_ROUTES, ...MANAGE_RUNNER_ROUTES].filter((k) => !served.has(k)), 'scope rows for routes the app does not serve').toEqual([]);
    expect(counts.cells).toBeGreaterThan(routes.length * CALLERS.length - 1);
  });
});
