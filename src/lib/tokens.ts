import crypto from 'node:crypto';

// One module for every secret the server issues or keeps.
//   - Personal access tokens and runner tokens: stored only as a keyed digest.
//   - Registration tokens: must be shown again, so stored AES-256-GCM
//     encrypted plus a digest for lookup.

const FRIENDLY_ALPHABET_FIX: Record<string, string> = { l: 's', I: 'x', O: 'y', '0': 'z' };

/** Devise.friendly_token: 20 url-safe characters without l, I, O or 0. */
export function friendlyToken(length = 20): string {
  const raw = crypto.randomBytes(Math.ceil((length * 3) / 4) + 3).toString('base64url');
  return raw.slice(0, length).replace(/[lIO0]/g, (c) => FRIENDLY_ALPHABET_FIX[c]!);
}

export const RUNNER_TYPE_PREFIX = { instance_type: 't1_', group_type: 't2_', project_type: 't3_' } as const;
export type RunnerTypeName = keyof typeof RUNNER_TYPE_PREFIX;

export const CREATED_RUNNER_TOKEN_PREFIX = 'glrt-';
export const REGISTRATION_TOKEN_PREFIX = 'GR1348941';
export const PAT_PREFIX = 'glpat-';
export const JOB_TOKEN_PREFIX = 'glcbt-';

export const newRunnerToken = (type: RunnerTypeName, created: boolean) =>
  `${created ? CREATED_RUNNER_TOKEN_PREFIX : ''}${RUNNER_TYPE_PREFIX[type]}${friendlyToken()}`;
export const newNamespaceRegistrationToken = () => `${REGISTRATION_TOKEN_PREFIX}${friendlyToken()}`;
export const newInstanceRegistrationToken = () => friendlyToken();
export const newPersonalAccessToken = () => `${PAT_PREFIX}${friendlyToken()}`;
export const newJobToken = () => `${JOB_TOKEN_PREFIX}${friendlyToken(32)}`;

/** Tokens whose digests SecretBox#knownDigest remembers; beyond that the memo starts over. */
const DIGEST_MEMO_SIZE = 50_000;

export class SecretBox {
  private readonly digestKey: Buffer;
  private readonly encKey: Buffer;
  private digestMemo = new Map<string, string>();

  constructor(secretKey: string) {
    const master = crypto.createHash('sha256').update(secretKey).digest();
    this.digestKey = crypto.createHmac('sha256', master).update('token-digest').digest();
    this.encKey = crypto.createHmac('sha256', master).update('encryption').digest();
  }

  /** Keyed digest used for storage and lookup; hex. */
  digest(token: string): string {
    return crypto.createHmac('sha256', this.digestKey).update(token).digest('hex');
  }

  /**
   * digest() for the tokens presented on every request (runner polls, PATs):
   * an HMAC is ~10 µs, a sizeable share of a poll answered from memory. Only
   * call it after the token was accepted, so that guesses do not fill the
   * memo. Trade-off: accepted tokens stay in this process's memory, as the
   * runner and PAT caches' rows do.
   */
  knownDigest(token: string): string | undefined {
    return this.digestMemo.get(token);
  }

  /** Remembers an accepted token's digest for knownDigest(). */
  rememberDigest(token: string, digest: string): void {
    if (this.digestMemo.size >= DIGEST_MEMO_SIZE) this.digestMemo = new Map();
    this.digestMemo.set(token, digest);
  }

  encrypt(plain: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.encKey, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
  }

  decrypt(box: string): string {
    const [version, iv, tag, data] = box.split(':');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('Unknown secret format');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  }
}

/** Constant-time comparison of two secrets of possibly different length. */
export function secureCompare(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb) && a.length === b.length;
}

export const generateSecretKey = () => crypto.randomBytes(32).toString('base64url');
