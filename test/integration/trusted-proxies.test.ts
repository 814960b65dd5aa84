import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

// TRUSTED_PROXIES (default: loopback and private ranges, as Rails'
// ActionDispatch::RemoteIp, which GitLab uses) decides whose X-Forwarded-*
// headers count. The client address they yield is what a runner manager
// records, what the rate limiter keys on and what the request log shows;
// Link headers take the forwarded scheme and host only from a trusted proxy.

const CLIENT = '203.0.113.7';

async function verifiedFrom(t: TestApp, remoteAddress: string, forwardedFor?: string): Promise<string | null> {
  const { runner, token } = await t.fx.runner();
  const res = await t.api({
    method: 'POST',
    url: '/api/v4/runners/verify',
    token: null,
    remoteAddress,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    payload: { token, system_id: 's_proxyproxy01' },
  });
  expect(res.statusCode).toBe(200);
  const [manager] = await t.ctx.prisma.runnerManager.findMany({ where: { runner_id: runner.id } });
  return manager!.ip_address;
}

describe('with the default TRUSTED_PROXIES', () => {
  let t: TestApp;
  const logLines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    t = await createTestApp({ LOG_LEVEL: 'info', EXTERNAL_URL: '', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_TOKEN_ENDPOINTS_PER_MINUTE: '2' }, { loggerStream: stream });
  });
  afterAll(async () => t?.close());

  it.each([
    // (one client address per case: the rate limit here is 2 a minute)
    ['a local proxy (127.0.0.1) forwarding a client', '127.0.0.1', '203.0.113.1', '203.0.113.1'],
    ['a proxy on a private network (10.0.0.2)', '10.0.0.2', '203.0.113.2', '203.0.113.2'],
    ['two trusted proxies in a row', '127.0.0.1', '203.0.113.3, 192.168.1.10', '203.0.113.3'],
    ['a client that prepends a made-up address', '127.0.0.1', '1.2.3.4, 203.0.113.4', '203.0.113.4'],
    ['an untrusted peer sending X-Forwarded-For', '198.51.100.9', '203.0.113.5', '198.51.100.9'],
    ['a trusted peer without X-Forwarded-For', '127.0.0.3', undefined, '127.0.0.3'],
  ])('a runner verified through %s records the client address', async (_case, peer, xff, recorded) => {
    expect(await verifiedFrom(t, peer, xff)).toBe(recorded);
  });

  it('the request log shows the client address', async () => {
    const res = await t.api({ method: 'GET', url: '/api/v4/version', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.99' } });
    const line = logLines.find((l) => l.msg === 'request' && l.reqId === res.headers['x-request-id']);
    expect(line?.remoteAddress).toBe('203.0.113.99');
  });

  it('the rate limiter counts each client behind one proxy on its own', async () => {
    const guess = (client: string) =>
      t.api({ method: 'POST', url: '/api/v4/runners/verify', token: null, remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': client }, payload: { token: 'glrt-guessedguessedguessed' } });
    expect((await guess('203.0.113.50')).statusCode).toBe(403);
    expect((await guess('203.0.113.50')).statusCode).toBe(403);
    expect((await guess('203.0.113.50')).statusCode).toBe(429);
    expect((await guess('203.0.113.51')).statusCode).toBe(403);
  });

  it('Link headers use the forwarded scheme and host of a trusted proxy, and ignore them from anyone else', async () => {
    const link = async (remoteAddress: string) =>
      (
        await t.api({
          method: 'GET',
          url: '/api/v4/runners/all?per_page=1',
          remoteAddress,
          headers: { host: 'app-1:3000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gitlab.example.com' },
        })
      ).headers.link as string;
    await t.fx.runner();
    await t.fx.runner();
    expect(await link('127.0.0.1')).toMatch(/^<https:\/\/gitlab\.example\.com\/api\/v4\/runners\/all\?/);
    expect(await link('198.51.100.9')).toMatch(/^<http:\/\/app-1:3000\/api\/v4\/runners\/all\?/);
  });
});

describe('TRUSTED_PROXIES empty', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ TRUSTED_PROXIES: '' });
  });
  afterAll(async () => t?.close());

  it('believes nobody: the peer address is recorded', async () => {
    expect(await verifiedFrom(t, '127.0.0.1', CLIENT)).toBe('127.0.0.1');
  });
});

describe('TRUSTED_PROXIES configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ TRUSTED_PROXIES: '198.51.100.0/24' });
  });
  afterAll(async () => t?.close());

  it('believes only the listed range', async () => {
    expect(await verifiedFrom(t, '198.51.100.9', CLIENT)).toBe(CLIENT);
    expect(await verifiedFrom(t, '127.0.0.1', CLIENT)).toBe('127.0.0.1');
  });

  it('refuses an entry that is not an address or range', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal' })).toThrow(/TRUSTED_PROXIES: not an IP address or CIDR range: proxy.internal/);
  });
});
