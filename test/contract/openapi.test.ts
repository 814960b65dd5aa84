import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

// GET /-/openapi.json is generated from the route contracts: it must be a
// valid OpenAPI 3.1 document, describe every route the server serves, and
// /-/docs must serve Swagger UI for it from the installed package.

let t: TestApp;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is read field by field
let doc: any;

beforeAll(async () => {
  t = await createTestApp();
  const res = await t.api({ method: 'GET', url: '/-/openapi.json', token: null });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(async () => t?.close());

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)(\((?:\\.|[^)])*\))?/g, '{$1}');

describe('GET /-/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the server serves, with the method', () => {
    const served = t.app.routeTable.map((r) => `${r.method} ${openApiPath(r.url)}`).sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(50);
  });

  it('declares the four security schemes and uses them by auth kind', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['Bearer', 'JobToken', 'PrivateToken', 'RunnerToken']);
    expect(doc.components.securitySchemes.PrivateToken).toMatchObject({ type: 'apiKey', in: 'header', name: 'PRIVATE-TOKEN' });
    expect(doc.components.securitySchemes.JobToken).toMatchObject({ type: 'apiKey', in: 'header', name: 'JOB-TOKEN' });
    expect(doc.paths['/api/v4/runners/{id}'].get.security).toEqual([{ PrivateToken: [] }, { Bearer: [] }]);
    expect(doc.paths['/api/v4/jobs/request'].post.security).toEqual([{ RunnerToken: [] }]);
    expect(doc.paths['/api/v4/jobs/{id}'].put.security).toEqual([{ JobToken: [] }]);
    expect(doc.paths['/api/v4/groups'].get.security).toContainEqual({});
  });

  it('gives parameters their Grape types, enums and required flags', () => {
    const list = doc.paths['/api/v4/runners/all'].get.parameters as { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
    const byName = Object.fromEntries(list.map((p) => [p.name, p]));
    expect(byName.type).toMatchObject({ in: 'query', required: false, schema: { type: 'string', enum: ['instance_type', 'group_type', 'project_type'] } });
    expect(byName.paused!.schema.type).toBe('boolean');
    expect(byName.page!.schema.type).toBe('integer');
    expect(byName.tag_list!.schema.anyOf).toContainEqual({ type: 'array', items: { type: 'string' } });
    const create = doc.paths['/api/v4/user/runners'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(['runner_type']);
    expect(create.properties.group_id.description).toMatch(/Required when `runner_type` is `group_type`/);
    expect(doc.paths['/api/v4/runners/{id}'].put.description).toMatch(/mutually_exclusive`: active, paused/);
    // Parameters that may also be sent as null keep their type.
    const update = doc.paths['/api/v4/runners/{id}'].put.requestBody.content['application/json'].schema;
    expect({ description: update.properties.description, maximum_timeout: update.properties.maximum_timeout }).toEqual({
      description: { type: 'string' },
      maximum_timeout: { type: 'integer', format: 'int32' },
    });
    const audit = Object.fromEntries((doc.paths['/api/v4/audit_events'].get.parameters as { name: string; schema: unknown }[]).map((p) => [p.name, p.schema]));
    expect(audit.created_after).toEqual({ type: 'string', format: 'date-time' });
  });

  it('describes the pagination headers on list routes and examples on responses', () => {
    const ok = doc.paths['/api/v4/runners'].get.responses['200'];
    expect(Object.keys(ok.headers)).toEqual(['X-Total', 'X-Total-Pages', 'X-Per-Page', 'X-Page', 'X-Next-Page', 'X-Prev-Page', 'Link']);
    expect(doc.components.schemas.Runner.example).toMatchObject({ runner_type: 'project_type' });
    expect(doc.paths['/api/v4/runners/{id}'].get.responses['404']).toBeDefined();
  });
});

describe('GET /-/docs', () => {
  it('serves Swagger UI pointing at the document, with its assets from the package', async () => {
    const page = await t.api({ method: 'GET', url: '/-/docs', token: null });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="swagger-ui">');
    expect(page.body).not.toMatch(/https?:\/\//);
    const scripts = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual(['/-/docs/swagger-ui.css', '/-/docs/favicon-32x32.png', '/-/docs/swagger-ui-bundle.js', '/-/docs/swagger-ui-standalone-preset.js', '/-/docs/init.js']);
    for (const asset of scripts) {
      const res = await t.api({ method: 'GET', url: asset, token: null });
      expect(res.statusCode, asset).toBe(200);
      expect(res.body.length, asset).toBeGreaterThan(100);
    }
    const init = await t.api({ method: 'GET', url: '/-/docs/init.js', token: null });
    expect(init.body).toContain("url: '/-/openapi.json'");
    const bundle = await t.api({ method: 'GET', url: '/-/docs/swagger-ui-bundle.js', token: null });
    expect(bundle.body).toContain('SwaggerUIBundle');
    expect((await t.api({ method: 'GET', url: '/-/docs/package.json', token: null })).statusCode).toBe(404);
  });
});
