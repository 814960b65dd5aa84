import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PACKAGE_ROOT } from '../../lib/package-root.js';
import { defineRoute } from '../../lib/route-contract/index.js';
import { glString } from '../../schemas/common.js';

// The fleet dashboard (docs/dashboard.md): a static page at /admin/runners
// and /admin/runners/:id that talks to the public /api/v4 routes with the
// signed-in user's token. No build step: the page's ES modules and the UI
// library's (preact, htm, from node_modules) are served as they are, from a
// fixed list of files read once at startup; nothing comes from elsewhere.

const PUBLIC_DIR = path.join(PACKAGE_ROOT, 'public', 'dashboard');
const PAGE_FILES = ['app.js', 'api.js', 'format.js', 'style.css'];

const require = createRequire(import.meta.url);
const preactDist = path.dirname(require.resolve('preact'));
const htmDist = path.dirname(require.resolve('htm'));
/** Served under /admin/assets/vendor/, named by the import map of index.html. */
const VENDOR_FILES: Record<string, string> = {
  'preact.mjs': path.join(preactDist, 'preact.mjs'),
  'hooks.mjs': path.join(preactDist, '../hooks/dist/hooks.mjs'),
  'htm.mjs': path.join(htmDist, 'htm.module.js'),
};

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(file: string): Asset {
  const body = fs.readFileSync(file);
  return { body, type: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', etag: `"${crypto.createHash('sha256').update(body).digest('hex').slice(0, 32)}"` };
}

/** The import map is the page's only inline script: the policy allows exactly it, by hash. */
function contentSecurityPolicy(html: string): string {
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hash = crypto.createHash('sha256').update(importMap).digest('base64');
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export default async function dashboardRoutes(app: FastifyInstance) {
  const html = fs.readFileSync(path.join(PUBLIC_DIR, 'index.html'), 'utf8');
  const csp = contentSecurityPolicy(html);
  const assets = new Map<string, Asset>();
  for (const name of PAGE_FILES) assets.set(name, asset(path.join(PUBLIC_DIR, name)));
  for (const [name, file] of Object.entries(VENDOR_FILES)) assets.set(`vendor/${name}`, asset(file));

  const page = (reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .headers({
        'content-security-policy': csp,
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'cache-control': 'no-cache',
      })
      .send(html);

  const tags = ['dashboard'];
  const htmlPage = { 200: { description: 'The dashboard page (it signs in and calls /api/v4 itself)', contentType: 'text/html' } };
  defineRoute(
    app,
    { method: 'GET', path: '/admin', summary: 'Redirects to the fleet dashboard', tags, auth: 'none', responses: { 302: { description: 'To /admin/runners' } } },
    async (_input, _request, reply) => reply.redirect('/admin/runners'),
  );
  defineRoute(app, { method: 'GET', path: '/admin/runners', summary: 'Fleet dashboard: overview and runner list', tags, auth: 'none', responses: htmlPage }, async (_input, _request, reply) =>
    page(reply),
  );
  defineRoute(
    app,
    { method: 'GET', path: '/admin/runners/:id', summary: 'Fleet dashboard: one runner', tags, auth: 'none', pathParams: { id: glString() }, responses: htmlPage },
    async (_input, _request, reply) => page(reply),
  );

  const serve = (key: string, ifNoneMatch: string | undefined, reply: FastifyReply) => {
    const found = assets.get(key);
    if (!found) return reply.callNotFound();
    reply.headers({ etag: found.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    if (ifNoneMatch === found.etag) return reply.code(304).send();
    return reply.type(found.type).send(found.body);
  };
  const assetResponses = { 200: { description: 'The file', contentType: 'application/octet-stream' }, 304: { description: 'Not modified (ETag)' } };
  defineRoute(
    app,
    { method: 'GET', path: '/admin/assets/:file', summary: "The dashboard's scripts and styles", tags, auth: 'none', pathParams: { file: glString() }, responses: assetResponses },
    async (input, request, reply) => serve(input.file, request.headers['if-none-match'], reply),
  );
  defineRoute(
    app,
    { method: 'GET', path: '/admin/assets/vendor/:file', summary: 'preact and htm, from node_modules', tags, auth: 'none', pathParams: { file: glString() }, responses: assetResponses },
    async (input, request, reply) => serve(`vendor/${input.file}`, request.headers['if-none-match'], reply),
  );
}
