import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { WindowCounter } from '../../src/plugins/rate-limit.js';
import { loadConfig } from '../../src/config.js';

// Abuse limits per client address (src/plugins/rate-limit.ts): the
// unauthenticated runner-token endpoints, and failed sign-ins. Limits are set
// low here; the production defaults are generous.

const TOKEN_LIMIT = 4;
const AUTH_LIMIT = 3;

let t: TestApp;
let ip = 0;
/** A fresh client address per test, so tests do not share counters. */
const nextIp = () => `10.9.${Math.floor(++ip / 250)}.${ip % 250}`;

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_TOKEN_ENDPOINTS_PER_MINUTE: String(TOKEN_LIMIT),
    RATE_LIMIT_FAILED_AUTH_PER_MINUTE: String(AUTH_LIMIT),
  });
});
afterAll(async () => t?.close());
afterEach(() => vi.useRealTimers());

const TOKEN_ENDPOINTS = [
  { method: 'POST', url: '/api/v4/runners' },
  { method: 'POST', url: '/api/v4/runners/verify' },
  { method: 'POST', url: '/api/v4/runners/reset_authentication_token' },
  { method: 'DELETE', url: '/api/v4/runners' },
  { method: 'DELETE', url: '/api/v4/runners/managers' },
] as const;

function expectTooMany(res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }) {
  expect(res.statusCode).toBe(429);
  expect(res.json()).toEqual({ message: '429 Too Many Requests' });
  expect(res.headers['content-type']).toBe('application/json');
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

const guess = (endpoint: (typeof TOKEN_ENDPOINTS)[number], remoteAddress: string) =>
  t.api({ ...endpoint, token: null, remoteAddress, payload: { token: 'glrt-t1_guessedguessedguessed', system_id: 's_0123456789ab' } });

describe('runner-token endpoints, per client address', () => {
  for (const endpoint of TOKEN_ENDPOINTS) {
    it(`${endpoint.method} ${endpoint.url}: the request past the limit gets 429 with Retry-After`, async () => {
      const addr = nextIp();
      for (let i = 0; i < TOKEN_LIMIT; i++) expect((await guess(endpoint, addr)).statusCode).not.toBe(429);
      expectTooMany(await guess(endpoint, addr));
    });
  }

  it('the five endpoints share one budget per address', async () => {
    const addr = nextIp();
    for (let i = 0; i < TOKEN_LIMIT; i++) expect((await guess(TOKEN_ENDPOINTS[i % 5]!, addr)).statusCode).not.toBe(429);
    expectTooMany(await guess(TOKEN_ENDPOINTS[TOKEN_LIMIT % 5]!, addr));
  });

  it('a good token is limited too (the limit is on requests, not failures)', async () => {
    const addr = nextIp();
    const { token } = await t.fx.runner();
    for (let i = 0; i < TOKEN_LIMIT; i++) {
      const res = await t.api({ method: 'POST', url: '/api/v4/runners/verify', token: null, remoteAddress: addr, payload: { token } });
      expect(res.statusCode).toBe(200);
    }
    expectTooMany(await t.api({ method: 'POST', url: '/api/v4/runners/verify', token: null, remoteAddress: addr, payload: { token } }));
  });

  it('another address is not affected', async () => {
    const busy = nextIp();
    for (let i = 0; i <= TOKEN_LIMIT; i++) await guess(TOKEN_ENDPOINTS[1], busy);
    expectTooMany(await guess(TOKEN_ENDPOINTS[1], busy));
    expect((await guess(TOKEN_ENDPOINTS[1], nextIp())).statusCode).toBe(403);
  });

  it('a limited client is refused before its body is read: 429, not 413, for an oversized body', async () => {
    const addr = nextIp();
    for (let i = 0; i < TOKEN_LIMIT; i++) await guess(TOKEN_ENDPOINTS[0], addr);
    const res = await t.api({
      method: 'POST',
      url: '/api/v4/runners',
      token: null,
      remoteAddress: addr,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token: 'x'.repeat(3 * 1024 * 1024) }),
    });
    expectTooMany(res);
  });

  it('the budget comes back when the minute is over', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const addr = nextIp();
    for (let i = 0; i < TOKEN_LIMIT; i++) await guess(TOKEN_ENDPOINTS[1], addr);
    const limited = await guess(TOKEN_ENDPOINTS[1], addr);
    expectTooMany(limited);
    vi.setSystemTime(Date.now() + Number(limited.headers['retry-after']) * 1000);
    expect((await guess(TOKEN_ENDPOINTS[1], addr)).statusCode).toBe(403);
  });

  it('POST /jobs/request is never limited per address (fleets poll from behind one NAT)', async () => {
    const addr = nextIp();
    const { token } = await t.fx.runner();
    for (let i = 0; i < TOKEN_LIMIT * 3; i++) {
      const res = await t.api({ method: 'POST', url: '/api/v4/jobs/request', token: null, remoteAddress: addr, payload: { token } });
      expect(res.statusCode).toBe(204);
    }
    for (let i = 0; i < TOKEN_LIMIT * 2; i++) {
      const res = await t.api({ method: 'POST', url: '/api/v4/jobs/request', token: null, remoteAddress: addr, payload: { token: 'glrt-t1_unknownunknownunknown' } });
      expect(res.statusCode).toBe(403);
    }
  });
});

describe('failed sign-ins, per client address', () => {
  const whoAmI = (remoteAddress: string, token: string | null) => t.api({ method: 'GET', url: '/api/v4/user', token, remoteAddress });

  it('after the limit of 401s, even a good token from that address gets 429 with Retry-After', async () => {
    const addr = nextIp();
    for (let i = 0; i < AUTH_LIMIT; i++) {
      const res = await whoAmI(addr, `glpat-wrongwrongwrong${i}`);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ message: '401 Unauthorized' });
    }
    expectTooMany(await whoAmI(addr, 'glpat-wrongwrongwrongX'));
    expectTooMany(await whoAmI(addr, t.rootToken));
  });

  it('every way of presenting a token counts: header, Bearer, ?private_token=, form body', async () => {
    const addr = nextIp();
    const bad = 'glpat-nottherightoneatall';
    expect((await t.api({ method: 'GET', url: '/api/v4/user', token: bad, remoteAddress: addr })).statusCode).toBe(401);
    expect((await t.api({ method: 'GET', url: '/api/v4/user', token: null, headers: { authorization: `Bearer ${bad}` }, remoteAddress: addr })).statusCode).toBe(401);
    expect((await t.api({ method: 'GET', url: `/api/v4/user?private_token=${bad}`, token: null, remoteAddress: addr })).statusCode).toBe(401);
    expectTooMany(
      await t.api({
        method: 'POST',
        url: '/api/v4/projects',
        token: null,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `private_token=${bad}&name=x`,
        remoteAddress: addr,
      }),
    );
  });

  it('expired and revoked tokens count as failed sign-ins', async () => {
    const addr = nextIp();
    const { user } = await t.fx.user();
    const expired = await t.fx.token(user, ['api'], { expiresAt: new Date('2020-01-01') });
    const revoked = await t.fx.token(user, ['api'], { revoked: true });
    expect((await whoAmI(addr, expired)).statusCode).toBe(401);
    expect((await whoAmI(addr, revoked)).statusCode).toBe(401);
    expect((await whoAmI(addr, expired)).statusCode).toBe(401);
    expectTooMany(await whoAmI(addr, t.rootToken));
  });

  it('requests without credentials do not count (a 401 there is not a guess)', async () => {
    const addr = nextIp();
    for (let i = 0; i < AUTH_LIMIT * 3; i++) expect((await whoAmI(addr, null)).statusCode).toBe(401);
    expect((await whoAmI(addr, t.rootToken)).statusCode).toBe(200);
  });

  it('other addresses, and the runner endpoints of the blocked address, keep working', async () => {
    const addr = nextIp();
    for (let i = 0; i <= AUTH_LIMIT; i++) await whoAmI(addr, 'glpat-wrongwrongwrongwrong');
    expectTooMany(await whoAmI(addr, t.rootToken));
    expect((await whoAmI(nextIp(), t.rootToken)).statusCode).toBe(200);
    const { token } = await t.fx.runner();
    const poll = await t.api({ method: 'POST', url: '/api/v4/jobs/request', token: null, remoteAddress: addr, payload: { token } });
    expect(poll.statusCode).toBe(204);
  });

  it('successful sign-ins do not count', async () => {
    const addr = nextIp();
    for (let i = 0; i < AUTH_LIMIT * 3; i++) expect((await whoAmI(addr, t.rootToken)).statusCode).toBe(200);
  });
});

describe('configuration', () => {
  it('RATE_LIMIT_ENABLED=false turns both limits off', async () => {
    const off = await createTestApp({
      RATE_LIMIT_ENABLED: 'false',
      RATE_LIMIT_TOKEN_ENDPOINTS_PER_MINUTE: '1',
      RATE_LIMIT_FAILED_AUTH_PER_MINUTE: '1',
    });
    try {
      for (let i = 0; i < 5; i++) {
        const verify = await off.api({ method: 'POST', url: '/api/v4/runners/verify', token: null, payload: { token: 'glrt-t1_nopenopenopenopenope' } });
        expect(verify.statusCode).toBe(403);
        expect((await off.api({ method: 'GET', url: '/api/v4/user', token: 'glpat-wrongwrongwrongwrong' })).statusCode).toBe(401);
      }
      expect((await off.api({ method: 'GET', url: '/api/v4/user' })).statusCode).toBe(200);
    } finally {
      await off.close();
    }
  });

  it('defaults: on, 600 token-endpoint requests and 60 failed sign-ins per minute', () => {
    const config = loadConfig({});
    expect(config.RATE_LIMIT_ENABLED).toBe(true);
    expect(config.RATE_LIMIT_TOKEN_ENDPOINTS_PER_MINUTE).toBe(600);
    expect(config.RATE_LIMIT_FAILED_AUTH_PER_MINUTE).toBe(60);
    expect(loadConfig({ RATE_LIMIT_ENABLED: 'false' }).RATE_LIMIT_ENABLED).toBe(false);
    expect(() => loadConfig({ RATE_LIMIT_FAILED_AUTH_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_FAILED_AUTH_PER_MINUTE/);
  });
});

describe('WindowCounter', () => {
  it('counts per key in fixed windows and forgets expired keys when swept', () => {
    const c = new WindowCounter(2, 1000);
    expect(c.hit('a', 0)).toBe(0);
    expect(c.hit('a', 100)).toBe(0);
    expect(c.hit('a', 200)).toBe(1); // over: wait until t=1000
    expect(c.blocked('a', 300)).toBe(1);
    expect(c.hit('b', 300)).toBe(0);
    expect(c.blocked('a', 1000)).toBe(0);
    expect(c.hit('a', 1000)).toBe(0); // a new window reuses the entry
    expect(c.size).toBe(2);
    c.sweep(5000);
    expect(c.size).toBe(0);
  });

  it('Retry-After rounds up to whole seconds and is at least 1', () => {
    const c = new WindowCounter(0, 60_000);
    expect(c.hit('x', 0)).toBe(60);
    expect(c.hit('x', 59_500)).toBe(1);
  });
});
