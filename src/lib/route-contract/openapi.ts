import { z } from 'zod';
import type { AnyContract, AuthKind } from './define.js';
import type { ParamDescription } from './params.js';
import { declareParams, type Shape } from './params.js';

// The OpenAPI 3.1 document, generated from the route contracts: every
// route the app registered with a contract, its parameters with their Grape
// types (from each type's metadata, see schemas/common.ts), rules, security
// and response schemas. Nothing here is written by hand per route.

type Json = Record<string, unknown>;

export interface DocumentedRoute {
  method: string;
  /** Full Fastify URL pattern, e.g. `/api/v4/users/:id(^\\d+$)`. */
  url: string;
  contract: AnyContract;
}

/** The Grape metadata the parameter types carry (schemas/common.ts GrapeMeta). */
interface GrapeMeta {
  grape: string;
  values?: readonly (string | number)[];
  commaSeparated?: boolean;
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;

function grapeMetaOf(schema: z.ZodType): GrapeMeta | undefined {
  let cur: z.ZodType | undefined = schema;
  for (let depth = 0; cur && depth < 10; depth++) {
    const meta = z.globalRegistry.get(cur) as Partial<GrapeMeta> | undefined;
    if (meta?.grape) return meta as GrapeMeta;
    const def = defOf(cur);
    if (def.type === 'union') {
      // `null | T` (a param that may be sent as null): T's type.
      cur = (def.options as z.ZodType[]).find((o) => grapeMetaOf(o));
      continue;
    }
    cur = (def.innerType ?? def.in ?? def.schema) as z.ZodType | undefined;
    // A preprocess step (a pipe from a transform) describes nothing: follow its output.
    if (def.type === 'pipe' && defOf(def.in as z.ZodType).type === 'transform') cur = def.out as z.ZodType;
  }
  return undefined;
}

/** Unwraps optional/nullable/default/pipe wrappers down to an object or array schema, if there is one. */
function structural(schema: z.ZodType): z.ZodType | undefined {
  let cur: z.ZodType | undefined = schema;
  for (let depth = 0; cur && depth < 10; depth++) {
    const def = defOf(cur);
    if (def.type === 'object' || def.type === 'array') return cur;
    cur = (def.type === 'pipe' ? (defOf(def.out as z.ZodType).type === 'transform' ? def.in : def.out) : (def.innerType ?? def.schema)) as z.ZodType | undefined;
  }
  return undefined;
}

/** JSON Schema of one parameter type. */
export function paramJsonSchema(schema: z.ZodType): Json {
  const meta = grapeMetaOf(schema);
  const values = meta?.values ? { enum: [...meta.values] } : {};
  switch (meta?.grape) {
    case 'Integer':
      return { type: 'integer', format: 'int32' };
    case 'String':
      return { type: 'string' };
    case 'Boolean':
      return { type: 'boolean', description: 'Also true/false, 1/0, t/f, yes/no, on/off in any of their spellings.' };
    case 'Enum':
      return { type: 'string', ...values };
    case 'Date':
      return { type: 'string', format: 'date' };
    case 'DateTime':
      return { type: 'string', format: 'date-time' };
    case 'Hash':
      return { type: 'object' };
    case 'NamespacedId':
      return { anyOf: [{ type: 'integer' }, { type: 'string', description: 'URL-encoded full path' }] };
    case 'Array[Integer]':
      return { anyOf: [{ type: 'array', items: { type: 'integer' } }, { type: 'string', description: 'comma-separated' }] };
    case 'Array[String]':
      return meta.commaSeparated
        ? { anyOf: [{ type: 'array', items: { type: 'string', ...values } }, { type: 'string', description: 'comma-separated' }] }
        : { type: 'array', items: { type: 'string', ...values } };
  }
  const inner = structural(schema);
  if (inner && defOf(inner).type === 'object') {
    const shape = defOf(inner).shape as Shape;
    const properties: Json = {};
    const required: string[] = [];
    for (const [k, s] of Object.entries(shape)) {
      properties[k] = paramJsonSchema(s);
      if (!s.safeParse(undefined).success) required.push(k);
    }
    return { type: 'object', properties, ...(required.length ? { required } : {}) };
  }
  if (inner && defOf(inner).type === 'array') return { type: 'array', items: paramJsonSchema(defOf(inner).element as z.ZodType) };
  return {};
}

function paramDescription(p: ParamDescription): string | undefined {
  if (!p.requiredWhen) return undefined;
  return `Required when \`${p.requiredWhen.key}\` is ${p.requiredWhen.values.map((v) => `\`${String(v)}\``).join(' or ')}; type-checked whenever given.`;
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)(\((?:\\.|[^)])*\))?/g, '{$1}');

const SECURITY: Record<AuthKind, Json[]> = {
  user: [{ PrivateToken: [] }, { Bearer: [] }],
  'user-optional': [{ PrivateToken: [] }, { Bearer: [] }, {}],
  'runner-token': [{ RunnerToken: [] }],
  'job-token': [{ JobToken: [] }],
  none: [],
};

const PAGINATION_HEADERS = ['X-Total', 'X-Total-Pages', 'X-Per-Page', 'X-Page', 'X-Next-Page', 'X-Prev-Page', 'Link'];

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** Converts a response schema, moving its named sub-schemas into components. */
function responseSchema(schema: z.ZodType, components: Json): Json {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'output' }) as Json;
  const text = JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $schema: _s, $defs, ...rest } = JSON.parse(text) as Json & { $defs?: Json };
  Object.assign(components, $defs ?? {});
  const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
  if (id && !('$ref' in rest)) {
    const { id: _id, ...body } = rest;
    components[id] = body;
    return { $ref: `#/components/schemas/${id}` };
  }
  return rest;
}

export function buildOpenApi(routes: DocumentedRoute[], info: { title: string; version: string; description?: string }): Json {
  const schemas: Json = {};
  schemas.Error = responseSchema(
    z.union([z.looseObject({ error: z.string() }), z.looseObject({ message: z.unknown() })]),
    schemas,
  );
  const paths: Record<string, Json> = {};
  for (const { method, url, contract } of routes) {
    const c = contract;
    const pathParams = declareParams((c.pathParams ?? {}) as Shape).describe();
    const params = c.params?.describe() ?? [];
    const parameters: Json[] = pathParams.map((p) => ({ name: p.name, in: 'path', required: true, schema: paramJsonSchema(p.schema) }));
    const inBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    let requestBody: Json | undefined;
    if (c.body === 'raw') {
      requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'text/plain': { schema: { type: 'string' } } } };
    }
    if (inBody && c.body !== 'raw' && params.length) {
      const properties: Json = {};
      const required: string[] = [];
      for (const p of params) {
        const d = paramDescription(p);
        properties[p.name] = { ...paramJsonSchema(p.schema), ...(d ? { description: d } : {}) };
        if (p.required) required.push(p.name);
      }
      const schema = { type: 'object', properties, ...(required.length ? { required } : {}) };
      requestBody = {
        required: required.length > 0,
        content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema }, 'multipart/form-data': { schema } },
      };
    } else if (!inBody || c.body === 'raw') {
      for (const p of params) {
        const d = paramDescription(p);
        parameters.push({ name: p.name, in: 'query', required: p.required, schema: paramJsonSchema(p.schema), ...(d ? { description: d } : {}) });
      }
    }
    for (const [param, header] of Object.entries(c.headerFallbacks ?? {})) {
      parameters.push({ name: header.toUpperCase(), in: 'header', required: false, schema: { type: 'string' }, description: `Used as \`${param}\` when that parameter is absent.` });
    }
    const rules = (c.params?.rules ?? []).map((r) => `\`${r.kind}\`: ${r.keys.join(', ')}`);
    const description = [c.description, rules.length ? `Parameter rules (Grape): ${rules.join('; ')}.` : undefined].filter(Boolean).join('\n\n');

    const responses: Json = {};
    for (const [status, spec] of Object.entries(c.responses)) {
      const content = spec.schema
        ? { 'application/json': { schema: responseSchema(spec.schema, schemas), ...(spec.example !== undefined ? { example: spec.example } : {}) } }
        : spec.contentType
          ? { [spec.contentType]: { schema: { type: 'string' }, ...(spec.example !== undefined ? { example: spec.example } : {}) } }
          : undefined;
      const headers = c.paginated && status === '200' ? Object.fromEntries(PAGINATION_HEADERS.map((h) => [h, { $ref: `#/components/headers/${h}` }])) : undefined;
      responses[status] = { description: spec.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
    }
    if (params.length || pathParams.length) responses['400'] ??= errorResponse('Invalid parameters: {"error":"<p> is missing, <q> is invalid"}');
    if (c.auth === 'user') responses['401'] ??= errorResponse('No valid token');
    if (c.auth !== 'none') responses['403'] ??= errorResponse('Not allowed');
    if (pathParams.length) responses['404'] ??= errorResponse('Not found');

    const operation: Json = {
      operationId: `${method.toLowerCase()}${openApiPath(url).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`,
      summary: c.summary,
      ...(description ? { description } : {}),
      tags: c.tags,
      security: SECURITY[c.auth],
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
    (paths[openApiPath(url)] ??= {})[method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        PrivateToken: { type: 'apiKey', in: 'header', name: 'PRIVATE-TOKEN', description: 'A personal access token (also accepted as the `private_token` parameter).' },
        Bearer: { type: 'http', scheme: 'bearer', description: 'A personal or OAuth access token.' },
        RunnerToken: { type: 'apiKey', in: 'header', name: 'RUNNER-TOKEN', description: "The runner's token, normally sent as the `token` body parameter; the header is used when the parameter is absent." },
        JobToken: { type: 'apiKey', in: 'header', name: 'JOB-TOKEN', description: "The job's token (also accepted as the `token` parameter)." },
      },
      headers: {
        'X-Total': { description: 'Total number of items (omitted beyond 10,000 and on lists without counts)', schema: { type: 'integer' } },
        'X-Total-Pages': { description: 'Total number of pages (omitted with X-Total)', schema: { type: 'integer' } },
        'X-Per-Page': { description: 'Items per page', schema: { type: 'integer' } },
        'X-Page': { description: 'This page', schema: { type: 'integer' } },
        'X-Next-Page': { description: 'The next page, empty on the last', schema: { type: 'string' } },
        'X-Prev-Page': { description: 'The previous page, empty on the first', schema: { type: 'string' } },
        Link: { description: 'first/prev/next/last links (RFC 8288)', schema: { type: 'string' } },
      },
    },
  };
}
