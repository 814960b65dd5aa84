import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { connectDatabase, type Database } from './db/client.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { startSupervisedPostgres, type SupervisedDatabase } from './db/embedded-supervisor.js';
import { migrate } from './db/migrate.js';
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
export async function startRuntime(config: Config, opts: { loggerStream?: NodeJS.WritableStream } = {}): Promise<Runtime> {
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
    await migrate(url);
    db = connectDatabase(url, { statementTimeoutMs: config.REQUEST_TIMEOUT_MS });
    const boot = await bootstrap(db, config);
    app = await buildApp({ config, db, secretKey: boot.secretKey, loggerStream: opts.loggerStream, databaseSupervisor: embedded });
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
