import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

// Each route runs only the per-request hooks its declaration needs
// (src/lib/route-hooks.ts): user authentication where a user token is
// accepted, the audit origin where an audit event can be written (not on
// GET, not on the runner's job routes), the abuse limits on the routes they
// limit. The runner's poll, the bulk of a fleet's traffic, runs none of them.
// Read from Fastify's own route listing (printRoutes with hooks), where the
// route-level hooks appear by name.

type HookTable = Map<string, Record<string, string[]>>;

/** `printRoutes({ method, includeHooks: true, commonPrefix: false })` → "METHOD /path" → phase → hook names. */
function routeHooks(printed: string, method: string, table: HookTable): void {
  const segments: string[] = [];
  let current: Record<string, string[]> | undefined;
  for (const line of printed.split('\n')) {
    const node = /^([│ ]*)[├└]── (\S*) \(([^)]+)\)$/.exec(line);
    if (node) {
      const depth = node[1]!.length / 4;
      segments.length = depth;
      segments.push(node[2]!);
      current = {};
      table.set(`${method} ${segments.join('')}`, current);
      continue;
    }
    const segment = /^([│ ]*)[├└]── (\S*)$/.exec(line);
    if (segment) {
      segments.length = segment[1]!.length / 4;
      segments.push(segment[2]!);
      current = undefined;
      continue;
    }
    const hooks = /• \((\w+)\) (\[.*\])$/.exec(line);
    if (hooks && current) current[hooks[1]!] = (JSON.parse(hooks[2]!) as string[]).map((h) => h.replace(/^bound /, '').replace(/\(\)$/, ''));
  }
}

/** The named (route-level) hooks of one route and phase; the global hooks are anonymous. */
const named = (table: HookTable, route: string, phase: string): string[] => {
  const hooks = table.get(route);
  if (!hooks) throw new Error(`no route ${route}`);
  return (hooks[phase] ?? []).filter((h) => h !== 'anonymous');
};

describe('per-route hooks', () => {
  let t: TestApp;
  let table: HookTable;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'true' });
    await t.app.ready();
    table = new Map();
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) routeHooks(t.app.printRoutes({ method, includeHooks: true, commonPrefix: false }), method, table);
  });
  afterAll(async () => t?.close());

  it('the runner poll runs no authentication, audit or rate-limit hook, and no other preHandler at all', () => {
    expect(table.get('POST /api/v4/jobs/request')?.preHandler ?? []).toEqual([]);
    expect(named(table, 'POST /api/v4/jobs/request', 'onRequest')).toEqual(['watchHandlerTime']);
    expect(named(table, 'POST /api/v4/jobs/request', 'onResponse')).toEqual(['unwatchHandlerTime']);
  });

  it.each([
    // route, preHandler, onRequest, onResponse (route-level hooks only, in order)
    ['GET /api/v4/runners/:id', ['authenticate'], ['watchHandlerTime', 'stopFailedSignIns'], ['unwatchHandlerTime', 'countFailedSignIn']],
    ['PUT /api/v4/runners/:id', ['authenticate', 'enterAuditOrigin'], ['watchHandlerTime', 'stopFailedSignIns'], ['unwatchHandlerTime', 'countFailedSignIn']],
    ['GET /api/v4/runners/all', ['authenticate'], ['watchHandlerTime', 'stopFailedSignIns'], ['unwatchHandlerTime', 'countFailedSignIn']],
    ['POST /api/v4/runners', ['enterAuditOrigin'], ['watchHandlerTime', 'limitTokenEndpoint'], ['unwatchHandlerTime']],
    ['POST /api/v4/runners/verify', ['enterAuditOrigin'], ['watchHandlerTime', 'limitTokenEndpoint'], ['unwatchHandlerTime']],
    ['PUT /api/v4/jobs/:id', [], ['watchHandlerTime'], ['unwatchHandlerTime']],
    ['GET /-/readiness', [], ['watchHandlerTime'], ['unwatchHandlerTime']],
  ])('%s runs preHandler %j, onRequest %j, onResponse %j', (route, preHandler, onRequest, onResponse) => {
    expect(named(table, route, 'preHandler')).toEqual(preHandler);
    expect(named(table, route, 'onRequest')).toEqual(onRequest);
    expect(named(table, route, 'onResponse')).toEqual(onResponse);
  });

  it('no GET route runs the audit origin, and every route that takes a user token authenticates it', () => {
    const entries = t.app.routeTable.map((r) => [`${r.method} ${r.url}`, r.auth] as const);
    expect(entries.length).toBeGreaterThan(50);
    for (const [route, auth] of entries) {
      const preHandler = named(table, route, 'preHandler');
      if (route.startsWith('GET ')) expect(preHandler, route).not.toContain('enterAuditOrigin');
      if (route.includes(' /api/v4/')) expect(preHandler.includes('authenticate'), route).toBe(auth !== 'none');
    }
  });
});
