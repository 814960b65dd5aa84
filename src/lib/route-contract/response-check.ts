import type { FastifyInstance } from 'fastify';

// Checks every JSON response of a contracted route against the schema its
// contract declares for that status, so the OpenAPI document cannot drift
// from what the code sends. Turned on by the test apps (the whole
// integration suite runs with it); a mismatch replaces the response with a
// 500 naming the route and the differences, which fails the test that made
// the request.

export interface ResponseMismatch {
  route: string;
  status: number;
  issues: unknown;
}

export function checkResponses(app: FastifyInstance, onMismatch?: (m: ResponseMismatch) => void): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const contract = request.routeOptions.config?.contract;
    if (!contract) return done(null, payload);
    const status = reply.statusCode;
    const spec = contract.responses[status];
    const route = `${request.method} ${request.routeOptions.url}`;
    const fail = (issues: unknown) => {
      onMismatch?.({ route, status, issues });
      reply.code(500).type('application/json');
      done(null, JSON.stringify({ message: '500 response does not match its declared contract', route, status, issues }));
    };
    if (status >= 400) return done(null, payload); // errors share one documented shape
    if (!spec) return fail(`status ${status} is not declared`);
    if (!spec.schema) return done(null, payload);
    if (typeof payload !== 'string') return fail('expected a JSON body');
    let body: unknown;
    try {
      body = JSON.parse(payload);
    } catch {
      return fail('body is not JSON');
    }
    const result = spec.schema.safeParse(body);
    if (!result.success) return fail(result.error.issues.slice(0, 5));
    done(null, payload);
  });
}
