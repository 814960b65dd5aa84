import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import qs from 'qs';

// Everything real GitLab clients need from the HTTP edge (test/integration/edge-rules.test.ts),
// in one place: query arrays in three spellings, empty JSON bodies, form and
// multipart bodies parsed like Rack does, exact `application/json`, and
// X-Request-Id echoed.

export const QS_OPTIONS: qs.IParseOptions = { depth: 3, arrayLimit: 1000, parameterLimit: 2000, allowDots: false };

export const parseQuery = (str: string) => qs.parse(str, QS_OPTIONS) as Record<string, unknown>;

/**
 * A client's X-Request-Id as Rails' ActionDispatch::RequestId keeps it: only
 * word characters, `-` and `@`, at most 255 of them. It ends up in every log
 * line and in the response, so nothing else from the client gets there.
 * Undefined when nothing usable is left (a fresh id is generated then).
 */
export function requestIdFrom(header: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  const clean = (raw ?? '').replace(/[^\w\-@]/g, '').slice(0, 255);
  return clean === '' ? undefined : clean;
}

/**
 * A JSON body as the server reads it: empty is `{}`, lone surrogates become
 * U+FFFD, anything unparsable is a 400 "Invalid JSON body".
 */
export function parseJsonBody(body: string): unknown {
  const text = body.trim();
  if (text === '') return {};
  try {
    const parsed = JSON.parse(text);
    return LONE_SURROGATE_ESCAPE.test(text) ? wellFormed(parsed) : parsed;
  } catch {
    throw Object.assign(new Error('Invalid JSON body'), { statusCode: 400, code: 'GL_INVALID_JSON' });
  }
}

async function compat(app: FastifyInstance) {
  // python-gitlab sends `Content-Type: application/json` with an empty body on
  // DELETE and bodiless POST; Fastify's own parser would answer 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body as string);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, parsed);
  });
  await app.register(formbody, { parser: (str) => parseQuery(str) });
  await app.register(multipart, { limits: { fileSize: 1024 * 1024, files: 5, fields: 2000 } });
  // The job log arrives as raw bytes (PATCH /jobs/:id/trace).
  app.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Hooks on every request are callback-style: an async hook costs a
  // promise per request even when it has nothing to do (the poll path).
  app.addHook('preValidation', (request, _reply, done) => {
    if (!request.isMultipart()) return done();
    multipartToObject(request).then((body) => {
      request.body = body;
      done();
    }, done);
  });

  // Graceful shutdown with keep-alive clients (gitlab-runner, python-gitlab
  // sessions, gitbeaker's fetch): Node only closes connections that are idle
  // when the server closes, so a connection serving a request at that moment
  // would hold close() open until keepAliveTimeout. While closing, responses
  // carry `Connection: close` and connections that fall idle are closed.
  let closingSweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closingSweep = setInterval(() => app.server.closeIdleConnections?.(), 100);
    closingSweep.unref();
  });
  app.addHook('onClose', async () => clearInterval(closingSweep));

  app.addHook('onSend', (request, reply, payload, done) => {
    if (closingSweep) reply.header('connection', 'close');
    reply.header('x-request-id', request.id);
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', 'application/json');
    done(null, payload);
  });
}

/**
 * `curl --form a=1 --form 'tag_list[]=x'` → the same object the url-encoded
 * body gives; files are read and dropped. A body busboy cannot parse (no
 * boundary, truncated, malformed part headers) is the client's error: 400,
 * not the 500 its plain Error would become. The plugin's own errors (limits)
 * keep their status.
 */
async function multipartToObject(request: FastifyRequest): Promise<Record<string, unknown>> {
  const search = new URLSearchParams();
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') search.append(part.fieldname, String(part.value));
      else await part.toBuffer();
    }
  } catch (err) {
    if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err;
    throw Object.assign(new Error('Invalid multipart body'), { statusCode: 400, code: 'GL_INVALID_MULTIPART' });
  }
  return parseQuery(search.toString());
}

/** A `\uD800`-`\uDFFF` escape: JSON may spell a lone surrogate, which no UTF-8 text can hold. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const toWellFormed = (s: string) => s.replace(LONE_SURROGATE, '\uFFFD');

/**
 * Lone surrogates in keys and strings become U+FFFD, as invalid UTF-8 bytes
 * in a body already do: the database driver and Prisma's engine would choke
 * on them (a 500). Only bodies that spell a surrogate escape are walked.
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toWellFormed(k), wellFormed(v)]));
  }
  return value;
}

export default fp(compat, { name: 'compat' });
