import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import multipart from '@fastify/multipart';
import { invalidEncoding, isBadlyEncoded, jsonText, markBadlyEncoded, parseJsonBody, parseUrlEncoded, strictUtf8 } from '../lib/route-contract/raw-input.js';

export { parseJsonBody };

// Everything real GitLab clients need from the HTTP edge (test/integration/edge-rules.test.ts),
// in one place: query arrays in three spellings, empty JSON bodies, form and
// multipart bodies parsed like Rack does, exact `application/json`, and
// X-Request-Id echoed.

export { QS_OPTIONS } from '../lib/route-contract/raw-input.js';

/** The query string as raw parameters: repeated plain keys remembered, bad encodings marked (raw-input.ts). */
export const parseQuery = (str: string) => parseUrlEncoded(str);


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

async function compat(app: FastifyInstance) {
  // python-gitlab sends `Content-Type: application/json` with an empty body on
  // DELETE and bodiless POST; Fastify's own parser would answer 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(jsonText(body as Buffer));
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, parsed);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => {
    const text = strictUtf8(body as Buffer);
    if (text === undefined) return done(invalidEncoding('request body'), undefined);
    done(null, parseUrlEncoded(text));
  });
  // Fields are read as bytes (latin1 maps each byte to one code unit) so that
  // invalid UTF-8 in a field can be told from a real U+FFFD.
  await app.register(multipart, { limits: { fileSize: 1024 * 1024, files: 5, fields: 2000 }, defCharset: 'latin1' });
  // The job log arrives as raw bytes (PATCH /jobs/:id/trace).
  app.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Hooks on every request are callback-style: an async hook costs a
  // promise per request even when it has nothing to do (the poll path).
  app.addHook('preValidation', (request, _reply, done) => {
    if (isBadlyEncoded(request.query)) return done(invalidEncoding('query string'));
    if (isBadlyEncoded(request.body)) return done(invalidEncoding('request body'));
    if (!request.isMultipart()) return done();
    multipartToObject(request).then((body) => {
      if (isBadlyEncoded(body)) return done(invalidEncoding('request body'));
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
  let bad = false;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        const value = strictUtf8(Buffer.from(String(part.value), 'latin1'));
        if (value === undefined) bad = true;
        search.append(part.fieldname, value ?? '');
      } else await part.toBuffer();
    }
  } catch (err) {
    if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err;
    throw Object.assign(new Error('Invalid multipart body'), { statusCode: 400, code: 'GL_INVALID_MULTIPART' });
  }
  const body = parseUrlEncoded(search.toString());
  return bad ? markBadlyEncoded(body) : body;
}


export default fp(compat, { name: 'compat' });
