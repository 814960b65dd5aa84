import type { RouteOptions } from 'fastify';

// Hooks a route runs only when its declaration says it needs them. A global
// hook runs on every request and tests the route each time; a hook added to
// the route when it is registered (from an `onRoute` hook, which Fastify runs
// before it compiles the route's hook lists) costs the routes that need it
// nothing more and the others nothing at all. Route-level hooks run after the
// global hooks of the same phase, in the order the plugins added them.

type RouteHookPhase = 'onRequest' | 'preHandler' | 'onResponse';

/** Appends `hook` to the route's own hooks of `phase`. */
export function addRouteHook(route: RouteOptions, phase: RouteHookPhase, hook: (...args: never[]) => void): void {
  const existing = route[phase] as unknown;
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  (route as unknown as Record<RouteHookPhase, unknown[]>)[phase] = [...list, hook];
}

/** The route's methods (a route may declare several). */
export const routeMethods = (route: RouteOptions): string[] => (Array.isArray(route.method) ? route.method : [route.method]);

/** A route of the REST API (the prefix every GitLab client calls). */
export const isApiRoute = (route: RouteOptions): boolean => route.url.startsWith('/api/v4');

/** The auth hook's mode for the route (its default is 'required'). */
export const routeAuthMode = (route: RouteOptions): 'required' | 'optional' | 'none' =>
  (route.config as { auth?: 'required' | 'optional' | 'none' } | undefined)?.auth ?? 'required';
