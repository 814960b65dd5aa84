import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { poolTypes } from './type-parsers.js';

export type Db = PrismaClient;
export { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  /** A raw pg pool for the few hot paths where Prisma's overhead matters. */
  pool: pg.Pool;
  /** Sessions that always run a prepared statement's generic plan: see src/db/prepared.ts. */
  preparedPool: pg.Pool;
  close: () => Promise<void>;
  /** The URL it was opened with (sessions of their own, e.g. advisory locks, connect to it). */
  url?: string;
}

/**
 * Connection settings with session settings for every connection, after any
 * `options` the URL brings (later `-c` settings win, so ours win only where
 * we set something). The URL's own `options` must come out of the URL: the
 * driver lets a connection string's parameters override the config object.
 *
 * random_page_cost=1.1 (PostgreSQL's default is 4, tuned for spinning disks):
 * the tables the lists read fit in memory, as on any SSD-backed server. With
 * 4, once heartbeats have touched a tenth of the runners (clearing their
 * pages' all-visible bits), the planner reads the instance runners of a
 * project's list by bitmap scan and sorts all 10,000 of them for a 20-row
 * page (26 ms) instead of walking runners_runner_type_id_idx in id order
 * (0.4 ms).
 */
function withSessionSettings(url: string, settings: Record<string, string>): { connectionString: string; options: string } {
  const own = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`);
  let connectionString = url;
  let fromUrl: string | null = null;
  try {
    const parsed = new URL(url);
    fromUrl = parsed.searchParams.get('options');
    parsed.searchParams.delete('options');
    connectionString = parsed.toString();
  } catch {
    // Not a URL (a bare connection string): nothing to merge.
  }
  return { connectionString, options: [fromUrl, ...own].filter(Boolean).join(' ') };
}

const SESSION_SETTINGS = { random_page_cost: '1.1' };

export function connectDatabase(url: string, opts: { max?: number; statementTimeoutMs?: number } = {}): Database {
  // A statement that outlives the request it serves is cut (REQUEST_TIMEOUT_MS).
  const settings = opts.statementTimeoutMs ? { ...SESSION_SETTINGS, statement_timeout: String(opts.statementTimeoutMs) } : SESSION_SETTINGS;
  const pool = new pg.Pool({ ...withSessionSettings(url, settings), max: opts.max ?? 10, types: poolTypes });
  // An idle client dropped by the server must not crash the process.
  pool.on('error', () => undefined);
  const preparedPool = new pg.Pool({
    ...withSessionSettings(url, { ...settings, plan_cache_mode: 'force_generic_plan' }),
    max: opts.max ?? 10,
    types: poolTypes,
  });
  preparedPool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    url,
    prisma,
    pool,
    preparedPool,
    close: async () => {
      await prisma.$disconnect();
      await Promise.all([pool.end().catch(() => undefined), preparedPool.end().catch(() => undefined)]);
    },
  };
}
