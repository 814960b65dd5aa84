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
}

export function connectDatabase(url: string, opts: { max?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types: poolTypes });
  // An idle client dropped by the server must not crash the process.
  pool.on('error', () => undefined);
  const preparedPool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    types: poolTypes,
    options: '-c plan_cache_mode=force_generic_plan',
  });
  preparedPool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    preparedPool,
    close: async () => {
      await prisma.$disconnect();
      await Promise.all([pool.end().catch(() => undefined), preparedPool.end().catch(() => undefined)]);
    },
  };
}
