import type { Database } from './client.js';
import type { Config } from '../config.js';
import { generateSecretKey, newInstanceRegistrationToken, newPersonalAccessToken, SecretBox } from '../lib/tokens.js';
import { ALL_SCOPES } from '../domain/scopes.js';

export interface BootstrapResult {
  secretKey: string;
  /**
   * Set only on the boot that created root with a generated token. The server
   * shows it through claimInitialRootToken() once it listens, not from here.
   */
  generatedRootToken?: string;
  createdRoot: boolean;
}

// Serialises bootstraps of several instances booting against one database.
const BOOTSTRAP_LOCK = 72707370;

/**
 * First-boot work, idempotent: the settings row, the server key (unless
 * SECRET_KEY is configured), the instance registration token and the root
 * admin with an all-scopes personal access token.
 */
export async function bootstrap(db: Database, config: Config): Promise<BootstrapResult> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
    await client.query('INSERT INTO application_settings (id) VALUES (1) ON CONFLICT (id) DO NOTHING');
    const settings = await client.query<{ generated_secret_key: string | null; runners_registration_token_digest: string | null }>(
      'SELECT generated_secret_key, runners_registration_token_digest FROM application_settings WHERE id = 1',
    );
    let secretKey = config.SECRET_KEY ?? settings.rows[0]!.generated_secret_key ?? undefined;
    if (!secretKey) {
      secretKey = generateSecretKey();
      await client.query('UPDATE application_settings SET generated_secret_key = $1 WHERE id = 1', [secretKey]);
    }
    const box = new SecretBox(secretKey);

    if (!settings.rows[0]!.runners_registration_token_digest) {
      const token = config.GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN ?? newInstanceRegistrationToken();
      await client.query(
        'UPDATE application_settings SET runners_registration_token_encrypted = $1, runners_registration_token_digest = $2 WHERE id = 1',
        [box.encrypt(token), box.digest(token)],
      );
    }

    const users = await client.query('SELECT 1 FROM users LIMIT 1');
    let generatedRootToken: string | undefined;
    let createdRoot = false;
    if (users.rowCount === 0) {
      const token = config.INITIAL_ROOT_TOKEN ?? newPersonalAccessToken();
      if (!config.INITIAL_ROOT_TOKEN) generatedRootToken = token;
      const user = await client.query<{ id: number }>(
        `INSERT INTO users (username, name, email, admin, state) VALUES ('root', 'Administrator', 'admin@example.com', true, 'active') RETURNING id`,
      );
      const userId = user.rows[0]!.id;
      const ns = await client.query<{ id: number }>(
        `INSERT INTO namespaces (kind, name, path, full_path, owner_id, visibility) VALUES ('user', 'Administrator', 'root', 'root', $1, 'private') RETURNING id`,
        [userId],
      );
      await client.query('UPDATE namespaces SET traversal_ids = ARRAY[id] WHERE id = $1', [ns.rows[0]!.id]);
      await client.query(
        `INSERT INTO personal_access_tokens (user_id, name, token_digest, scopes) VALUES ($1, 'initial root token', $2, $3)`,
        [userId, box.digest(token), ALL_SCOPES],
      );
      // Kept (encrypted) until a boot that listens has shown it: a first boot
      // that fails later on (port in use) must not lose the only copy.
      if (generatedRootToken) {
        await client.query('UPDATE application_settings SET initial_root_token_encrypted = $1 WHERE id = 1', [box.encrypt(token)]);
      }
      createdRoot = true;
    }
    await client.query('COMMIT');
    return { secretKey, generatedRootToken, createdRoot };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The generated root token no boot has shown yet, or undefined. Taking it
 * clears it, atomically, so that of several instances booting on one
 * database exactly one shows it, and a restart never shows it again.
 */
export async function claimInitialRootToken(db: Database, secretKey: string): Promise<string | undefined> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const pending = await client.query<{ token: string | null }>(
      'SELECT initial_root_token_encrypted AS token FROM application_settings WHERE id = 1 FOR UPDATE',
    );
    const encrypted = pending.rows[0]?.token;
    if (encrypted) await client.query('UPDATE application_settings SET initial_root_token_encrypted = NULL WHERE id = 1');
    await client.query('COMMIT');
    return encrypted ? new SecretBox(secretKey).decrypt(encrypted) : undefined;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
