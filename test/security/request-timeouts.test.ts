import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

// REQUEST_HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS, phase by phase, over a
// raw socket: trickled headers and a stalled body get 408 with a JSON body
// about a second after their limit (not 30–60 s later); a handler past the
// limit answers 503 JSON and its database statement is cancelled.

const HEADERS_MS = 1_000;
const REQUEST_MS = 2_500;
let t: TestApp;
let port: number;

async function slowRoute(app: FastifyInstance) {
  app.get('/api/v4/test-slow-handler', async () => {
    await app.ctx.pool.query(`SELECT pg_sleep(20), 'slow-handler-probe'`);
    return { done: true };
  });
}

beforeAll(async () => {
  t = await createTestApp({ REQUEST_HEADERS_TIMEOUT_MS: String(HEADERS_MS), REQUEST_TIMEOUT_MS: String(REQUEST_MS) }, { extraPlugins: [slowRoute] });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as net.AddressInfo).port;
});
afterAll(async () => t?.close());

/** Writes `parts` over a raw socket (one every `gapMs`, without ending) and collects the answer until the server closes. */
function rawExchange(parts: string[], gapMs: number): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const begin = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < parts.length && !socket.destroyed) socket.write(parts[i++]!);
    }, gapMs);
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, ms: Date.now() - begin });
    });
    setTimeout(() => reject(new Error(`no answer after 20 s: ${answer}`)), 20_000).unref();
  });
}

const statusLine = (answer: string) => answer.split('\r\n')[0];
const bodyOf = (answer: string) => answer.split('\r\n\r\n')[1];

describe('request timeouts', () => {
  it('headers trickled past REQUEST_HEADERS_TIMEOUT_MS: 408 with a JSON body, within about a second of the limit', async () => {
    // One header line every 300 ms, forever.
    const parts = ['GET /api/v4/version HTTP/1.1\r\n', ...Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: a\r\n`)];
    const { answer, ms } = await rawExchange(parts, 300);
    expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toContain('Content-Type: application/json');
    expect(bodyOf(answer)).toBe('{"message":"408 Request Timeout"}');
    expect(ms).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(ms).toBeLessThan(HEADERS_MS + 2_500);
  });

  it('a body stalled past REQUEST_TIMEOUT_MS: 408 with a JSON body, within about a second of the limit', async () => {
    const head = 'POST /api/v4/runners/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"token":';
    const { answer, ms } = await rawExchange([head], 10);
    expect(statusLine(answer)).toBe('HTTP/1.1 408 Request Timeout');
    expect(bodyOf(answer)).toBe('{"message":"408 Request Timeout"}');
    expect(ms).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(ms).toBeLessThan(REQUEST_MS + 2_500);
  });

  it('a handler past REQUEST_TIMEOUT_MS answers 503 JSON, and its database statement is cancelled', async () => {
    const begin = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/v4/test-slow-handler`, { headers: { 'PRIVATE-TOKEN': t.rootToken } });
    const ms = Date.now() - begin;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: '503 Service Unavailable' });
    expect(ms).toBeLessThan(REQUEST_MS + 2_500);
    // The pg_sleep(20) does not keep running in PostgreSQL.
    const deadline = Date.now() + 3_000;
    let running = 1;
    while (running > 0 && Date.now() < deadline) {
      const { rows } = await t.ctx.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%slow-handler-probe%' AND query NOT LIKE '%pg_stat_activity%' AND state = 'active'`,
      );
      running = rows[0]!.n;
      if (running > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBe(0);
  });

  it('a request within the limits is answered normally', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': t.rootToken } });
    expect(res.status).toBe(200);
  });
});
