import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { DatabaseProbe } from './db/probe.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { SecretBox } from './lib/tokens.js';
import type { DatabaseAvailability } from './db/availability.js';

/** What every service needs; built once per process in app.ts. */
export interface AppContext {
  config: Config;
  prisma: PrismaClient;
  pool: pg.Pool;
  /** For queryPrepared only (src/db/prepared.ts). */
  preparedPool: pg.Pool;
  /** A connection of one's own that keeps its session (LISTEN, leader locks): Database.session in src/db/client.ts. */
  session: pg.ClientConfig;
  /** The readiness check's own connection: never waits behind a full pool. */
  probe: DatabaseProbe;
  secrets: SecretBox;
  log: FastifyBaseLogger;
  /** Whether PostgreSQL is reachable as requests see it (src/db/availability.ts). */
  availability: DatabaseAvailability;
  /** The embedded PostgreSQL's supervisor state; undefined with an external DATABASE_URL. */
  databaseSupervisor?: { state: () => 'running' | 'restarting' | 'failed' };
}
