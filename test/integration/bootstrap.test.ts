import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { bootstrap, claimInitialRootToken, type BootstrapResult } from '../../src/db/bootstrap.js';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { SecretBox } from '../../src/lib/tokens.js';
import { ALL_SCOPES } from '../../src/plugins/auth.js';
import { createTestDatabase } from '../helpers/database.js';

// First boot (src/db/bootstrap.ts): root admin and its token, the server key,
// the instance registration token; and that later boots change nothing.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDb(): Promise<Database> {
  const database = await createTestDatabase();
  const db = connectDatabase(database.url, { max: 4 });
  cleanups.push(database.drop, db.close);
  return db;
}

const boot = (db: Database, env: Record<string, string> = {}) => bootstrap(db, loadConfig({ LOG_LEVEL: 'silent', ...env }));

/** GET /api/v4/version with the given token through a real app on that database. */
async function versionWith(db: Database, result: BootstrapResult, token: string, env: Record<string, string> = {}) {
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', ...env }), db, secretKey: result.secretKey, logger: false });
  try {
    return await app.inject({ method: 'GET', url: '/api/v4/version', headers: { 'private-token': token } });
  } finally {
    await app.close();
  }
}

const count = async (db: Database, table: string) => Number((await db.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);

describe('first boot', () => {
  it('with INITIAL_ROOT_TOKEN: creates the admin root whose all-scopes token is that one', async () => {
    const db = await freshDb();
    const token = 'glpat-chosen-by-the-operator-0001';
    const result = await boot(db, { INITIAL_ROOT_TOKEN: token });
    expect(result.createdRoot).toBe(true);
    expect(result.generatedRootToken).toBeUndefined();

    const root = (await db.pool.query('SELECT * FROM users')).rows;
    expect(root).toHaveLength(1);
    expect(root[0]).toMatchObject({ username: 'root', admin: true, state: 'active' });
    const pats = (await db.pool.query('SELECT * FROM personal_access_tokens')).rows;
    expect(pats).toHaveLength(1);
    expect(pats[0].scopes.sort()).toEqual([...ALL_SCOPES].sort());
    expect(pats[0].token_digest).toBe(new SecretBox(result.secretKey).digest(token));
    // root has its personal namespace, like every user
    const ns = (await db.pool.query('SELECT kind, full_path, owner_id, traversal_ids FROM namespaces')).rows;
    expect(ns).toEqual([{ kind: 'user', full_path: 'root', owner_id: root[0].id, traversal_ids: [expect.any(Number)] }]);

    const res = await versionWith(db, result, token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: expect.any(String) });
  });

  it('without INITIAL_ROOT_TOKEN: generates a glpat- token, returned once only', async () => {
    const db = await freshDb();
    const first = await boot(db);
    expect(first.createdRoot).toBe(true);
    expect(first.generatedRootToken).toMatch(/^glpat-[A-Za-z0-9_-]{20}$/);
    expect((await versionWith(db, first, first.generatedRootToken!)).statusCode).toBe(200);

    const second = await boot(db);
    expect(second).toEqual({ secretKey: first.secretKey, createdRoot: false, generatedRootToken: undefined });
    expect(await count(db, 'users')).toBe(1);
    expect(await count(db, 'personal_access_tokens')).toBe(1);
    expect(await count(db, 'namespaces')).toBe(1);
    expect(await count(db, 'application_settings')).toBe(1);
    // the token from the first boot keeps working
    expect((await versionWith(db, second, first.generatedRootToken!)).statusCode).toBe(200);
  });

  it('a generated root token waits, encrypted, until one claim takes it; a chosen one never waits', async () => {
    const db = await freshDb();
    const first = await boot(db);
    const pending = (await db.pool.query('SELECT initial_root_token_encrypted AS e FROM application_settings')).rows[0].e;
    expect(pending).toMatch(/^v1:/);
    expect(pending).not.toContain(first.generatedRootToken!.slice(6));
    await boot(db); // a boot that did not get to listen claims nothing
    const claims = await Promise.all([1, 2, 3].map(() => claimInitialRootToken(db, first.secretKey)));
    expect(claims.filter((c) => c !== undefined)).toEqual([first.generatedRootToken]);
    expect(await claimInitialRootToken(db, first.secretKey)).toBeUndefined();

    const chosen = await freshDb();
    const result = await boot(chosen, { INITIAL_ROOT_TOKEN: 'glpat-chosen-by-the-operator-0002' });
    expect(await claimInitialRootToken(chosen, result.secretKey)).toBeUndefined();
  });

  it('a later INITIAL_ROOT_TOKEN does not replace an existing root token', async () => {
    const db = await freshDb();
    const first = await boot(db, { INITIAL_ROOT_TOKEN: 'glpat-first-token-of-the-operator' });
    const second = await boot(db, { INITIAL_ROOT_TOKEN: 'glpat-second-token-of-the-operator' });
    expect(second.createdRoot).toBe(false);
    expect((await versionWith(db, second, 'glpat-first-token-of-the-operator')).statusCode).toBe(200);
    expect((await versionWith(db, second, 'glpat-second-token-of-the-operator')).statusCode).toBe(401);
    expect(first.secretKey).toBe(second.secretKey);
  });

  it('several servers booting at once create one root and one settings row', async () => {
    const db = await freshDb();
    const results = await Promise.all([boot(db), boot(db), boot(db)]);
    expect(results.filter((r) => r.createdRoot)).toHaveLength(1);
    expect(results.filter((r) => r.generatedRootToken)).toHaveLength(1);
    expect(new Set(results.map((r) => r.secretKey)).size).toBe(1);
    expect(await count(db, 'users')).toBe(1);
    expect(await count(db, 'application_settings')).toBe(1);
  });

  it('stores no plaintext token anywhere', async () => {
    const db = await freshDb();
    const result = await boot(db, { GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: 'instance-reg-token-0001' });
    const token = result.generatedRootToken!;
    for (const table of ['users', 'personal_access_tokens', 'namespaces', 'application_settings']) {
      const dump = (await db.pool.query(`SELECT row_to_json(t)::text AS j FROM ${table} t`)).rows.map((r) => r.j).join('\n');
      expect(dump, table).not.toContain(token);
      expect(dump, table).not.toContain(token.slice(6));
      expect(dump, table).not.toContain('instance-reg-token-0001');
    }
  });
});

describe('the instance registration token', () => {
  it('from GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: stored encrypted with a matching digest', async () => {
    const db = await freshDb();
    const token = 'shared-runners-token-xyz';
    const result = await boot(db, { GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: token });
    const row = (await db.pool.query('SELECT * FROM application_settings WHERE id = 1')).rows[0];
    expect(JSON.stringify(row)).not.toContain(token);
    const box = new SecretBox(result.secretKey);
    expect(row.runners_registration_token_digest).toBe(box.digest(token));
    expect(row.runners_registration_token_encrypted).toMatch(/^v1:/);
    expect(box.decrypt(row.runners_registration_token_encrypted)).toBe(token);
  });

  it('otherwise generated: 20 characters, no prefix, kept across boots', async () => {
    const db = await freshDb();
    const result = await boot(db);
    const read = async () => (await db.pool.query('SELECT * FROM application_settings WHERE id = 1')).rows[0];
    const box = new SecretBox(result.secretKey);
    const row = await read();
    const token = box.decrypt(row.runners_registration_token_encrypted);
    expect(token).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(row.runners_registration_token_digest).toBe(box.digest(token));

    await boot(db, { GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: 'set-too-late-to-matter' });
    expect((await read()).runners_registration_token_digest).toBe(row.runners_registration_token_digest);
  });
});

describe('the server key', () => {
  it('without SECRET_KEY: generated once and kept with the data', async () => {
    const db = await freshDb();
    const first = await boot(db);
    expect(Buffer.from(first.secretKey, 'base64url')).toHaveLength(32);
    const stored = (await db.pool.query('SELECT generated_secret_key FROM application_settings WHERE id = 1')).rows[0].generated_secret_key;
    expect(stored).toBe(first.secretKey);
    expect((await boot(db)).secretKey).toBe(first.secretKey);
  });

  it('SECRET_KEY wins over a generated key and is never stored', async () => {
    const db = await freshDb();
    const secret = 'operator-provided-secret-key-0123456789';
    const result = await boot(db, { SECRET_KEY: secret, INITIAL_ROOT_TOKEN: 'glpat-root-token-with-secret-key' });
    expect(result.secretKey).toBe(secret);
    const row = (await db.pool.query('SELECT * FROM application_settings WHERE id = 1')).rows[0];
    expect(row.generated_secret_key).toBeNull();
    expect(JSON.stringify(row)).not.toContain(secret);
    // digests and ciphertexts are made with the configured key
    const pat = (await db.pool.query('SELECT token_digest FROM personal_access_tokens')).rows[0];
    expect(pat.token_digest).toBe(new SecretBox(secret).digest('glpat-root-token-with-secret-key'));
    expect(() => new SecretBox(secret).decrypt(row.runners_registration_token_encrypted)).not.toThrow();
    expect((await versionWith(db, result, 'glpat-root-token-with-secret-key', { SECRET_KEY: secret })).statusCode).toBe(200);
  });

  it('SECRET_KEY wins even where a key was generated before', async () => {
    const db = await freshDb();
    const generated = await boot(db);
    const configured = await boot(db, { SECRET_KEY: 'configured-later-secret-key-0123456789' });
    expect(configured.secretKey).toBe('configured-later-secret-key-0123456789');
    expect(configured.secretKey).not.toBe(generated.secretKey);
  });
});
