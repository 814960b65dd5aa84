import type { FastifyInstance } from 'fastify';
import type { Namespace, Project, Runner, User } from '../../src/generated/prisma/client.js';
import { ALL_SCOPES } from '../../src/plugins/auth.js';
import type { RouteEntry } from '../../src/plugins/route-table.js';
import { AccessLevel } from '../../src/policies/access-levels.js';
import type { TestApp } from './app.js';
import { createPipeline, singleJob } from './ci.js';

// The security suites are generated from the app's own route table
// (src/plugins/route-table.ts): every registered route, with its auth mode and
// scopes. This module fills a route's path parameters with ids from a fixture
// "world", so a route added later is exercised without editing any test.

export type { RouteEntry };
export type RunnerTypeName = 'instance_type' | 'group_type' | 'project_type';
export const RUNNER_TYPES: RunnerTypeName[] = ['instance_type', 'group_type', 'project_type'];

/** Every API route of the app (the /-/ health probes are not API routes). */
export function apiRoutes(app: FastifyInstance): RouteEntry[] {
  return app.routeTable.filter((r) => r.url.startsWith('/api/v4/'));
}

/** `:name` or `:name(regex)` segments of a Fastify URL pattern, in order. */
const PARAM = /:([A-Za-z0-9_]+)(\((?:\\.|[^)])*\))?/g;

export interface PathParam {
  name: string;
  /** The literal segment before it (`runners` for /runners/:id). */
  after: string | undefined;
}

export function pathParams(url: string): PathParam[] {
  const segments = url.split('/');
  const out: PathParam[] = [];
  segments.forEach((seg, i) => {
    for (const m of seg.matchAll(PARAM)) out.push({ name: m[1]!, after: segments[i - 1] });
  });
  return out;
}

/** The URL with each `:param` (and its regex) replaced by `values[param]`, taken as already URL-encoded. */
export function fillUrl(url: string, values: Record<string, string>): string {
  return url.replace(PARAM, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for :${name} in ${url}`);
    return v;
  });
}

export interface Member {
  user: User;
  token: string;
}

/** The fixture world the suites send requests against. */
export interface World {
  adminToken: string;
  group: Namespace & { runnersToken: string };
  project: Project & { runnersToken: string };
  /** A second project in the group, where the project runner is also assigned. */
  otherProject: Project & { runnersToken: string };
  runners: Record<RunnerTypeName, { runner: Runner; token: string }>;
  /** A project runner owned by `otherProject`, assignable to `project`. */
  assignableRunner: { runner: Runner; token: string };
  pipelineId: number;
  jobId: number;
  /** A user (Developer of the group) that user-id params point at. */
  member: Member;
}

/**
 * Builds a fresh world: a private group with two projects, one runner of each
 * type (the project runner is owned by `project` and also assigned to
 * `otherProject`), a pipeline with a pending job, and a fresh admin token
 * (root's, all scopes) so that a suite survives a route that revokes tokens.
 */
export async function buildWorld(t: TestApp): Promise<World> {
  const root = await t.ctx.prisma.user.findFirstOrThrow({ where: { username: 'root' } });
  const adminToken = await t.fx.token(root, [...ALL_SCOPES]);
  const group = await t.fx.group();
  const project = await t.fx.project({ namespace: group });
  const otherProject = await t.fx.project({ namespace: group });
  const member = await t.fx.user();
  await t.fx.groupMember(group, member.user, AccessLevel.DEVELOPER);
  const runners = {
    instance_type: await t.fx.runner({ type: 'instance_type' }),
    group_type: await t.fx.runner({ group }),
    project_type: await t.fx.runner({ projects: [project, otherProject] }),
  };
  const assignableRunner = await t.fx.runner({ projects: [otherProject] });
  const pipeline = await createPipeline(t, project, singleJob('build'), { token: adminToken });
  const job = await t.ctx.prisma.job.findFirstOrThrow({ where: { pipeline_id: pipeline.id } });
  return { adminToken, group, project, otherProject, runners, assignableRunner, pipelineId: pipeline.id, jobId: job.id, member };
}

/** The parts of the world a request can damage, each as comparable JSON. */
export type WorldState = Record<'runners' | 'registration' | 'branches' | 'structure', string>;

/**
 * What must stay as built for the world's ids and tokens to keep meaning the
 * same: runners (existence, token, links), registration tokens, and the rest
 * (group and projects, protected branches, memberships, the admin token, the
 * job). A request that only adds rows leaves it equal.
 */
export async function worldState(t: TestApp, w: World): Promise<WorldState> {
  const runnerIds = [...Object.values(w.runners), w.assignableRunner].map((r) => r.runner.id);
  const { rows } = await t.db.pool.query<WorldState>(
    `SELECT
       json_build_object(
         'runners', (SELECT json_agg(json_build_object('id', id, 'd', token_digest, 't', runner_type) ORDER BY id) FROM runners WHERE id = ANY($1)),
         'links', (SELECT json_agg(json_build_object('r', runner_id, 'p', project_id) ORDER BY runner_id, project_id) FROM runner_projects WHERE runner_id = ANY($1)),
         'groups', (SELECT json_agg(json_build_object('r', runner_id, 'n', namespace_id) ORDER BY runner_id) FROM runner_namespaces WHERE runner_id = ANY($1))
       )::text AS runners,
       json_build_object(
         'group', (SELECT runners_token_digest FROM namespaces WHERE id = $2),
         'projects', (SELECT json_agg(runners_token_digest ORDER BY id) FROM projects WHERE id = ANY($3))
       )::text AS registration,
       (SELECT json_agg(json_build_object('p', project_id, 'n', name) ORDER BY project_id, name) FROM protected_branches WHERE project_id = ANY($3))::text AS branches,
       json_build_object(
         'groups', (SELECT json_agg(json_build_object('id', id, 'p', full_path, 'v', visibility, 'a', allow_runner_registration_token, 'e', runner_registration_enabled) ORDER BY id) FROM namespaces WHERE id = $2),
         'projects', (SELECT json_agg(json_build_object('id', id, 'a', archived, 'p', path_with_namespace, 'b', default_branch, 'v', visibility, 'e', runner_registration_enabled) ORDER BY id) FROM projects WHERE id = ANY($3)),
         'token', (SELECT json_agg(json_build_object('r', revoked, 'e', expires_at, 's', scopes)) FROM personal_access_tokens WHERE token_digest = $4),
         'member', (SELECT json_agg(json_build_object('u', u.id, 's', u.state, 'a', u.admin, 'l', m.access_level)) FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $2),
         'root', (SELECT json_agg(json_build_object('s', state, 'a', admin)) FROM users WHERE username = 'root'),
         'job', (SELECT json_agg(json_build_object('id', id, 'p', pipeline_id)) FROM jobs WHERE id = $5),
         'settings', (SELECT json_agg(json_build_object('a', allow_runner_registration_token, 'v', valid_runner_registrars)) FROM application_settings)
       )::text AS structure`,
    [runnerIds, w.group.id, [w.project.id, w.otherProject.id], t.ctx.secrets.digest(w.adminToken), w.jobId],
  );
  return rows[0]!;
}

/**
 * Puts the world back after a request changed it, as cheaply as possible:
 * new registration tokens are read back (they are stored encrypted), damaged
 * runners are replaced, and anything else means a fresh world. Returns the
 * world to use from now on and what was done.
 */
export async function repairWorld(t: TestApp, w: World, built: WorldState): Promise<{ world: World; state: WorldState; action: 'none' | 'repaired' | 'rebuilt' }> {
  const now = await worldState(t, w);
  if (now.runners === built.runners && now.registration === built.registration && now.branches === built.branches && now.structure === built.structure) {
    return { world: w, state: built, action: 'none' };
  }
  if (now.structure !== built.structure) {
    const fresh = await buildWorld(t);
    return { world: fresh, state: await worldState(t, fresh), action: 'rebuilt' };
  }
  const next: World = { ...w, runners: { ...w.runners } };
  if (now.registration !== built.registration) {
    const decrypt = (e: string | null) => (e ? t.ctx.secrets.decrypt(e) : '');
    const group = await t.ctx.prisma.namespace.findUniqueOrThrow({ where: { id: w.group.id } });
    const [project, otherProject] = await Promise.all([w.project.id, w.otherProject.id].map((id) => t.ctx.prisma.project.findUniqueOrThrow({ where: { id } })));
    next.group = { ...w.group, runnersToken: decrypt(group.runners_token_encrypted) };
    next.project = { ...w.project, runnersToken: decrypt(project!.runners_token_encrypted) };
    next.otherProject = { ...w.otherProject, runnersToken: decrypt(otherProject!.runners_token_encrypted) };
  }
  if (now.branches !== built.branches) {
    // Back to exactly the default branch of each project, protected.
    for (const p of [w.project, w.otherProject]) {
      await t.ctx.prisma.protectedBranch.deleteMany({ where: { project_id: p.id, name: { not: p.default_branch } } });
      await t.ctx.prisma.protectedBranch.upsert({
        where: { project_id_name: { project_id: p.id, name: p.default_branch } },
        create: { project_id: p.id, name: p.default_branch },
        update: {},
      });
    }
  }
  if (now.runners !== built.runners) {
    // Cheaper to replace all four than to find the one that changed.
    next.runners = {
      instance_type: await t.fx.runner({ type: 'instance_type' }),
      group_type: await t.fx.runner({ group: w.group }),
      project_type: await t.fx.runner({ projects: [w.project, w.otherProject] }),
    };
    next.assignableRunner = await t.fx.runner({ projects: [w.otherProject] });
  }
  return { world: next, state: await worldState(t, next), action: 'repaired' };
}

/**
 * A valid value for each path parameter of `url`, chosen by its name or by
 * the segment before it. `runnerType` picks which runner `/runners/:id`
 * means. Unknown parameters get "1" and are reported in `unresolved`.
 */
export function pathValues(
  url: string,
  world: World,
  runnerType: RunnerTypeName = 'project_type',
): { values: Record<string, string>; unresolved: string[] } {
  const values: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const { name, after } of pathParams(url)) {
    const is = (paramName: string, segment: string) => name === paramName || (name === 'id' && after === segment);
    let v: number | string | undefined;
    if (is('runner_id', 'runners')) v = world.runners[runnerType].runner.id;
    else if (is('user_id', 'users') || after === 'members') v = world.member.user.id;
    else if (is('job_id', 'jobs')) v = world.jobId;
    else if (is('pipeline_id', 'pipelines')) v = world.pipelineId;
    else if (is('project_id', 'projects')) v = world.project.id;
    else if (is('group_id', 'groups')) v = world.group.id;
    else if (after === 'protected_branches' || name === 'branch') v = world.project.default_branch;
    if (v === undefined) {
      unresolved.push(name);
      v = 1;
    }
    values[name] = encodeURIComponent(String(v));
  }
  return { values, unresolved };
}

/** Does this route take a runner id in its path? */
export const takesRunnerId = (url: string) => pathParams(url).some((p) => p.name === 'runner_id' || (p.name === 'id' && p.after === 'runners'));

/** `GET /api/v4/runners/:id`, for test names. */
export const routeName = (r: Pick<RouteEntry, 'method' | 'url'>) => `${r.method} ${r.url}`;
