import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { connectDatabase, SESSION_SETTINGS, type Database } from './db/client.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { startSupervisedPostgres, type SupervisedDatabase } from './db/embedded-supervisor.js';
import { migrate } from './db/migrate.js';
import { sessionUrl } from './db/urls.js';
import { bootstrap, type BootstrapResult } from './db/bootstrap.js';
import pg from 'pg';

export interface Runtime {
  app: FastifyInstance;
  db: Database;
  boot: BootstrapResult;
  close: () => Promise<void>;
}

async function ensureDatabaseExists(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * Everything `npm start` does before listening: database, migrations,
 * first-boot seed, app. On failure, whatever was started is stopped again so
 * that no postgres or pool outlives a failed boot.
 */
export async function startRuntime(
  config: Config,
  opts: {
    loggerStream?: NodeJS.WritableStream;
    /** A cluster worker: the primary has applied the migrations already (src/cluster.ts). */
    skipMigrations?: boolean;
  } = {},
): Promise<Runtime> {
  let embedded: SupervisedDatabase | undefined;
  let db: Database | undefined;
  let app: FastifyInstance | undefined;
  try {
    let url = config.DATABASE_URL;
    if (!url) {
      embedded = await startSupervisedPostgres(config.dataDir, {
        log: (line) => {
          if (/restart/.test(line)) process.stderr.write(`${line.trim()}\n`);
        },
      });
      await ensureDatabaseExists(embedded.url('postgres'), 'gitlab_runners');
      url = embedded.url('gitlab_runners');
    }
    // Migrations hold an advisory lock for their whole run: a session of their own.
    if (!opts.skipMigrations) await migrate(sessionUrl(url, config.DATABASE_DIRECT_URL));
    db = connectDatabase(url, { max: config.DATABASE_POOL_SIZE, directUrl: config.DATABASE_DIRECT_URL, statementTimeoutMs: config.REQUEST_TIMEOUT_MS });
    const boot = await bootstrap(db, config);
    app = await buildApp({ config, db, secretKey: boot.secretKey, loggerStream: opts.loggerStream, databaseSupervisor: embedded });
    if (db.pooled) await warnOnPoolerSessionSettings(db, app);
    const started = { app, db, embedded };
    let closed: Promise<void> | undefined;
    return {
      app,
      db,
      boot,
      // Order matters: drain HTTP first, then the pool, then the cluster.
      close: () => (closed ??= closeAll(started)),
    };
  } catch (err) {
    await closeAll({ app, db, embedded }).catch(() => undefined);
    throw err;
  }
}

/**
 * What a cluster's primary does once before it forks the workers (src/cluster.ts):
 * the database (embedded or not), migrations and the first-boot seed, so
 * that a generated root token is printed once. The workers get `url` as
 * their DATABASE_URL; the embedded cluster stays with the primary.
 */
export async function prepareDatabase(config: Config): Promise<{ url: string; embedded?: EmbeddedDatabase; boot: BootstrapResult }> {
  let embedded: EmbeddedDatabase | undefined;
  try {
    let url = config.DATABASE_URL;
    if (!url) {
      // The primary keeps the cluster alive for its workers (their pools reconnect after a restart).
      embedded = await startSupervisedPostgres(config.dataDir);
      await ensureDatabaseExists(embedded.url('postgres'), 'gitlab_runners');
      url = embedded.url('gitlab_runners');
    }
    await migrate(sessionUrl(url, config.DATABASE_DIRECT_URL));
    const db = connectDatabase(url, { max: 1, directUrl: config.DATABASE_DIRECT_URL });
    try {
      return { url, embedded, boot: await bootstrap(db, config) };
    } finally {
      await db.close();
    }
  } catch (err) {
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Behind a pooler the server sets nothing per session, so the settings the
 * lists' plans rely on (SESSION_SETTINGS) must come from the role or the
 * database: say so once if they do not.
 */
async function warnOnPoolerSessionSettings(db: Database, app: FastifyInstance): Promise<void> {
  for (const [name, wanted] of Object.entries(SESSION_SETTINGS)) {
    const { rows } = await db.pool.query<{ value: string }>('SELECT current_setting($1) AS value', [name]);
    if (rows[0]?.value !== wanted) {
      app.log.warn(
        { setting: name, value: rows[0]?.value, wanted },
        `pooled connections run with ${name}=${rows[0]?.value}; set it for the database (ALTER DATABASE <name> SET ${name} = ${wanted}) as docs/scaling.md describes`,
      );
    }
  }
}

async function closeAll(parts: { app?: FastifyInstance; db?: Database; embedded?: EmbeddedDatabase }): Promise<void> {
  const errors: unknown[] = [];
  for (const step of [() => parts.app?.close(), () => parts.db?.close(), () => parts.embedded?.stop()]) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}
