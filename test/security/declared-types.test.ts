import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grapeMeta } from '../../src/schemas/common.js';
import { createTestApp } from '../helpers/app.js';
import { diffSnapshots, snapshotDb, type DbSnapshot } from '../helpers/db-snapshot.js';
import { apiRoutes, buildWorld, fillUrl, pathValues, routeName, type RouteEntry, type World } from '../helpers/route-table.js';

// Wrong-type input derived from each route's declared parameter types (the
// route contracts in the route table): for every scalar parameter of every
// API route, a JSON array, a JSON object, a `p[]=` array, and for Integer,
// Boolean and Date a value that is not one, sent as admin to real objects.
// Each must be a 400 whose JSON body names the parameter, and the database
// must be exactly as before. A route added later is covered without editing
// this file.

const t = await createTestApp();
const routes = apiRoutes(t.app).filter((r) => r.contract?.params);
let world: World;
let snapshot: DbSnapshot;

beforeAll(async () => {
  world = await buildWorld(t);
  snapshot = await snapshotDb(t.db.pool);
}, 120_000);
afterAll(async () => t.close());

const SCALARS = new Set(['Integer', 'String', 'Boolean', 'Enum', 'Date', 'DateTime', 'Hash']);
const NOT_A = { Integer: 'twelve', Boolean: 'maybe', Date: 'not-a-date' } as Record<string, string>;

interface Case {
  label: string;
  param: string;
  query?: string;
  json?: Record<string, unknown>;
}

function cases(route: RouteEntry, param: string, grape: string): Case[] {
  // Query parameters on reads, and where the body is data (a job log), not parameters.
  const inQuery = route.method === 'GET' || route.method === 'DELETE' || route.contract?.body === 'raw';
  const out: Case[] = [];
  if (grape === 'Hash') {
    out.push(inQuery ? { label: 'a string', param, query: `${param}=text` } : { label: 'a string', param, json: { [param]: 'text' } });
    out.push(inQuery ? { label: 'an array', param, query: `${param}[]=1` } : { label: 'an array', param, json: { [param]: [1] } });
    return out;
  }
  if (inQuery) {
    out.push({ label: 'p[]=', param, query: `${param}[]=1` }, { label: 'p[x]=', param, query: `${param}[x]=1` });
    if (NOT_A[grape]) out.push({ label: `repeated, last not a ${grape}`, param, query: `${param}=1&${param}=${NOT_A[grape]}` });
  } else {
    out.push({ label: 'a JSON array', param, json: { [param]: ['1'] } }, { label: 'a JSON object', param, json: { [param]: { a: '1' } } });
    if (NOT_A[grape]) out.push({ label: `not a ${grape}`, param, json: { [param]: NOT_A[grape] } });
  }
  return out;
}

describe('wrong types derived from the declared parameters are 400 and change nothing', () => {
  it('covers routes with parameters', () => {
    expect(routes.length).toBeGreaterThan(25);
  });

  for (const route of routes) {
    const params = route.contract!.params!.describe().filter((p) => SCALARS.has(grapeMeta(p.schema)?.grape ?? ''));
    if (params.length === 0) continue;
    it(`${routeName(route)}: ${params.map((p) => p.name).join(', ')}`, async () => {
      const failures: string[] = [];
      for (const p of params) {
        for (const c of cases(route, p.name, grapeMeta(p.schema)!.grape)) {
          const url = fillUrl(route.url, pathValues(route.url, world).values);
          const res = await t.api({
            method: route.method as 'GET',
            url: c.query ? `${url}?${c.query}` : url,
            token: world.adminToken,
            ...(c.json ? { payload: c.json } : {}),
          });
          const body = (() => {
            try {
              return JSON.parse(res.body) as { error?: string };
            } catch {
              return undefined;
            }
          })();
          const named = typeof body?.error === 'string' && body.error.split(', ').some((m) => m.startsWith(`${p.name} `));
          if (res.statusCode !== 400 || !named) failures.push(`${p.name} as ${c.label}: ${res.statusCode} ${res.body.slice(0, 160)}`);
        }
      }
      expect(failures).toEqual([]);
      expect(diffSnapshots(snapshot, await snapshotDb(t.db.pool))).toEqual([]);
    });
  }
});
