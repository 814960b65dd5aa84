import { describe, expect, it } from 'vitest';
import {
  friendlyToken,
  generateSecretKey,
  newInstanceRegistrationToken,
  newJobToken,
  newNamespaceRegistrationToken,
  newPersonalAccessToken,
  newRunnerToken,
  SecretBox,
  secureCompare,
} from '../../src/lib/tokens.js';

// docs.gitlab.com/security/tokens/#token-prefixes: token formats as GitLab's newest.
const FRIENDLY = '[A-Za-z0-9_-]';
const many = <T>(n: number, f: () => T) => Array.from({ length: n }, f);

describe('token formats', () => {
  it('friendly tokens are 20 url-safe characters without l, I, O or 0', () => {
    const tokens = many(500, () => friendlyToken());
    for (const t of tokens) {
      expect(t).toMatch(new RegExp(`^${FRIENDLY}{20}$`));
      expect(t).not.toMatch(/[lIO0]/);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('friendly tokens honour a requested length', () => {
    expect(friendlyToken(32)).toMatch(new RegExp(`^${FRIENDLY}{32}$`));
    expect(friendlyToken(8)).toMatch(new RegExp(`^${FRIENDLY}{8}$`));
  });

  it.each([
    ['instance_type', false, /^t1_[A-Za-z0-9_-]{20}$/],
    ['group_type', false, /^t2_[A-Za-z0-9_-]{20}$/],
    ['project_type', false, /^t3_[A-Za-z0-9_-]{20}$/],
    ['instance_type', true, /^glrt-t1_[A-Za-z0-9_-]{20}$/],
    ['group_type', true, /^glrt-t2_[A-Za-z0-9_-]{20}$/],
    ['project_type', true, /^glrt-t3_[A-Za-z0-9_-]{20}$/],
  ] as const)('runner token of a %s runner (created via POST /user/runners: %s)', (type, created, pattern) => {
    for (const t of many(50, () => newRunnerToken(type, created))) {
      expect(t).toMatch(pattern);
      expect(t.slice(-20)).not.toMatch(/[lIO0]/);
    }
  });

  it('project and group registration tokens are GR1348941 + 20 characters', () => {
    for (const t of many(50, newNamespaceRegistrationToken)) {
      expect(t).toMatch(new RegExp(`^GR1348941${FRIENDLY}{20}$`));
      expect(t.slice(9)).not.toMatch(/[lIO0]/);
    }
  });

  it('the instance registration token is 20 characters without a prefix', () => {
    for (const t of many(50, newInstanceRegistrationToken)) {
      expect(t).toMatch(new RegExp(`^${FRIENDLY}{20}$`));
      expect(t).not.toMatch(/^(GR1348941|glrt-|glpat-|t[123]_)/);
    }
  });

  it('personal access tokens are glpat- + 20 characters', () => {
    for (const t of many(50, newPersonalAccessToken)) {
      expect(t).toMatch(new RegExp(`^glpat-${FRIENDLY}{20}$`));
      expect(t.slice(6)).not.toMatch(/[lIO0]/);
    }
  });

  it('job tokens carry the glcbt- prefix', () => {
    expect(newJobToken()).toMatch(new RegExp(`^glcbt-${FRIENDLY}{32}$`));
  });

  it('generated server keys are 32 random bytes, base64url', () => {
    const a = generateSecretKey();
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(generateSecretKey());
  });
});

describe('SecretBox', () => {
  const box = new SecretBox('server-key-one');

  it('digests are keyed, deterministic, hex SHA-256 sized and never the token', () => {
    const d = box.digest('glpat-abc');
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(box.digest('glpat-abc')).toBe(d);
    expect(box.digest('glpat-abd')).not.toBe(d);
    expect(new SecretBox('server-key-two').digest('glpat-abc')).not.toBe(d);
    expect(d).not.toContain('abc');
  });

  it('encryption round-trips, including unicode, and is randomised', () => {
    for (const plain of ['GR1348941abcdefghijklmnopqrst', '', 'ünïcødé ✓']) {
      const sealed = box.encrypt(plain);
      expect(sealed).toMatch(/^v1:/);
      expect(box.decrypt(sealed)).toBe(plain);
    }
    const token = 'GR1348941abcdefghijklmnopqrst';
    const a = box.encrypt(token);
    const b = box.encrypt(token);
    expect(a).not.toBe(b);
    expect(a).not.toContain(token);
  });

  it('refuses a ciphertext that was tampered with', () => {
    const sealed = box.encrypt('GR1348941abcdefghijklmnopqrst');
    const [version, iv, tag, data] = sealed.split(':') as [string, string, string, string];
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      buf[0] = buf[0]! ^ 0x01;
      return buf.toString('base64');
    };
    expect(() => box.decrypt([version, iv, tag, flip(data)].join(':'))).toThrow();
    expect(() => box.decrypt([version, iv, flip(tag), data].join(':'))).toThrow();
    expect(() => box.decrypt([version, flip(iv), tag, data].join(':'))).toThrow();
  });

  it('refuses a ciphertext sealed with another key, and unknown formats', () => {
    const sealed = new SecretBox('other-key').encrypt('secret');
    expect(() => box.decrypt(sealed)).toThrow();
    expect(() => box.decrypt('plain-text')).toThrow('Unknown secret format');
    expect(() => box.decrypt(sealed.replace(/^v1:/, 'v2:'))).toThrow('Unknown secret format');
  });
});

describe('secureCompare', () => {
  it('is true only for identical strings', () => {
    expect(secureCompare('glpat-abc', 'glpat-abc')).toBe(true);
    expect(secureCompare('glpat-abc', 'glpat-abd')).toBe(false);
    expect(secureCompare('glpat-abc', 'glpat-abcd')).toBe(false);
    expect(secureCompare('', '')).toBe(true);
    expect(secureCompare('', 'x')).toBe(false);
  });
});
