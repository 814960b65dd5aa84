import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

// Credentials in the query string are redacted from the request log by the
// key as the parser reads it, not by its raw text: every spelling the
// parser accepts for a secret key (percent-encoded letters, an encoded `_`,
// `key[]`, `key[x]`, encoded brackets) is sent, and the captured log must
// not contain the value.

const logLines: string[] = [];
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ LOG_LEVEL: 'trace' }, { loggerStream: new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }) });
});
afterAll(async () => t?.close());

const encodeAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** The spellings of `key` the query parser reads as `key` (or as `key` with brackets). */
function spellings(key: string): string[] {
  return [
    key,
    key.replace('_', '%5F'),
    key.replace('_', '%5f'),
    `%${key.charCodeAt(0).toString(16)}${key.slice(1)}`,
    encodeAll(key),
    `${key}[]`,
    `${key}%5B%5D`,
    `${key}[x]`,
    `${encodeAll(key)}%5B0%5D`,
  ];
}

// Keys every route treats as credentials, and `password`, which POST /users marks secret in its contract.
const SECRET_KEYS = ['private_token', 'token', 'job_token', 'access_token', 'sudo', 'password'];

describe('request log redaction by parsed key', () => {
  it.each(SECRET_KEYS)('%s is never logged, in any spelling', async (key) => {
    const sent: string[] = [];
    for (const [i, spelling] of spellings(key).entries()) {
      const secret = `s3cret-${key.replace('_', '')}-${i}-${Math.random().toString(36).slice(2)}`;
      sent.push(secret);
      const res = await t.api({ method: 'GET', url: `/api/v4/version?${spelling}=${secret}&per_page=1`, token: key === 'private_token' ? null : undefined });
      expect(res.statusCode).toBeLessThan(500);
    }
    const log = logLines.join('');
    expect(log).toContain('/api/v4/version?');
    for (const secret of sent) expect(log).not.toContain(secret);
  });

  it('a valid token in a percent-encoded key authenticates and is not logged', async () => {
    const res = await t.api({ method: 'GET', url: `/api/v4/user?private%5Ftoken=${t.rootToken}`, token: null });
    expect(res.statusCode).toBe(200);
    expect(logLines.join('')).toContain('private%5Ftoken=[REDACTED]');
    expect(logLines.join('')).not.toContain(t.rootToken);
  });

  it('keeps the other parameters readable', async () => {
    await t.api({ method: 'GET', url: '/api/v4/runners/all?tag_list=visible-tag&private_token=hidden-value' });
    const log = logLines.join('');
    expect(log).toContain('tag_list=visible-tag');
    expect(log).not.toContain('hidden-value');
  });
});
