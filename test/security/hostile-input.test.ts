import http from 'node:http';
import { Writable } from 'node:stream';
import qs from 'qs';
import { afterAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { User } from '../../src/generated/prisma/client.js';
import type { ParamDescription } from '../../src/lib/route-contract/index.js';
import { grapeMeta } from '../../src/schemas/common.js';
import { createTestApp } from '../helpers/app.js';
import { singleJob } from '../helpers/ci.js';
import { deleteRowsAfter, diffSnapshots, rowMarks, snapshotDb, writeMark, type DbSnapshot } from '../helpers/db-snapshot.js';
import { BAD_ENCODING_BODY, typeCases, VALID, type Outcome, type Send, type Source, type TypeCase } from '../helpers/grape-type-cases.js';
import {
  deepArray,
  deepForm,
  deepObject,
  DOT_SEGMENT_PATH_VALUES,
  HOSTILE_PATH_VALUES,
  HOSTILE_VALUES,
  hostileQueryValues,
  multipartBody,
  NUL_BYTES,
  paramInfo,
  shapedHostileValues,
  tenMegabyteJson,
} from '../helpers/hostile-inputs.js';
import { apiRoutes, buildWorld, fillUrl, pathParams, pathValues, routeName, repairWorld, worldState, type RouteEntry, type WorldState, type World } from '../helpers/route-table.js';
import { decodeJobResponse, RunnerSimulator } from '../helpers/runner-simulator.js';

// Every route the app registers gets hostile input, generated from its
// declared contract (parameters and Grape types), as admin and anonymous.
//
// 1. Wrong types, judged exactly (grape-type-cases.ts): for every declared
//    parameter, the rows of its Grape type (arrays, hashes, numbers, booleans,
//    words, `p[]=`/`p[x]=`, repeated keys, invalid UTF-8 and malformed `%`
//    escapes) in every source the route reads (query; JSON, form and
//    multipart bodies), on top of otherwise valid input from a caller who
//    would otherwise succeed (admin, a valid runner or job token). A row is a
//    400 with GitLab's exact body and an unchanged database, or a success
//    where Grape's rules accept the value (the last of a repeated key, a
//    boolean spelling, a number for a String).
// 2. Odd values of the right type (NUL bytes, out-of-range ids, huge texts,
//    10,000 tags), bad path ids, broken and huge bodies, junk credentials:
//    never a 5xx, a 4xx in GitLab's JSON shape, nothing changed by a rejected
//    request, and the cases that can only be rejected rejected (413 for 10 MB).
//
// The database is checked after every request: an unchanged transaction-id
// mark proves nothing was written; otherwise a snapshot says what changed.
// A success to a mutating request is expected for valid input; the world is
// repaired afterwards so later cases still hit real objects.

const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    if (logLines.length > 2000) logLines.splice(0, 1000);
    done();
  },
});

const t = await createTestApp({ LOG_LEVEL: 'error' }, { loggerStream: logStream });
const routes = apiRoutes(t.app);
// Each route gets a fresh world (and its inserts are deleted afterwards, so
// the database, and each snapshot, stays small).
let world: World;
let worldBuilt: WorldState;
let snapshot: DbSnapshot;
/** The transaction-id mark `snapshot` was taken at (db-snapshot.ts writeMark). */
let snapshotMark: string;

async function takeSnapshot() {
  snapshotMark = await writeMark(t.db.pool);
  snapshot = await snapshotDb(t.db.pool);
}

afterAll(async () => t.close());

// ---------------------------------------------------------------------------
// Bookkeeping

interface ServerError {
  route: string;
  actor: string;
  label: string;
  request: string;
  status: number;
  body: string;
  log: string[];
}

const stats = { routes: 0, cases: 0, typeRows: 0, probes: 0, accepted: 0, worldRepairs: 0, worldRebuilds: 0 };
const serverErrors: ServerError[] = [];
const unresolvedParams = new Set<string>();
const routeTimes: { route: string; ms: number; cases: number }[] = [];
/** Declared parameters whose schema carries no Grape type: no wrong-type rows can be derived for them. */
const untypedParams = new Set<string>();

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const short = (s: unknown, n = 160) => {
  const text = typeof s === 'string' ? s : Buffer.isBuffer(s) ? `<${s.length} bytes>` : JSON.stringify(s) ?? String(s);
  return text.length > n ? `${text.slice(0, n)}…(${text.length} chars)` : text;
};

type Actor = 'admin' | 'anonymous';

interface Request {
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
}

interface Case {
  label: string;
  /** Built against the current world, so a rebuilt world gets fresh ids. */
  build: (w: World) => Request | Promise<Request>;
  /** A declared-type row: the exact answer required (grape-type-cases.ts). */
  outcome?: { param: string; source: Source; expect: Outcome; sameAs?: Case };
  /** Only a rejection (non-2xx) is right. */
  mustReject?: boolean;
  /** The case brings its own credentials: the actor's token is not sent. */
  ownCredentials?: boolean;
  expectStatus?: number;
  expectBody?: unknown;
}

/**
 * Routes whose 4xx body is the status as text, as GitLab's: PUT /jobs/:id answers the
 * job update service's status (lib/api/ci/runner.rb `body result.status.to_s`), e.g. "400"
 * for a state it does not know.
 */
const TEXT_STATUS_BODY: Record<string, string> = { 'PUT /api/v4/jobs/:id': '400' };

const isGitLabErrorBody = (res: LightMyRequestResponse) => {
  if (res.headers['content-type'] !== 'application/json') return false;
  try {
    const body = res.json() as Record<string, unknown>;
    return body !== null && typeof body === 'object' && !Array.isArray(body) && ('message' in body || 'error' in body);
  } catch {
    return false;
  }
};

/** Sends one case, checks it, and keeps the database fingerprint current. Returns the problems found. */
async function send(route: RouteEntry, actor: Actor, c: Case, opts: { probe?: boolean } = {}): Promise<{ res: LightMyRequestResponse; problems: string[] }> {
  const writesBefore = fixtureWrites;
  const req = await c.build(world);
  // Fixtures the request needs (a fresh user, the taken job) are not the request's doing.
  if (fixtureWrites !== writesBefore) await takeSnapshot();
  const token = actor === 'admin' && !c.ownCredentials ? world.adminToken : null;
  const logMark = logLines.length;
  const inject = (r: Request) => t.api({ method: route.method as 'GET', url: r.url, payload: r.payload as string, headers: r.headers, token });
  const res = await inject(req);
  if (opts.probe) stats.probes++;
  else stats.cases++;
  const problems: string[] = [];
  const where = `[${actor}] ${c.label} → ${res.statusCode} ${short(res.body, 200)}`;

  if (res.statusCode >= 500) {
    serverErrors.push({
      route: routeName(route),
      actor,
      label: c.label,
      request: `${route.method} ${short(req.url, 200)} headers=${short(req.headers ?? {})} body=${short(req.payload)}`,
      status: res.statusCode,
      body: short(res.body, 300),
      log: logLines.slice(logMark).map((l) => short(l, 4000)),
    });
    const logged = serverErrors[serverErrors.length - 1]!.log.map(errorSummary).filter(Boolean).join(' | ');
    problems.push(`5xx: ${where}${logged ? ` (log: ${logged})` : ''}`);
  }
  if (res.statusCode >= 400 && res.statusCode < 500 && !isGitLabErrorBody(res) && TEXT_STATUS_BODY[routeName(route)] !== res.body) problems.push(`4xx not in GitLab's JSON shape: ${where}`);
  if (c.mustReject && res.statusCode < 300) problems.push(`accepted what must be rejected: ${where}`);
  if (c.expectStatus !== undefined && res.statusCode !== c.expectStatus) problems.push(`expected ${c.expectStatus}: ${where}`);
  if (c.expectBody !== undefined && res.statusCode === c.expectStatus) {
    try {
      expect(res.json()).toEqual(c.expectBody);
    } catch {
      problems.push(`expected body ${JSON.stringify(c.expectBody)}: ${where}`);
    }
  }

  if (c.outcome) problems.push(...judge(c.outcome, res, where));

  // The database, after every request: nothing written is proven by the
  // transaction-id mark; otherwise a full snapshot says what changed.
  const accepted = res.statusCode >= 200 && res.statusCode < 300;
  if (accepted && !opts.probe && MUTATING.has(route.method)) stats.accepted++;
  if ((await writeMark(t.db.pool)) !== snapshotMark) {
    const before = snapshot;
    await takeSnapshot();
    const diff = diffSnapshots(before, snapshot);
    if (diff.length > 0) {
      if (!MUTATING.has(route.method)) problems.push(`a ${route.method} changed the database (${diff.join('; ')}): ${where}`);
      else if (!accepted) problems.push(`rejected with ${res.statusCode} but changed the database (${diff.join('; ')}): ${where}`);
      await repair();
    }
  }
  // { sameAs }: the same request with the value as a JSON string, sent after the first (and any repair).
  const sameAs = c.outcome?.sameAs;
  if (sameAs && typeof c.outcome?.expect === 'object') {
    const { res: other, problems: otherProblems } = await send(route, actor, sameAs, { probe: true });
    problems.push(...otherProblems);
    const comparable = (r: LightMyRequestResponse) => (isSuccess(r.statusCode) ? `${r.statusCode}` : `${r.statusCode} ${r.body}`);
    if (comparable(res) !== comparable(other)) {
      problems.push(`expected the same answer as with the text ${JSON.stringify(c.outcome.expect.sameAs)} (${short(comparable(other), 160)}): ${where}`);
    }
  }
  return { res, problems };
}

/** "TypeError: x is not a function at file.ts:12" from a pino error line. */
function errorSummary(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: { type?: string; message?: string; stack?: string } };
    if (!entry.err) return '';
    const frame = entry.err.stack?.split('\n').find((l) => l.includes('/src/'))?.trim() ?? '';
    return short(`${entry.err.type ?? 'Error'}: ${entry.err.message ?? ''} ${frame}`, 600);
  } catch {
    return '';
  }
}

/** After a request changed the database: repair the world if it was damaged, and take a new fingerprint. */
async function repair() {
  const r = await repairWorld(t, world, worldBuilt);
  world = r.world;
  worldBuilt = r.state;
  if (r.action === 'repaired') stats.worldRepairs++;
  if (r.action === 'rebuilt') stats.worldRebuilds++;
  if (r.action !== 'none') await takeSnapshot();
}

// ---------------------------------------------------------------------------
// Judging a declared-type row

const isSuccess = (status: number) => status >= 200 && status < 300;

function judge(o: NonNullable<Case['outcome']>, res: LightMyRequestResponse, where: string): string[] {
  stats.typeRows++;
  const expected =
    o.expect === 'invalid' ? { error: `${o.param} is invalid` }
    : o.expect === 'not-valid-value' ? { error: `${o.param} does not have a valid value` }
    : o.expect === 'bad-encoding' ? BAD_ENCODING_BODY[o.source]
    : undefined;
  if (expected) {
    let body: unknown;
    try {
      body = res.json();
    } catch {
      body = undefined;
    }
    const same = res.statusCode === 400 && JSON.stringify(body) === JSON.stringify(expected) && res.headers['content-type'] === 'application/json';
    return same ? [] : [`expected 400 ${JSON.stringify(expected)}: ${where}`];
  }
  if (o.expect === 'ok') return isSuccess(res.statusCode) ? [] : [`expected a success (valid under Grape's rules): ${where}`];
  return []; // { sameAs }: compared in send()
}

// ---------------------------------------------------------------------------
// Valid input, from the contract

const uniq = () => Math.random().toString(36).slice(2, 10);
/** Counts fixtures written while building a request (send() takes a new snapshot after them). */
let fixtureWrites = 0;
const fresh = <T>(made: Promise<T>): Promise<T> => {
  fixtureWrites++;
  return made;
};

/** A job taken by the world's project runner: its token authenticates PUT /jobs/:id and PATCH …/trace. */
let takenJob: { jobId: number; token: string } | undefined;
async function jobToken(w: World): Promise<string> {
  if (takenJob?.jobId === w.jobId) return takenJob.token;
  const sim = RunnerSimulator.forApp(t.app);
  const job = decodeJobResponse(await fresh(sim.requestJob(w.runners.project_type.token)));
  if (job.id !== w.jobId) throw new Error(`the project runner took job ${job.id}, not the world's job ${w.jobId}`);
  takenJob = { jobId: job.id, token: job.token };
  return job.token;
}

/**
 * A value a success uses up (a user a membership takes, a runner an assignment
 * takes, a manager an unregister deletes), kept until a success took it: only
 * then is a new one made.
 */
const spares = new Map<string, unknown>();
async function spare<T>(key: string, used: (v: T) => Promise<boolean>, make: () => Promise<T>): Promise<T> {
  const known = spares.get(key) as T | undefined;
  if (known !== undefined && !(await used(known))) return known;
  const made = await fresh(make());
  spares.set(key, made);
  return made;
}
const exists = async (sql: string, params: unknown[]) => (await t.db.pool.query(sql, params)).rowCount! > 0;

/** A user who is not yet a direct member of the route's group or project. */
function nonMember(route: RouteEntry, w: World): Promise<User> {
  const onProject = route.url.startsWith('/api/v4/projects/');
  const [table, column, id] = onProject ? ['project_members', 'project_id', w.project.id] : ['group_members', 'group_id', w.group.id];
  return spare(`member ${table} ${id}`, (u: User) => exists(`SELECT 1 FROM ${table} WHERE ${column} = $1 AND user_id = $2`, [id, u.id]), async () => (await t.fx.user()).user);
}

/**
 * Valid values by parameter name, most likely first: fixtures, not
 * expectations.
 */
async function candidates(p: ParamDescription, route: RouteEntry, w: World): Promise<unknown[]> {
  const meta = grapeMeta(p.schema);
  switch (p.name) {
    case 'name':
    case 'path':
      return [`hostile-${uniq()}`];
    case 'username':
      if (route.method === 'POST' && route.url === '/api/v4/users') return [`hostile_${uniq()}`];
      return route.method === 'GET' ? [w.member.user.username] : [(await nonMember(route, w)).username];
    case 'email':
      return [`hostile-${uniq()}@example.com`];
    case 'password':
      return ['Hostile-Passw0rd-123!'];
    case 'ref':
      return [w.project.default_branch];
    case 'content':
      return [singleJob('hostile')];
    case 'token':
      if (route.contract?.auth === 'job-token') return [await jobToken(w)];
      if (route.method === 'POST' && route.url === '/api/v4/runners') return [w.project.runnersToken];
      // Unregistering or resetting uses it up; the world is then repaired with new runners.
      return [w.runners.project_type.token];
    case 'runner_id': {
      const assignable = await spare(
        `runner for ${w.project.id}`,
        (id: number) => exists('SELECT 1 FROM runner_projects WHERE runner_id = $1 AND project_id = $2', [id, w.project.id]),
        async () => (await t.fx.runner({ projects: [w.otherProject] })).runner.id,
      );
      return [assignable];
    }
    case 'user_id':
      return route.method === 'GET' ? [w.member.user.id] : [(await nonMember(route, w)).id];
    case 'user_ids':
      return [w.member.user.id];
    case 'group_id':
    case 'namespace_id':
    case 'parent_id':
      return [w.group.id];
    case 'project_id':
      return [w.project.id];
    case 'entity_id':
      return [w.project.id];
    case 'skip_groups':
      return [w.group.id];
    case 'runner_type':
      return ['instance_type', 'project_type', 'group_type'];
    case 'access_level':
      return [30, 'not_protected'];
    case 'min_access_level':
      return [10];
    case 'scopes':
      return ['api'];
    case 'expires_at':
      return ['2099-01-01'];
    case 'created_after':
    case 'created_before':
    case 'contacted_before':
      return ['2020-01-01T00:00:00Z'];
    case 'scope':
      // GET /runners refuses the deprecated runner-type scopes; other lists have their own values.
      return ['active', ...(meta?.values ?? [])];
    case 'version_prefix':
      return ['16'];
    case 'system_id':
      if (route.method === 'DELETE') {
        // Unregistering a manager needs one: a verify with a new system_id makes it.
        const runner = w.runners.project_type;
        const systemId = await spare(
          `manager of ${runner.runner.id}`,
          async (id: string) => !(await exists('SELECT 1 FROM runner_managers WHERE runner_id = $1 AND system_xid = $2', [runner.runner.id, id])),
          async () => {
            const id = `s_${uniq()}${uniq()}`.slice(0, 14);
            const res = await t.app.inject({ method: 'POST', url: '/api/v4/runners/verify', payload: { token: runner.token, system_id: id } });
            if (res.statusCode !== 200) throw new Error(`verify for a runner manager: ${res.statusCode} ${res.body}`);
            return id;
          },
        );
        return [systemId];
      }
      return ['s_0123456789ab'];
    case 'state':
      return ['running'];
    case 'failure_reason':
      return ['script_failure'];
    case 'cursor':
      return []; // only a cursor from an earlier keyset page is valid: no success rows (NO_VALID_VALUE)
    case 'default_branch':
      return [w.project.default_branch];
    case 'valid_runner_registrars':
      return ['project'];
    case 'tag_list':
      return ['hostile-tag'];
    case 'info':
      return [{ name: 'gitlab-runner' }];
    case 'output':
      return [{ checksum: 'crc32:00000000', bytesize: 0 }];
    case 'variables':
      return [[{ key: 'HOSTILE', value: 'x' }]];
    case 'session':
      return [{ url: 'https://runner.example:8093' }];
    case 'page':
      return [2];
    case 'per_page':
    case 'limit':
      return [5];
    case 'maximum_timeout':
      return [3600];
  }
  switch (meta?.grape) {
    case 'Boolean':
      return [true, false];
    case 'Integer':
      return [1];
    case 'Enum':
      return [...(meta.values ?? [])];
    case 'Hash':
      return [{}];
    default:
      return ['hostile-text'];
  }
}

/** The first candidate the route's own declared type accepts. */
async function validValue(p: ParamDescription, route: RouteEntry, w: World): Promise<unknown> {
  const list = await candidates(p, route, w);
  return list.find((v) => p.schema.safeParse(v).success) ?? list[0];
}

interface RouteShape {
  params: ParamDescription[];
  /** Parameters sent in every request: the required ones, and one of each at_least_one_of / exactly_one_of group. */
  baseline: ParamDescription[];
  /** Parameters that may not be sent together with each one (mutually_exclusive). */
  exclusive: Map<string, Set<string>>;
}

/** Optional parameters without which a route has nothing to do (GitLab answers 400 to a job update without a state). */
const BASELINE_PARAMS: Record<string, string[]> = {
  'PUT /api/v4/jobs/:id': ['state'],
  // The cleanup routes require at least one filter (checked inside their declared type, not as a rule).
  'POST /api/v4/runners/cleanup': ['version_prefix'],
  'POST /api/v4/groups/:id/runners/cleanup': ['version_prefix'],
};

/**
 * Routes without parameters whose valid request cannot succeed on the fixture world, with the answer
 * it gets instead: the world's project runner is owned by the project (GitLab refuses to unassign it
 * from its owner), and the world has no audit event to read.
 */
const BASELINE_ANSWER: Record<string, number> = {
  'DELETE /api/v4/projects/:id/runners/:runner_id': 403,
  'GET /api/v4/audit_events/:audit_event_id': 404,
  'GET /api/v4/groups/:id/audit_events/:audit_event_id': 404,
  'GET /api/v4/projects/:id/audit_events/:audit_event_id': 404,
};

/** Values that must be new on a create route: the same text twice is "already taken", so a number is judged as a success, not against its text. */
const UNIQUE_ON_CREATE = new Set(['POST /api/v4/users username', 'POST /api/v4/users name', 'POST /api/v4/groups name', 'POST /api/v4/projects name']);
/** The name rows already create "12345" and "true" (the path follows the name), so the same path cannot be created again. */
const PATH_FROM_NAME = new Set(['POST /api/v4/groups path', 'POST /api/v4/projects path']);

function routeShape(route: RouteEntry): RouteShape {
  const declaration = route.contract?.params;
  const params = declaration?.describe() ?? [];
  const byName = new Map(params.map((p) => [p.name, p]));
  // The credential of a runner or job route is always sent, even where the contract also reads it from a header.
  const credential = route.contract?.auth === 'runner-token' || route.contract?.auth === 'job-token' ? 'token' : undefined;
  const baseline = params.filter((p) => p.required || p.name === credential || BASELINE_PARAMS[routeName(route)]?.includes(p.name));
  const exclusive = new Map<string, Set<string>>();
  for (const rule of declaration?.rules ?? []) {
    if (rule.kind === 'mutually_exclusive' || rule.kind === 'exactly_one_of') {
      for (const k of rule.keys) exclusive.set(k, new Set([...(exclusive.get(k) ?? []), ...rule.keys.filter((o) => o !== k)]));
    }
    if ((rule.kind === 'at_least_one_of' || rule.kind === 'exactly_one_of') && !rule.keys.some((k) => baseline.some((b) => b.name === k))) {
      const first = byName.get(rule.keys[0]!);
      if (first) baseline.push(first);
    }
  }
  return { params, baseline, exclusive };
}

/** The baseline values for a request that tests `param` (left out, with the parameters it excludes). */
async function baselineFor(route: RouteEntry, shape: RouteShape, w: World, param?: string): Promise<Record<string, unknown>> {
  const skip = new Set([param, ...(param ? (shape.exclusive.get(param) ?? []) : [])]);
  const out: Record<string, unknown> = {};
  for (const p of shape.baseline) if (!skip.has(p.name)) out[p.name] = await validValue(p, route, w);
  return out;
}

const queryString = (obj: Record<string, unknown>) => qs.stringify(obj, { encodeValuesOnly: false, arrayFormat: 'brackets', strictNullHandling: false });
const withQuery = (url: string, query: string) => (query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}`);
const validUrl = (route: RouteEntry, w: World) => {
  const { values, unresolved } = pathValues(route.url, w);
  unresolved.forEach((p) => unresolvedParams.add(`${routeName(route)} :${p}`));
  return fillUrl(route.url, values);
};

/** The job log's size, for the Content-Range of the next PATCH (GitLab answers 416 to any other offset). */
async function traceSize(jobId: number): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>('SELECT coalesce(octet_length(trace), 0)::int AS n FROM jobs WHERE id = $1', [jobId]);
  return rows[0]?.n ?? 0;
}

/** Route-specific parts of an otherwise valid request: the log chunk of a trace PATCH. */
async function extras(route: RouteEntry, w: World): Promise<{ headers: Record<string, string>; payload?: Buffer }> {
  if (route.contract?.body !== 'raw') return { headers: {} };
  const start = await traceSize(w.jobId);
  return { headers: { 'content-type': 'text/plain', 'content-range': `${start}-${start}` }, payload: Buffer.from('.') };
}

/** Where a route reads its parameters from. */
function sourcesOf(route: RouteEntry): Source[] {
  if (route.method === 'GET' || route.contract?.body === 'raw') return ['query'];
  return ['json', 'form', 'multipart', 'query'];
}

/** A valid baseline request: the query on reads, a JSON body otherwise. */
async function validRequest(route: RouteEntry, shape: RouteShape, w: World, extra: Record<string, unknown> = {}, param?: string): Promise<Request> {
  const input = { ...(await baselineFor(route, shape, w, param)), ...extra };
  const more = await extras(route, w);
  if (sourcesOf(route)[0] === 'query') return { url: withQuery(validUrl(route, w), queryString(input)), ...more };
  return { url: validUrl(route, w), payload: JSON.stringify(input), headers: { 'content-type': 'application/json' } };
}

const fill = (text: string, name: string, valid: string) => text.replaceAll('{p}', name).replaceAll('{v}', valid);
const resolve = (v: unknown, valid: unknown): unknown => (v === VALID ? valid : Array.isArray(v) ? v.map((x) => resolve(x, valid)) : v && typeof v === 'object' && !Buffer.isBuffer(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, valid)])) : v);

/** The request of one declared-type row for `p`, on top of the valid baseline in the same source. */
async function typeRowRequest(route: RouteEntry, shape: RouteShape, w: World, p: ParamDescription, row: { source: Source; send: Send }): Promise<Request> {
  const base = await baselineFor(route, shape, w, p.name);
  const validRaw = await validValue(p, route, w);
  const valid = Array.isArray(validRaw) ? validRaw[0] : validRaw;
  const validText = typeof valid === 'object' ? '' : String(valid);
  const more = await extras(route, w);
  const url = validUrl(route, w);
  const send = row.send;
  if ('json' in send || 'jsonRepeated' in send || 'jsonBytes' in send) {
    const entries = Object.entries(base).map(([k, v]) => Buffer.from(`${JSON.stringify(k)}:${JSON.stringify(v)}`));
    const key = JSON.stringify(p.name);
    if ('json' in send) entries.push(Buffer.from(`${key}:${JSON.stringify(resolve(send.json, valid))}`));
    else if ('jsonRepeated' in send) for (const v of send.jsonRepeated) entries.push(Buffer.from(`${key}:${JSON.stringify(resolve(v, valid))}`));
    else entries.push(Buffer.concat([Buffer.from(`${key}:"`), send.jsonBytes, Buffer.from('"')]));
    const parts: Buffer[] = [Buffer.from('{')];
    entries.forEach((e, i) => parts.push(...(i ? [Buffer.from(','), e] : [e])));
    parts.push(Buffer.from('}'));
    return { url, payload: Buffer.concat(parts), headers: { 'content-type': 'application/json' } };
  }
  if ('pairs' in send) {
    const pairs = [queryString(base), ...send.pairs.map((x) => fill(x, encodeURIComponent(p.name), encodeURIComponent(validText)))].filter(Boolean).join('&');
    if (row.source === 'query') {
      // On a route with a body, the baseline stays in the JSON body (Grape merges body over query).
      if (sourcesOf(route)[0] === 'query') return { url: withQuery(url, pairs), ...more };
      const own = send.pairs.map((x) => fill(x, encodeURIComponent(p.name), encodeURIComponent(validText))).join('&');
      return { url: withQuery(url, own), payload: JSON.stringify(base), headers: { 'content-type': 'application/json' } };
    }
    return { url, payload: pairs, headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  // multipart: the baseline as fields (arrays and hashes in bracket form), then the row's fields.
  const fields: [string, string | Buffer][] = [];
  const baseForm = queryString(base);
  for (const pair of baseForm ? baseForm.split('&') : []) {
    const [k, v = ''] = pair.split('=');
    fields.push([decodeURIComponent(k!), decodeURIComponent(v)]);
  }
  for (const [k, v] of send.fields) fields.push([fill(k, p.name, validText), Buffer.isBuffer(v) ? v : fill(v, p.name, validText)]);
  const { payload, contentType } = multipartFields(fields);
  return { url, payload, headers: { 'content-type': contentType } };
}

/** A multipart body with fields in order (a name may repeat). */
function multipartFields(fields: [string, string | Buffer][]): { payload: Buffer; contentType: string } {
  const boundary = `----hostile${uniq()}${uniq()}`;
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Parameters with no value valid on its own (a keyset cursor comes from an earlier answer): only their rejection rows are sent. */
const NO_VALID_VALUE = new Set(['cursor']);

/** Every declared-type row for every declared parameter, in every source the route reads. */
function declaredTypeCases(route: RouteEntry, shape: RouteShape): Case[] {
  const out: Case[] = [];
  const sources = new Set(sourcesOf(route));
  for (const p of shape.params) {
    const meta = grapeMeta(p.schema);
    if (!meta) {
      untypedParams.add(`${routeName(route)} ${p.name}`);
      continue;
    }
    for (const row of typeCases(meta)) {
      if (!sources.has(row.source)) continue;
      if (NO_VALID_VALUE.has(p.name) && row.expect !== 'invalid' && row.expect !== 'not-valid-value' && row.expect !== 'bad-encoding') continue;
      const build = (r: TypeCase) => (w: World) => typeRowRequest(route, shape, w, p, r);
      if (typeof row.expect === 'object' && PATH_FROM_NAME.has(`${routeName(route)} ${p.name}`)) continue;
      const expect: Outcome = typeof row.expect === 'object' && UNIQUE_ON_CREATE.has(`${routeName(route)} ${p.name}`) ? 'ok' : row.expect;
      const sameAs: Case | undefined = typeof expect === 'object' ? { label: 'as text', build: build({ ...row, send: { json: expect.sameAs } }) } : undefined;
      out.push({
        label: `${p.name} (${meta.grape}) in ${row.source}: ${row.label}`,
        build: build(row),
        outcome: { param: p.name, source: row.source, expect, ...(sameAs ? { sameAs } : {}) },
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Odd values of the right type: never a 5xx

const SCALAR_TYPES = new Set(['Integer', 'String', 'Boolean', 'Enum', 'Date', 'DateTime']);

function valueCases(route: RouteEntry, shape: RouteShape): Case[] {
  const out: Case[] = [];
  for (const p of shape.params) {
    const name = p.name;
    // Arrays and objects given for a scalar are declared-type rows, judged exactly above.
    const scalar = SCALAR_TYPES.has(grapeMeta(p.schema)?.grape ?? '');
    const values = scalar ? HOSTILE_VALUES.filter((v) => v.value === null || typeof v.value !== 'object') : HOSTILE_VALUES;
    for (const v of [...values, ...shapedHostileValues(paramInfo(name, p.schema))]) {
      out.push({ label: `${name} = ${v.label}`, build: (w) => validRequest(route, shape, w, { [name]: v.value }, name) });
    }
    for (const q of hostileQueryValues(name, route.method !== 'GET')) {
      out.push({
        label: `query ${name}: ${q.label}`,
        build: async (w) => {
          const base = await validRequest(route, shape, w, {}, name);
          return { ...base, url: withQuery(base.url, q.query) };
        },
      });
    }
    if (sourcesOf(route).includes('form')) {
      out.push({
        label: `form ${name}: NUL (%00)`,
        build: async (w) => ({
          url: validUrl(route, w),
          payload: [queryString(await baselineFor(route, shape, w, name)), `${encodeURIComponent(name)}=a%00b`].filter(Boolean).join('&'),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      });
      out.push({
        label: `multipart ${name}: raw NUL byte`,
        build: async (w) => {
          const fields: Record<string, string | Buffer> = {};
          for (const [k, v] of Object.entries(await baselineFor(route, shape, w, name))) if (typeof v !== 'object') fields[k] = String(v);
          fields[name] = NUL_BYTES;
          const { payload, contentType } = multipartBody(fields);
          return { url: validUrl(route, w), payload, headers: { 'content-type': contentType } };
        },
      });
    }
  }
  const names = shape.params.map((p) => p.name);
  if (names.length > 0) {
    out.push({ label: 'every declared parameter duplicated in the query', build: async (w) => {
      const base = await validRequest(route, shape, w);
      return { ...base, url: withQuery(base.url, names.map((n) => `${n}=1&${n}=%00&${n}=`).join('&')) };
    } });
  }
  out.push({ label: 'missing required parameters (empty body)', build: (w) => ({ url: validUrl(route, w) }), ...(shape.params.some((p) => p.required) ? { mustReject: true } : {}) });
  return out;
}

// ---------------------------------------------------------------------------
// Cases

const TOO_LARGE = { message: '413 Request Entity Too Large' };

function pathCases(route: RouteEntry, shape: RouteShape): Case[] {
  const out: Case[] = [];
  for (const p of pathParams(route.url)) {
    for (const v of HOSTILE_PATH_VALUES) {
      out.push({
        label: `path :${p.name} = ${v.label} (${short(v.value, 40)})`,
        mustReject: true,
        build: async (w) => {
          const { values } = pathValues(route.url, w);
          const url = fillUrl(route.url, { ...values, [p.name]: v.value });
          const body = await baselineFor(route, shape, w);
          return route.method === 'GET' ? { url: withQuery(url, queryString(body)) } : { url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
        },
      });
    }
  }
  return out;
}

function bodyCases(route: RouteEntry): Case[] {
  const hasBody = route.method !== 'GET';
  const raw = (label: string, payload: string | Buffer, contentType: string | undefined, extra: Partial<Case> = {}): Case => ({
    label,
    build: (w) => ({ url: validUrl(route, w), payload, headers: contentType ? { 'content-type': contentType } : ({} as Record<string, string>) }),
    ...(hasBody ? extra : {}),
  });
  return [
    raw('10 MB JSON body', tenMegabyteJson(), 'application/json', { expectStatus: 413, expectBody: TOO_LARGE }),
    raw('10 MB form body', `description=${'z'.repeat(10 * 1024 * 1024)}`, 'application/x-www-form-urlencoded', { expectStatus: 413, expectBody: TOO_LARGE }),
    raw('JSON nested 10,000 arrays deep', deepArray(10_000), 'application/json'),
    raw('JSON nested 10,000 objects deep', deepObject(10_000), 'application/json'),
    raw('JSON nested 100,000 objects deep', deepObject(100_000), 'application/json'),
    raw('form nested 10,000 brackets deep', deepForm(10_000), 'application/x-www-form-urlencoded'),
    raw('invalid JSON (truncated)', '{"description":', 'application/json', { mustReject: true }),
    raw('invalid JSON (single quotes)', "{'description': 1}", 'application/json', { mustReject: true }),
    raw('invalid JSON (trailing garbage)', '{"a":1} garbage', 'application/json', { mustReject: true }),
    raw('invalid JSON (raw NUL byte in a string)', Buffer.concat([Buffer.from('{"description":"a'), Buffer.from([0]), Buffer.from('"}')]), 'application/json', { mustReject: true }),
    raw('JSON null body', 'null', 'application/json'),
    raw('JSON array body', '[1,2,3]', 'application/json'),
    raw('JSON string body', '"a string"', 'application/json'),
    raw('JSON number body', '12345678901234567890', 'application/json'),
    raw('JSON with __proto__ key', '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}', 'application/json'),
    raw('unsupported content type (text/xml)', '<runner><id>1</id></runner>', 'text/xml', { mustReject: true }),
    raw('unsupported content type (application/yaml)', 'a: 1', 'application/yaml', { mustReject: true }),
    raw('JSON text sent as form', '{"description":"x"}', 'application/x-www-form-urlencoded'),
    raw('form text sent as JSON', 'description=x&tag_list=a', 'application/json', { mustReject: true }),
    raw('multipart without boundary', 'description=x', 'multipart/form-data'),
    raw('multipart with a broken body', '--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n', 'multipart/form-data; boundary=xyz'),
    raw('JSON with an odd charset', '{"description":"x"}', 'application/json; charset=utf-16'),
    raw('body without content type', '{"description":"x"}', undefined),
    raw('content type with garbage parameters', '{"description":"x"}', 'application/json;;;=;boundary'),
  ];
}

function credentialCases(route: RouteEntry): Case[] {
  const signedIn = route.auth !== 'none';
  const c = (label: string, headers: Record<string, string>, query = '', extra: Partial<Case> = {}): Case => ({
    label,
    build: (w) => ({ url: withQuery(validUrl(route, w), query), headers: { ...headers } }),
    ...extra,
    mustReject: signedIn && extra.mustReject === true,
  });
  const own = (label: string, headers: Record<string, string>, query = '', mustReject = false) => c(label, headers, query, { ownCredentials: true, mustReject });
  return [
    own('8,000-character PRIVATE-TOKEN', { 'private-token': 'g'.repeat(8000) }, '', true),
    own('Basic with garbage base64', { authorization: 'Basic !!!not-base64!!!' }),
    own('Basic with a NUL in the password', { authorization: `Basic ${Buffer.from('root:glpat-\u0000x').toString('base64')}` }, '', true),
    own('Bearer with a 10,000-character token', { authorization: `Bearer ${'b'.repeat(10_000)}` }, '', true),
    own('empty Bearer', { authorization: 'Bearer    ' }),
    own('private_token as an array', {}, 'private_token[]=a&private_token[]=b'),
    own('private_token with NUL', {}, 'private_token=glpat-%00', true),
    own('private_token with invalid UTF-8', {}, 'private_token=%FF%FE', true),
    c('sudo beyond int8', {}, 'sudo=99999999999999999999999'),
    c('sudo negative id', {}, 'sudo=-1'),
    c('sudo NUL', {}, 'sudo=%00'),
    c('sudo invalid UTF-8', {}, 'sudo=%FF%FE'),
    c('sudo array', {}, 'sudo[]=root'),
    c('Sudo header with traversal', { sudo: '../../root' }),
    c('JOB-TOKEN and RUNNER-TOKEN junk', { 'job-token': 'j'.repeat(5000), 'runner-token': '\u00ff\u00fe' }),
  ];
}

// ---------------------------------------------------------------------------

describe('hostile input on every route (generated from the route table)', () => {
  it('the route table lists the API', () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.some((r) => r.method === 'GET' && r.url === '/api/v4/runners/:id')).toBe(true);
    expect(routes.some((r) => r.method === 'POST' && r.url === '/api/v4/runners' && r.auth === 'none')).toBe(true);
  });

  for (const route of routes) {
    it(`${routeName(route)} (${route.auth})`, { timeout: 600_000 }, async () => {
      stats.routes++;
      const started = Date.now();
      const casesBefore = stats.cases;
      const problems: string[] = [];
      const marks = await rowMarks(t.db.pool);
      world = await buildWorld(t);
      worldBuilt = await worldState(t, world);
      await takeSnapshot();

      const shape = routeShape(route);
      // The caller would otherwise succeed: the valid baseline is a success.
      const { res: base, problems: baseProblems } = await send(route, 'admin', { label: 'the valid baseline', build: (w) => validRequest(route, shape, w) }, { probe: true });
      problems.push(...baseProblems);
      const baselineAnswer = BASELINE_ANSWER[routeName(route)];
      if (baselineAnswer !== undefined && (base.statusCode !== baselineAnswer || shape.params.length > 0)) problems.push(`expected the baseline to get ${baselineAnswer} on a route without parameters: ${base.statusCode}`);
      if (baselineAnswer === undefined && !isSuccess(base.statusCode)) problems.push(`the valid baseline is not a success: ${base.statusCode} ${short(base.body, 200)}`);
      const adminCases = [...declaredTypeCases(route, shape), ...pathCases(route, shape), ...bodyCases(route), ...valueCases(route, shape), ...credentialCases(route)];
      for (const c of adminCases) problems.push(...(await send(route, 'admin', c)).problems);

      // Anonymous: everything is rejected on signed-in routes; optional routes get the parameter cases too.
      const anonymous = [...pathCases(route, shape), ...bodyCases(route), ...(route.auth === 'optional' ? valueCases(route, shape) : [])];
      for (const c of anonymous) {
        const rejectAll = route.auth === 'required' ? { mustReject: true } : {};
        problems.push(...(await send(route, 'anonymous', { ...c, ...rejectAll })).problems);
      }

      await deleteRowsAfter(t.db.pool, marks);
      routeTimes.push({ route: routeName(route), ms: Date.now() - started, cases: stats.cases - casesBefore });
      expect(problems, `${problems.length} problems on ${routeName(route)}`).toEqual([]);
    });
  }

  it('encoded dot segments in path ids (over real HTTP: inject would resolve them)', { timeout: 120_000 }, async () => {
    const marks = await rowMarks(t.db.pool);
    world = await buildWorld(t);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const raw = (method: string, path: string) =>
      new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'private-token': world.adminToken } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
        });
        req.on('error', reject);
        req.end();
      });
    await takeSnapshot();
    const problems: string[] = [];
    let sent = 0;
    for (const route of routes) {
      for (const p of pathParams(route.url)) {
        for (const dots of DOT_SEGMENT_PATH_VALUES) {
          const { values } = pathValues(route.url, world);
          const path = fillUrl(route.url, { ...values, [p.name]: dots });
          const res = await raw(route.method, path);
          sent++;
          const where = `${route.method} ${path} → ${res.status} ${short(res.body, 160)}`;
          if (res.status < 400 || res.status >= 500) problems.push(`not rejected with a 4xx: ${where}`);
          else if (res.type !== 'application/json' || !/^\{"(message|error)"/.test(res.body)) problems.push(`4xx not in GitLab's JSON shape: ${where}`);
        }
      }
    }
    stats.cases += sent;
    if ((await writeMark(t.db.pool)) !== snapshotMark) {
      const diff = diffSnapshots(snapshot, await snapshotDb(t.db.pool));
      if (diff.length > 0) problems.push(`dot-segment requests changed the database: ${diff.join('; ')}`);
    }
    await deleteRowsAfter(t.db.pool, marks);
    expect(sent).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it('summary: zero 5xx over all routes', () => {
    const summary =
      `hostile-input: ${stats.routes} routes covered, ${stats.cases} hostile cases sent (${stats.typeRows} declared-type rows judged exactly, +${stats.probes} baselines), ` +
      `${stats.accepted} accepted with 2xx (world repaired ${stats.worldRepairs}, rebuilt ${stats.worldRebuilds} times), ${serverErrors.length} 5xx seen`;
    console.log(summary);
    const slowest = [...routeTimes].sort((a, b) => b.ms - a.ms).slice(0, 8);
    console.log(`hostile-input: slowest routes: ${slowest.map((r) => `${r.route} ${r.ms} ms / ${r.cases} cases`).join('; ')}`);
    if (untypedParams.size > 0) console.log(`hostile-input: declared parameters without a Grape type (no wrong-type rows): ${[...untypedParams].join(', ')}`);
    if (unresolvedParams.size > 0) console.log(`hostile-input: path params without a fixture value (sent as 1): ${[...unresolvedParams].join(', ')}`);
    for (const e of serverErrors.slice(0, 50)) console.log(`5xx ${e.route} [${e.actor}] ${e.label}\n  ${e.request}\n  → ${e.status} ${e.body}\n  ${e.log.join('\n  ')}`);
    expect(stats.routes).toBe(routes.length);
    expect(serverErrors.map((e) => `${e.route} [${e.actor}] ${e.label} → ${e.status}`)).toEqual([]);
  });
});
