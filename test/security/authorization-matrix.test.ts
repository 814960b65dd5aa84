import { afterAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import { ALL_SCOPES, scopeAllows, type Scope } from '../../src/plugins/auth.js';
import { AccessLevel } from '../../src/policies/access-levels.js';
import { createTestApp } from '../helpers/app.js';
import { createPipeline, singleJob } from '../helpers/ci.js';
import { apiRoutes, fillUrl, pathParams, routeName, takesRunnerId, type RouteEntry } from '../helpers/route-table.js';

// Privilege boundaries, generated from the route table: every route × every
// kind of caller (admin, each group role, non-member, blocked, anonymous,
// tokens with a single scope, expired / revoked / unknown tokens, Sudo with
// and without the sudo scope) × every kind of runner where the route takes a
// runner. Expectations come from two places:
//   - the auth layer (docs.gitlab.com/api/rest/authentication), for every route: anonymous →
//     401 unless the route's auth is 'none'/'optional'; expired and revoked
//     tokens → 401 invalid_token bodies; a scope the route does not accept →
//     403 insufficient_scope; blocked → 403; Sudo rules;
//   - a literal table (TABLE, USER_RUNNERS below) of the status each role
//     gets on the runner routes and the settings, per runner type, written
//     from GitLab's documented permissions, not computed by src/policies.
// And for every response: no other principal's token, no token digest, no
// `*_encrypted` value, no maintenance_note the caller may not edit.

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
  return { group, project, otherProject, users, tokens, jobId: job.id, pipelineId: pipeline.id, secrets };
}

/** Every digest and ciphertext in the database: none may ever appear in a response. */
async function storedSecrets(): Promise<string[]> {
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
  return rows.map((r) => r.v);
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

const ALL_VARIANTS: Variant[] = ['instance', 'group', 'project', 'project, two projects'];

// Expected statuses, literal: one row per route × runner (where the route takes
// one), one column per role, in ROLES order. Written from GitLab's documented
// permissions (docs.gitlab.com/api/runners, docs.gitlab.com/user/permissions)
// and Ci::RunnerPolicy: instance runners are readable by any signed-in user
// and administered by admins only; group runners are read by the group's
// Maintainers and administered by its Owners; project runners are read and
// administered by Maintainers of the owner project; a runner on more than one
// project cannot be deleted by a non-admin. Every membership in the fixture is
// on the group, so a role's level is the same on the group and both projects.
// A private group or project is invisible (404) to a non-member.

/** A status, or a status and the `message` its body must carry (null: body not checked). */
type Cell = number | readonly [number, string | null];
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

interface RouteTable {
  /** Runners the route is tried with; omitted: none ('-'). */
  variants?: Variant[];
  payload?: (c: CellInput) => Record<string, unknown>;
  rows: Partial<Record<Variant | '-', Row>>;
}

const TABLE: Record<string, RouteTable> = {
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
    payload: () => ({ description: 'changed by the authorization matrix' }),
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
  'GET /api/v4/projects/:id/runners': { rows: { '-': [200, 200, 200, f403, f403, f403, [404, PNF]] } },
  'GET /api/v4/groups/:id/runners': { rows: { '-': [200, 200, 200, f403, f403, f403, [404, GNF]] } },
  'POST /api/v4/projects/:id/runners': {
    variants: ['instance', 'group', 'project of the other project'],
    payload: (c) => ({ runner_id: c.runner!.runner.id }),
    rows: {
      instance: [[403, null], na, na, f403, f403, f403, [404, PNF]],
      group: [[403, GROUP_RUNNER], [403, GROUP_RUNNER], [403, GROUP_RUNNER], f403, f403, f403, [404, PNF]],
      'project of the other project': [201, 201, 201, f403, f403, f403, [404, PNF]],
    },
  },
  'DELETE /api/v4/projects/:id/runners/:runner_id': {
    variants: ['instance', 'group', 'project', 'project, also on the other project'],
    rows: {
      instance: [[404, RNF], [404, RNF], [404, RNF], f403, f403, f403, [404, PNF]],
      group: [[404, RNF], [404, RNF], [404, RNF], f403, f403, f403, [404, PNF]],
      project: [[403, null], na, na, f403, f403, f403, [404, PNF]],
      'project, also on the other project': [204, 204, 204, f403, f403, f403, [404, PNF]],
    },
  },
  'POST /api/v4/runners/reset_registration_token': { rows: { '-': [201, f403, f403, f403, f403, f403, f403] } },
  'POST /api/v4/projects/:id/runners/reset_registration_token': { rows: { '-': [201, 201, 201, f403, f403, f403, [404, PNF]] } },
  'POST /api/v4/groups/:id/runners/reset_registration_token': { rows: { '-': [201, 201, f403, f403, f403, f403, [404, GNF]] } },
  'GET /api/v4/application/settings': { rows: { '-': [200, f403, f403, f403, f403, f403, f403] } },
};

/** POST /user/runners, per runner type: instance → admin; group → Owner; project → Maintainer+. Invisible still gives 403. */
const ins: Cell = [403, INSUFFICIENT];
const USER_RUNNERS: Record<string, { payload: (f: Fixture) => Record<string, unknown>; row: Row }> = {
  instance_type: { payload: () => ({ runner_type: 'instance_type' }), row: [201, ins, ins, ins, ins, ins, ins] },
  group_type: { payload: (f) => ({ runner_type: 'group_type', group_id: f.group.id }), row: [201, 201, ins, ins, ins, ins, ins] },
  project_type: { payload: (f) => ({ runner_type: 'project_type', project_id: f.project.id }), row: [201, 201, 201, ins, ins, ins, ins] },
};

function cellFor(row: Row, role: Role): Expectation {
  const cell = row[ROLES.indexOf(role)]!;
  const [status, message] = typeof cell === 'number' ? [cell, null] : cell;
  return { kind: 'status', status, ...(message !== null ? { body: { message } } : {}) };
}

/** Whether the role may update the runner (and so see its maintenance_note): PUT's row says 200. */
const mayUpdateRunner = (role: Role, v: Variant): boolean => {
  const row = TABLE['PUT /api/v4/runners/:id']!.rows[v];
  return row !== undefined && cellFor(row, role).kind === 'status' && (cellFor(row, role) as { status: number }).status === 200;
};

/** What the auth layer answers before any role rule, or `undefined` to go on as `role`. */
function authLayer(route: RouteEntry, caller: Caller): { expectation?: Expectation; role?: Role | 'anonymous' } {
  if (route.auth === 'none') return { role: 'anonymous' };
  const scopeError = (scopes: string) => ({ kind: 'status' as const, status: 403, body: { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope: scopes } });
  switch (caller.kind) {
    case 'role':
      return { role: caller.role };
    case 'scope':
      return scopeAllows([caller.scope], route.method, route.scopes) ? { role: 'admin' } : { expectation: scopeError([...route.scopes, 'api', 'read_api'].join(' ')) };
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

function pathFor(route: RouteEntry, c: CellInput): string {
  const values: Record<string, string> = {};
  for (const p of pathParams(route.url)) {
    const is = (name: string, seg: string) => p.name === name || (p.name === 'id' && p.after === seg);
    let v: number | string = 1;
    if (is('runner_id', 'runners')) v = c.runner?.runner.id ?? 1;
    else if (is('user_id', 'users') || p.after === 'members') v = c.f.users.developer.id;
    else if (is('job_id', 'jobs')) v = c.f.jobId;
    else if (is('pipeline_id', 'pipelines')) v = c.f.pipelineId;
    else if (is('project_id', 'projects')) v = c.f.project.id;
    else if (is('group_id', 'groups')) v = c.f.group.id;
    else if (p.after === 'protected_branches') v = c.f.project.default_branch;
    values[p.name] = encodeURIComponent(String(v));
  }
  return fillUrl(route.url, values);
}

// ---------------------------------------------------------------------------

const counts = { cells: 0, roleCells: 0, authCells: 0, anyCells: 0, bodiesScanned: 0, routesWithRoleRules: 0 };
const cellsByCaller = new Map<string, number>();
const routesWithoutRoleRules: string[] = [];

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

describe('authorization matrix (generated from the route table)', () => {
  for (const route of routes) {
    const name = routeName(route);
    const rule = TABLE[name];
    const isUserRunners = name === 'POST /api/v4/user/runners';
    it(`${name} (${route.auth}${route.scopes.length ? `, scopes ${route.scopes.join(' ')}` : ''})`, { timeout: 300_000 }, async () => {
      const f = await buildFixture();
      const problems: string[] = [];
      if (rule || isUserRunners) counts.routesWithRoleRules++;
      else routesWithoutRoleRules.push(name);

      const variants: (Variant | undefined)[] = rule?.variants ?? (takesRunnerId(route.url) ? ALL_VARIANTS : isUserRunners ? (Object.keys(USER_RUNNERS) as Variant[]) : [undefined]);
      for (const variant of variants) {
        for (const caller of CALLERS) {
          const runner = variant && !isUserRunners ? await makeRunner(f, variant) : undefined;
          const c: CellInput = { f, runner, variant };
          const payload = isUserRunners ? USER_RUNNERS[variant as string]!.payload(f) : rule?.payload?.(c);
          const res = await t.app.inject({
            method: route.method as 'GET',
            url: pathFor(route, c),
            headers: { ...headersFor(caller, f), ...(payload ? { 'content-type': 'application/json' } : {}) },
            ...(payload ? { payload: JSON.stringify(payload) } : {}),
          });
          const stored = await storedSecrets();

          const layer = authLayer(route, caller);
          let expectation: Expectation;
          if (layer.expectation) {
            expectation = layer.expectation;
            counts.authCells++;
          } else if (layer.role === 'anonymous') {
            expectation = { kind: 'any' };
            counts.anyCells++;
          } else if (isUserRunners) {
            expectation = cellFor(USER_RUNNERS[variant as string]!.row, layer.role!);
            counts.roleCells++;
          } else if (rule) {
            expectation = cellFor(rule.rows[variant ?? '-']!, layer.role!);
            counts.roleCells++;
          } else {
            expectation = { kind: 'any' };
            counts.anyCells++;
          }
          counts.cells++;
          cellsByCaller.set(caller.key, (cellsByCaller.get(caller.key) ?? 0) + 1);

          const role = layer.role === 'anonymous' || layer.role === undefined ? undefined : layer.role;
          const mayUpdate = role !== undefined && variant !== undefined && !isUserRunners && mayUpdateRunner(role, variant);
          const where = `${caller.key}${variant ? ` × ${variant} runner` : ''}`;
          const problem = check(res, expectation);
          if (problem) problems.push(`${where}: ${problem}`);
          for (const leak of leaks(res, f, stored, layer.role, c, mayUpdate)) problems.push(`${where}: ${leak}`);
        }
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

  it('summary: matrix cell counts', () => {
    console.log(
      `authorization-matrix: ${routes.length} routes (${counts.routesWithRoleRules} with literal role expectations), ${CALLERS.length} caller kinds, ` +
        `${counts.cells} cells (${counts.roleCells} role, ${counts.authCells} auth-layer, ${counts.anyCells} auth-passed without a role rule), ${counts.bodiesScanned} bodies scanned for secrets`,
    );
    console.log(`authorization-matrix: cells per caller: ${[...cellsByCaller].map(([k, v]) => `${k}=${v}`).join(', ')}`);
    if (routesWithoutRoleRules.length > 0) console.log(`authorization-matrix: auth-layer expectations only: ${routesWithoutRoleRules.join(', ')}`);
    expect(counts.cells).toBeGreaterThan(routes.length * CALLERS.length - 1);
    expect(counts.routesWithRoleRules).toBeGreaterThanOrEqual(Object.keys(TABLE).filter((k) => routes.some((r) => routeName(r) === k)).length);
  });
});
