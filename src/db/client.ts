import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseProbe } from './probe.js';
import { poolTypes } from './type-parsers.js';
import { MISSING_DIRECT_URL, pooledUrl } from './urls.js';

export type Db = PrismaClient;
export { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  /** A raw pg pool for the few hot paths where Prisma's overhead matters. */
  pool: pg.Pool;
  /** Sessions that always run a prepared statement's generic plan: see src/db/prepared.ts. */
  preparedPool: pg.Pool;
  /** DATABASE_URL leads to a transaction-mode pooler (`?pgbouncer=true`): see pooledUrl. */
  pooled: boolean;
  /**
   * Settings for a connection of one's own that keeps its session: advisory
   * locks held across transactions, LISTEN, leader election. Behind a pooler
   * this is DATABASE_DIRECT_URL (a pooled connection is handed to another
   * client after each transaction, taking session state with it); otherwise
   * DATABASE_URL with the pools' session settings.
   */
  session: pg.ClientConfig;
  /** A connection of its own for health probes (src/db/probe.ts). */
  probe: DatabaseProbe;
  close: () => Promise<void>;
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

export const SESSION_SETTINGS = { random_page_cost: '1.1' };

/**
 * A client that never names a statement. pg names a statement when a query
 * config carries `name` (heartbeats, polls, src/db/prepared.ts); behind a
 * transaction-mode pooler the name would be prepared on one server
 * connection and looked up on another ("prepared statement ... does not
 * exist" / "already exists"). Dropping it here covers every caller.
 */
class UnnamedStatementClient extends pg.Client {
  // pg.Client#query has many overloads; only the config-object form can carry a name.
  override query(config: unknown, ...rest: unknown[]): never {
    if (config !== null && typeof config === 'object' && 'name' in config && (config as { name?: unknown }).name !== undefined) {
      const { name: _name, ...unnamed } = config as Record<string, unknown>;
      return (super.query as (...a: unknown[]) => never)(unnamed, ...rest);
    }
    return (super.query as (...a: unknown[]) => never)(config, ...rest);
  }
}

/**
 * Behind a pooler no statement_timeout can be sent (PgBouncer refuses the
 * startup option; a SET would stay on a server connection others get), so
 * the client keeps it: a statement still running after `timeoutMs` is
 * cancelled with a CancelRequest, which PgBouncer forwards to the server
 * connection running it. PostgreSQL answers it as it answers a
 * statement_timeout, with error 57014.
 */
function statementTimeoutClient(timeoutMs: number): typeof UnnamedStatementClient {
  return class extends UnnamedStatementClient {
    override query(config: unknown, ...rest: unknown[]): never {
      // pg.Pool#query passes a callback; awaited client.query returns a promise; a submittable (cursor) gets no timer.
      const last = rest.length - 1;
      const callback = typeof rest[last] === 'function' ? (rest[last] as (...a: unknown[]) => void) : undefined;
      if (!callback && config !== null && typeof config === 'object' && 'submit' in config) return super.query(config, ...rest);
      const timer = setTimeout(() => {
        const running = (this as unknown as { activeQuery: unknown }).activeQuery;
        if (!running) return;
        // pg's own cancel (typed nowhere): a connection of its own that sends only the CancelRequest.
        const canceller = new pg.Client({ host: this.host, port: this.port }) as unknown as {
          connection: { on: (event: 'error', listener: () => void) => void };
          cancel: (client: pg.Client, query: unknown) => void;
        };
        canceller.connection.on('error', () => undefined);
        canceller.cancel(this, running);
      }, timeoutMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      if (callback) {
        rest[last] = (...a: unknown[]) => {
          clear();
          callback(...a);
        };
      }
      const result = super.query(config, ...rest) as unknown;
      if (result instanceof Promise) result.then(clear, clear);
      return result as never;
    }
  };
}

export interface ConnectOptions {
  /** Connections per pool (each process has two pools, one behind a pooler). */
  max?: number;
  /** DATABASE_DIRECT_URL: required when `url` is marked `pgbouncer=true`. */
  directUrl?: string;
  /** statement_timeout of pooled sessions: a statement that outlives the request it serves is cut (REQUEST_TIMEOUT_MS). */
  statementTimeoutMs?: number;
}

export function connectDatabase(url: string, opts: ConnectOptions = {}): Database {
  const { url: driverUrl, pooled } = pooledUrl(url);
  const max = opts.max ?? 10;
  if (pooled && !opts.directUrl) throw new Error(MISSING_DIRECT_URL);

  let pool: pg.Pool;
  let preparedPool: pg.Pool;
  let session: pg.ClientConfig;
  // Behind a pooler a startup option would be refused: the client cancels instead (statementTimeoutClient).
  const settings = opts.statementTimeoutMs ? { ...SESSION_SETTINGS, statement_timeout: String(opts.statementTimeoutMs) } : SESSION_SETTINGS;
  if (pooled) {
    // No `options` startup parameter either: PgBouncer refuses startup
    // parameters it does not track, and a SET would leak to other clients.
    // Session settings belong on the role or database (docs/scaling.md).
    const Client = opts.statementTimeoutMs ? statementTimeoutClient(opts.statementTimeoutMs) : UnnamedStatementClient;
    pool = new pg.Pool({ connectionString: driverUrl, max, types: poolTypes, Client });
    // Unnamed statements are planned per execution anyway: one pool is enough.
    preparedPool = pool;
    session = { ...withSessionSettings(pooledUrl(opts.directUrl!).url, SESSION_SETTINGS), types: poolTypes };
  } else {
    pool = new pg.Pool({ ...withSessionSettings(driverUrl, settings), max, types: poolTypes });
    preparedPool = new pg.Pool({
      ...withSessionSettings(driverUrl, { ...settings, plan_cache_mode: 'force_generic_plan' }),
      max,
      types: poolTypes,
    });
    session = opts.directUrl
      ? { ...withSessionSettings(pooledUrl(opts.directUrl).url, SESSION_SETTINGS), types: poolTypes }
      : { ...withSessionSettings(driverUrl, SESSION_SETTINGS), types: poolTypes };
  }
  // An idle client dropped by the server must not crash the process.
  pool.on('error', () => undefined);
  if (preparedPool !== pool) preparedPool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  // Through a pooler the probe asks the pooler, as the API's queries do (no startup options: PgBouncer refuses them).
  const probe = new DatabaseProbe(pooled ? { connectionString: driverUrl } : withSessionSettings(driverUrl, SESSION_SETTINGS));
  return {
    prisma,
    pool,
    preparedPool,
    pooled,
    session,
    probe,
    close: async () => {
      await prisma.$disconnect();
      await Promise.all([
        pool.end().catch(() => undefined),
        preparedPool === pool ? undefined : preparedPool.end().catch(() => undefined),
        probe.close(),
      ]);
    },
  };
}

/**
 * Options for Prisma interactive transactions (`prisma.$transaction(fn,
 * INTERACTIVE_TX)`). Prisma's defaults give 2 s to get a connection and 5 s
 * to finish, which a burst of writes (50 parallel registrations on a pool of
 * 10) exceeds while waiting for a connection, not while working.
 */
export const INTERACTIVE_TX = { maxWait: 30_000, timeout: 30_000 } as const;
