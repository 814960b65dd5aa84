import type { FastifyServerOptions } from 'fastify';

// Tokens travel in headers, in the query string (private_token, token) and
// in bodies. Request logs carry only method, a scrubbed URL and the
// non-secret headers; bodies are never logged.

const SECRET_QUERY_KEYS = /([?&](?:private_token|token|job_token|access_token|sudo)=)[^&]*/gi;

export const scrubUrl = (url: string) => url.replace(SECRET_QUERY_KEYS, '$1[REDACTED]');

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers["private-token"]',
        'req.headers.authorization',
        'req.headers["job-token"]',
        'req.headers["runner-token"]',
        'req.headers.cookie',
        // Anything else that logs a headers object one level down, e.g.
        // @fastify/multipart's trace line { busboyOptions: { headers } }.
        '*.headers["private-token"]',
        '*.headers.authorization',
        '*.headers["job-token"]',
        '*.headers["runner-token"]',
        '*.headers.cookie',
        'token',
        'body.token',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req(req) {
        return { method: req.method, url: scrubUrl(req.url), remoteAddress: req.ip, requestId: req.id };
      },
    },
  };
}
