import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../lib/errors.js';
import { defineRoute } from '../lib/route-contract/index.js';
import { buildOpenApi } from '../lib/route-contract/openapi.js';
import { glString } from '../schemas/common.js';
import { GITLAB_VERSION } from '../domain/gitlab-version.js';

// GET /-/openapi.json: the OpenAPI 3.1 document generated from the route
// contracts of every route the app serves. GET /-/docs: Swagger UI for it,
// served from the swagger-ui-dist package (nothing is fetched from a CDN). The
// page names its icon so that the browser does not ask for a missing /favicon.ico.

const require = createRequire(import.meta.url);
const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'application/javascript; charset=utf-8', 'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8', 'favicon-32x32.png': 'image/png' } as const;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GitLab Runners API (compatible server)</title>
<link rel="stylesheet" href="/-/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/-/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/-/docs/swagger-ui-bundle.js"></script>
<script src="/-/docs/swagger-ui-standalone-preset.js"></script>
<script src="/-/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/-/openapi.json', dom_id: '#swagger-ui', deepLinking: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });\n`;

const tags = ['documentation'];

export default async function docsRoutes(app: FastifyInstance) {
  let document: unknown;
  defineRoute(
    app,
    { method: 'GET', path: '/-/openapi.json', summary: 'This OpenAPI document', tags, auth: 'none', responses: { 200: { description: 'OpenAPI 3.1', schema: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } } },
    async () =>
      (document ??= buildOpenApi(
        app.routeTable.filter((r) => r.contract).map((r) => ({ method: r.method, url: r.url, contract: r.contract! })),
        {
          title: 'GitLab-compatible Runners API',
          version: GITLAB_VERSION.version,
          description: 'GitLab REST v4 runner, job, project, group and user endpoints as this server implements them. Generated from the route contracts.',
        },
      )),
  );

  defineRoute(
    app,
    { method: 'GET', path: '/-/docs', summary: 'Swagger UI for this document', tags, auth: 'none', responses: { 200: { description: 'HTML page', contentType: 'text/html' } } },
    async (_input, _request, reply) => reply.type('text/html; charset=utf-8').send(PAGE),
  );

  defineRoute(
    app,
    { method: 'GET', path: '/-/docs/init.js', summary: 'Swagger UI start-up script', tags, auth: 'none', responses: { 200: { description: 'JavaScript', contentType: 'application/javascript' } } },
    async (_input, _request, reply) => reply.type('application/javascript; charset=utf-8').send(INIT),
  );

  const cache = new Map<string, Buffer>();
  defineRoute(
    app,
    {
      method: 'GET', path: '/-/docs/:asset', summary: 'Swagger UI assets (from the swagger-ui-dist package)', tags, auth: 'none',
      pathParams: { asset: glString() },
      responses: { 200: { description: 'The asset', contentType: 'application/octet-stream' } },
    },
    async ({ asset }, _request, reply) => {
      if (!Object.hasOwn(ASSETS, asset)) throw notFound();
      const name = asset as keyof typeof ASSETS;
      let body = cache.get(name);
      if (!body) cache.set(name, (body = await readFile(path.join(SWAGGER_DIR, name))));
      return reply.type(ASSETS[name]).header('cache-control', 'public, max-age=3600').send(body);
    },
  );
}
