import type { FastifyInstance, FastifyPluginAsync, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { bootstrap } from '../../src/db/bootstrap.js';
import type { AppContext } from '../../src/context.js';
import { createTestDatabase, poolerFor } from './database.js';
import { Fixtures } from './fixtures.js';

export const ROOT_TOKEN = 'glpat-root-token-for-tests-0000';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  db: Database;
  config: Config;
  dbUrl: string;
  /** Fixture builders that write straight to the database. */
  fx: Fixtures;
  rootToken: string;
  /** app.inject with PRIVATE-TOKEN set (token: null → anonymous). */
  api: (opts: InjectOptions & { token?: string | null }) => Promise<LightMyRequestResponse>;
  close: () => Promise<void>;
}

/**
 * A real server (no port) on its own freshly migrated database, bootstrapped
 * like `npm start` does, with root's token set to ROOT_TOKEN.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  opts: {
    extraPlugins?: FastifyPluginAsync[];
    loggerStream?: NodeJS.WritableStream;
    /** The URL the server's pools use instead of the database's own (e.g. through a pooler), and its direct URL. */
    connectVia?: (databaseUrl: string) => { url: string; directUrl?: string };
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  // Every injected request comes from 127.0.0.1: per-address rate limits are
  // off unless a test turns them on (test/security/rate-limit.test.ts).
  const config = loadConfig({ LOG_LEVEL: 'silent', INITIAL_ROOT_TOKEN: ROOT_TOKEN, EXTERNAL_URL: 'http://gitlab.test', RATE_LIMIT_ENABLED: 'false', JOB_SWEEP_INTERVAL_SECONDS: '0', ...env });
  const via = opts.connectVia?.(database.url) ?? poolerFor(database.url);
  const db = connectDatabase(via.url, { max: 5, directUrl: via.directUrl, statementTimeoutMs: config.REQUEST_TIMEOUT_MS });
  const boot = await bootstrap(db, config);
  const app = await buildApp({
    config,
    db,
    secretKey: boot.secretKey,
    logger: env.LOG_LEVEL ? undefined : false,
    extraPlugins: opts.extraPlugins,
    loggerStream: opts.loggerStream,
    // Every response the integration suite sees must match its route contract.
    checkResponses: true,
  });
  await app.ready();
  const ctx = app.ctx;
  const api: TestApp['api'] = ({ token, headers, ...rest }) =>
    app.inject({
      ...rest,
      headers: { ...(token === null ? {} : { 'private-token': token ?? ROOT_TOKEN }), ...(headers ?? {}) },
    } as InjectOptions);
  return {
    app,
    ctx,
    db,
    config,
    dbUrl: database.url,
    fx: new Fixtures(ctx),
    rootToken: ROOT_TOKEN,
    api,
    close: async () => {
      await app.close();
      await db.close();
      await database.drop();
    },
  };
}

/**
 * A second server instance on `t`'s database (own pool, own caches, own
 * LISTEN connection), as when several instances share one PostgreSQL.
 * Closing it leaves the database to `t`.
 */
export async function createPeerApp(t: TestApp, env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', INITIAL_ROOT_TOKEN: ROOT_TOKEN, EXTERNAL_URL: 'http://gitlab.test', RATE_LIMIT_ENABLED: 'false', ...env });
  const via = poolerFor(t.dbUrl);
  const db = connectDatabase(via.url, { max: 5, directUrl: via.directUrl });
  const boot = await bootstrap(db, config);
  const app = await buildApp({ config, db, secretKey: boot.secretKey, logger: false, checkResponses: true });
  await app.ready();
  const ctx = app.ctx;
  const api: TestApp['api'] = ({ token, headers, ...rest }) =>
    app.inject({
      ...rest,
      headers: { ...(token === null ? {} : { 'private-token': token ?? ROOT_TOKEN }), ...(headers ?? {}) },
    } as InjectOptions);
  return {
    app,
    ctx,
    db,
    config,
    dbUrl: t.dbUrl,
    fx: new Fixtures(ctx),
    rootToken: ROOT_TOKEN,
    api,
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}
