import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildApp } from './app.js';
import { connectDatabase, type Database } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
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

/** Everything `npm start` does before listening: database, migrations, first-boot seed, app. */
export async function startRuntime(config: Config, opts: { loggerStream?: NodeJS.WritableStream } = {}): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir);
    await ensureDatabaseExists(embedded.url('postgres'), 'gitlab_runners');
    url = embedded.url('gitlab_runners');
  }
  try {
    await migrate(url);
    const db = connectDatabase(url);
    const boot = await bootstrap(db, config);
    const app = await buildApp({ config, db, secretKey: boot.secretKey, loggerStream: opts.loggerStream });
    return {
      app,
      db,
      boot,
      close: async () => {
        await app.close();
        await db.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
