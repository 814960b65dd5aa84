import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListeningApp } from '../helpers/listen.js';
import type { TestApp } from '../helpers/app.js';

// A client that writes a whole oversized body before reading (node's http
// module without `Expect: 100-continue`) must read the 413, not EPIPE or
// ECONNRESET: the server keeps reading and discarding after answering.

let t: TestApp & { url: string };
beforeAll(async () => {
  t = await createListeningApp({ BODY_LIMIT: String(1024 * 1024) });
});
afterAll(async () => t?.close());

function postLarge(size: number, chunked: boolean): Promise<{ status?: number; body?: string; error?: string }> {
  const url = new URL('/api/v4/runners', t.url);
  return new Promise((resolve) => {
    let outcome: { status?: number; body?: string; error?: string } = {};
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: url.pathname,
      agent: false,
      headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(size) }) },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        outcome = { ...outcome, status: res.statusCode, body };
        // Give a late write error the chance to show up before deciding.
        setTimeout(() => resolve(outcome), 50);
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      outcome = { ...outcome, error: err.code ?? err.message };
      if (outcome.status === undefined) resolve(outcome);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

describe('body too large', () => {
  it.each([
    ['with Content-Length', false],
    ['chunked', true],
  ])('a 5 MB body %s gets a readable 413, every time', async (_label, chunked) => {
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await postLarge(5_000_000, chunked));
    expect(outcomes).toEqual(Array.from({ length: 5 }, () => ({ status: 413, body: '{"message":"413 Request Entity Too Large"}' })));
  });

  it('a 64 MB body (past what the server discards) still gets its 413 first', async () => {
    const outcome = await postLarge(64 * 1024 * 1024, false);
    expect(outcome.status).toBe(413);
    expect(outcome.body).toBe('{"message":"413 Request Entity Too Large"}');
  });

  it('the server still answers normally afterwards', async () => {
    const res = await fetch(`${t.url}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': t.rootToken } });
    expect(res.status).toBe(200);
  });
});
