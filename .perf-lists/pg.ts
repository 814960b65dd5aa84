// Keeps a seeded 100k-runner PostgreSQL alive for profiling. Writes the URL to /tmp/perf-lists-url.
import fs from 'node:fs';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { bootstrap } from '../src/db/bootstrap.js';
import { connectDatabase } from '../src/db/client.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { SecretBox } from '../src/lib/tokens.js';
import { SECRET_KEY, ROOT_TOKEN } from '../bench/config.js';
import { analyze, seedBase, seedJobs, seedRunners } from '../bench/seed.js';

const N = Number(process.env.N ?? 100000);
const dir = `/tmp/perf-lists-db-${N}`;
const database = await startEmbeddedPostgres(dir);
const admin = new pg.Client({ connectionString: database.url('postgres') });
await admin.connect();
const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname='bench'`)).rowCount;
if (!exists) await admin.query('CREATE DATABASE bench');
await admin.end();
const url = database.url('bench');
await migrate(url);
if (!exists) {
  const db = connectDatabase(url, { max: 1 });
  await bootstrap(db, loadConfig({ INITIAL_ROOT_TOKEN: ROOT_TOKEN, SECRET_KEY, LOG_LEVEL: 'warn', DATA_DIR: dir + '/srv' }));
  await db.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const info = await seedBase(c, new SecretBox(SECRET_KEY));
  await seedRunners(c, info, 1, N);
  await seedJobs(c, info);
  await analyze(c);
  fs.writeFileSync(`${dir}/hot`, String(info.hotProjectId));
  await c.end();
}
fs.writeFileSync(`/tmp/perf-lists-url-${N}`, url);
console.log('ready', url, 'hot', fs.readFileSync(`${dir}/hot`, 'utf8'));
setInterval(() => {}, 1 << 30);
const stop = async () => { await database.stop(); process.exit(0); };
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
