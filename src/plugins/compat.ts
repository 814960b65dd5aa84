import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import qs from 'qs';

// Everything real GitLab clients need from the HTTP edge (spec/clients.md §0),
// in one place: query arrays in three spellings, empty JSON bodies, form and
// multipart bodies parsed like Rack does, exact `application/json`, and
// X-Request-Id echoed.

export const QS_OPTIONS: qs.IParseOptions = { depth: 3, arrayLimit: 1000, parameterLimit: 2000, allowDots: false };

export const parseQuery = (str: string) => qs.parse(str, QS_OPTIONS) as Record<string, unknown>;

async function compat(app: FastifyInstance) {
  // python-gitlab sends `Content-Type: application/json` with an empty body on
  // DELETE and bodiless POST; Fastify's own parser would answer 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = Object.assign(new Error('Invalid JSON body'), { statusCode: 400, code: 'GL_INVALID_JSON' });
      done(err, undefined);
    }
  });
  await app.register(formbody, { parser: (str) => parseQuery(str) });
  await app.register(multipart, { attachFieldsToBody: true, limits: { fileSize: 1024 * 1024, files: 5, fields: 2000 } });
  // The job log arrives as raw bytes (PATCH /jobs/:id/trace).
  app.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.isMultipart()) request.body = multipartToObject(request.body);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', 'application/json');
    return payload;
  });
}

/** `curl --form a=1 --form 'tag_list[]=x'` → the same object the url-encoded body gives. */
function multipartToObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object') return {};
  const search = new URLSearchParams();
  for (const [key, field] of Object.entries(body as Record<string, unknown>)) {
    for (const part of Array.isArray(field) ? field : [field]) {
      const p = part as { type?: string; value?: unknown };
      if (p && p.type === 'field') search.append(key, String(p.value));
    }
  }
  return parseQuery(search.toString());
}

export default fp(compat, { name: 'compat' });
