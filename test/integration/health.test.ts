import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DatabaseProbe } from '../../src/db/probe.js';
import { startRuntime } from '../../src/runtime.js';
import { createTestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';

// Health probes and graceful shutdown of the in-process runtime.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('health probes', () => {
  it('health, liveness and readiness answer without credentials while the database answers', async () => {
    const t = await createTestApp();
    cleanups.push(t.close);
    const health = await t.api({ method: 'GET', url: '/-/health', token: null });
    expect(health.statusCode).toBe(200);
    expect(health.body).toBe('GitLab OK');
    expect((await t.api({ method: 'GET', url: '/-/liveness', token: null })).json()).toEqual({ status: 'ok' });
    const ready = await t.api({ method: 'GET', url: '/-/readiness', token: null });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', master_check: [{ status: 'ok' }] });
  });

  it('readiness is 503 when the database is unreachable; liveness stays 200', async () => {
    const t = await createTestApp();
    cleanups.push(t.close);
    // The probe's own connection, pointed at a port nothing listens on.
    await t.ctx.probe.close();
    t.ctx.probe = new DatabaseProbe({ connectionString: 'postgres://nobody@127.0.0.1:1/nothing' });
    cleanups.push(() => t.ctx.probe.close());
    const ready = await t.api({ method: 'GET', url: '/-/readiness', token: null });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['content-type']).toBe('application/json');
    expect(ready.json()).toEqual({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    expect((await t.api({ method: 'GET', url: '/-/liveness', token: null })).statusCode).toBe(200);
  });
});

describe('probes under load', () => {
  it('readiness answers 200 at once while every pooled connection is taken, and liveness too', async () => {
    const t = await createTestApp();
    cleanups.push(t.close);
    // Hold every connection of both pools (one and the same behind a pooler, see src/db/client.ts), as a backlog of polls would.
    const pools = [...new Set([t.db.pool, t.db.preparedPool])];
    expect(pools).toHaveLength(t.db.pooled ? 1 : 2);
    const held = await Promise.all(pools.flatMap((pool) => Array.from({ length: pool.options.max }, () => pool.connect())));
    cleanups.push(async () => held.forEach((c) => c.release()));
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => t.api({ method: 'GET', url: i % 2 ? '/-/liveness' : '/-/readiness', token: null })),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    // Well under the 3 s readiness timeout: nothing waited for a pooled connection.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('graceful shutdown of the runtime', () => {
  it('lets an in-flight keep-alive request finish with the database still there, then refuses connections', async () => {
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const runtime = await startRuntime(
      loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', INITIAL_ROOT_TOKEN: 'glpat-graceful-shutdown-root-token' }),
    );
    cleanups.push(runtime.close);
    runtime.app.get('/api/v4/probe/slow', { config: { auth: 'none' } }, async () => {
      await new Promise((r) => setTimeout(r, 400));
      return (await runtime.db.pool.query('SELECT 1 AS one')).rows[0];
    });
    await runtime.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(runtime.app.server.address() as AddressInfo).port}`;

    const inFlight = fetch(`${base}/api/v4/probe/slow`);
    await new Promise((r) => setTimeout(r, 100));
    const closing = runtime.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ one: 1 });
    // the keep-alive connection is released, so close() does not wait for keepAliveTimeout
    expect(res.headers.get('connection')).toBe('close');
    await closing;

    await expect(fetch(`${base}/-/health`)).rejects.toThrow();
    expect(runtime.db.pool.ended).toBe(true);
    await expect(runtime.close()).resolves.toBeUndefined(); // idempotent
  });
});
