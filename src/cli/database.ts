import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { isProcessAlive } from '../db/embedded/postmaster.js';

// Where the admin CLI finds the database, in the server's order:
// DATABASE_URL, else the embedded cluster in DATA_DIR — the running one
// (a server is up: its postmaster.pid names the port) or, when nothing runs,
// one the CLI starts itself and stops when it is done.

export const EMBEDDED_DATABASE = 'gitlab_runners';

export interface CliDatabase {
  url: string;
  /** How the database was reached, for `status`. */
  source: 'DATABASE_URL' | 'running embedded PostgreSQL' | 'embedded PostgreSQL started by this command';
  close: () => Promise<void>;
}

/** The port of a live postmaster in `pgDir` (postmaster.pid: pid on line 1, port on line 4), if any. */
export function runningEmbeddedPort(pgDir: string): number | undefined {
  const file = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(file)) return undefined;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) && Number.isInteger(port) && port > 0 ? port : undefined;
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${EMBEDDED_DATABASE}"`);
  } finally {
    await client.end();
  }
}

export async function openCliDatabase(config: Config): Promise<CliDatabase> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, source: 'DATABASE_URL', close: async () => undefined };
  const pgDir = path.join(config.dataDir, 'postgres');
  const port = runningEmbeddedPort(pgDir);
  if (port !== undefined) {
    const password = fs.readFileSync(path.join(config.dataDir, 'postgres-password'), 'utf8').trim();
    const url = (db: string) => `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
    await ensureDatabase(url('postgres'));
    return { url: url(EMBEDDED_DATABASE), source: 'running embedded PostgreSQL', close: async () => undefined };
  }
  const embedded = await startEmbeddedPostgres(config.dataDir);
  try {
    await ensureDatabase(embedded.url('postgres'));
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { url: embedded.url(EMBEDDED_DATABASE), source: 'embedded PostgreSQL started by this command', close: () => embedded.stop() };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
