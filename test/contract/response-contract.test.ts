import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareParams, defineRoute } from '../../src/lib/route-contract/index.js';
import { glInteger } from '../../src/schemas/common.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// The test apps check every response against the schema its route contract
// declares (src/lib/route-contract/response-check.ts), so the whole
// integration suite keeps /-/openapi.json honest. This proves the check
// fails a response that drifts from its declaration.

let t: TestApp;

async function probes(app: FastifyInstance) {
  const declared = z.object({ id: z.number().int(), name: z.string() });
  const params = declareParams({ n: glInteger().optional() });
  defineRoute(app, { method: 'GET', path: '/-/probe/matches', summary: 'probe', tags: ['probe'], auth: 'none', params, responses: { 200: { description: 'ok', schema: declared } } }, async () => ({ id: 1, name: 'a' }));
  defineRoute(app, { method: 'GET', path: '/-/probe/drifts', summary: 'probe', tags: ['probe'], auth: 'none', params, responses: { 200: { description: 'ok', schema: declared } } }, async () => ({ id: 'one', name: 'a' }));
  defineRoute(app, { method: 'GET', path: '/-/probe/undeclared', summary: 'probe', tags: ['probe'], auth: 'none', params, responses: { 200: { description: 'ok', schema: declared } } }, async (_i, _r, reply) => reply.code(202).send({ id: 1, name: 'a' }));
}

beforeAll(async () => {
  t = await createTestApp({}, { extraPlugins: [probes] });
});
afterAll(async () => t?.close());

describe('responses are checked against their contracts in the test apps', () => {
  it('passes a response that matches', async () => {
    const res = await t.api({ method: 'GET', url: '/-/probe/matches', token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 1, name: 'a' });
  });

  it('turns a response that does not match into a 500 naming the route', async () => {
    const res = await t.api({ method: 'GET', url: '/-/probe/drifts', token: null });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ message: '500 response does not match its declared contract', route: 'GET /-/probe/drifts', status: 200 });
  });

  it('turns an undeclared success status into a 500', async () => {
    const res = await t.api({ method: 'GET', url: '/-/probe/undeclared', token: null });
    expect(res.statusCode).toBe(500);
    expect(res.json().issues).toBe('status 202 is not declared');
  });

  it('validates the probe parameters like any route (a declared Integer)', async () => {
    const res = await t.api({ method: 'GET', url: '/-/probe/matches?n=x', token: null });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'n is invalid' });
  });
});
