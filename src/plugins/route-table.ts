import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AnyContract } from '../lib/route-contract/index.js';
import type { Scope } from './auth.js';

// Every route the app serves, as registered: the security suites generate
// their cases from this list, so a route added later is covered without
// anyone editing a test. Must be registered before the routes (onRoute only
// sees routes added after it).

export interface RouteEntry {
  method: string;
  /** The full URL pattern, prefix included, e.g. `/api/v4/runners/:id`. */
  url: string;
  /** The auth hook's mode for this route (its default is 'required'). */
  auth: 'required' | 'optional' | 'none';
  /** Scopes the route accepts besides api / read_api. */
  scopes: Scope[];
  /** Route-level body limit, when it differs from the server's. */
  bodyLimit?: number;
  /** The route's declared contract (every route of this app has one; see docs/routes.md). */
  contract?: AnyContract;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteEntry[];
  }
}

async function routeTable(app: FastifyInstance) {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { auth?: RouteEntry['auth']; scopes?: Scope[]; contract?: AnyContract };
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      // Fastify adds a HEAD twin after every GET route; it is not one of ours.
      if (method === 'HEAD' && table.some((r) => r.method === 'GET' && r.url === route.url)) continue;
      if (table.some((r) => r.method === method && r.url === route.url)) continue;
      table.push({
        method,
        url: route.url,
        auth: config.auth ?? 'required',
        scopes: [...(config.scopes ?? [])],
        ...(route.bodyLimit !== undefined ? { bodyLimit: route.bodyLimit } : {}),
        ...(config.contract ? { contract: config.contract } : {}),
      });
    }
  });
}

export default fp(routeTable, { name: 'route-table' });
