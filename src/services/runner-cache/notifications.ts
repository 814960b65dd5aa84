import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';

// Cross-instance cache invalidation over PostgreSQL LISTEN/NOTIFY. Every
// server instance sharing the database listens on one channel on a dedicated
// connection (a pooled connection cannot LISTEN: it is handed to other
// queries). A NOTIFY sent inside a transaction is delivered only at commit,
// so a listener never evicts before the change is visible to its next query.
//
// Fail safe: while the listening connection is down (or not yet up), the
// caches must not be trusted, because an invalidation could be missed. The
// listener reports `down` at once on error, end, or a failed liveness probe,
// reconnects with backoff, and reports `up` only after LISTEN succeeded, so
// the caches start empty again from a point where no event can be lost.

export const CACHE_CHANNEL = 'runner_cache';

/** NOTIFY payloads are limited to 8000 bytes; id lists are sent in chunks well below that. */
const IDS_PER_MESSAGE = 500;

/** How often the listening connection proves it is alive, and how long it may take. */
const PROBE_INTERVAL_MS = 2000;
const PROBE_TIMEOUT_MS = 2000;
const MAX_RETRY_MS = 5000;

/**
 * What one NOTIFY says. Kept tiny and free of secrets (ids only, never a
 * token or digest):
 *   r:1,2,3  runners changed or deleted (token, pause, tags, scope, …)
 *   j        a job may have become available to some runner
 *   u:7      a user changed (blocked, admin flag): drop their cached tokens
 *   t:9      a personal access token was revoked or deleted
 *   *        drop everything
 */
export type CacheEvent =
  | { kind: 'runners'; ids: number[] }
  | { kind: 'jobs' }
  | { kind: 'user'; id: number }
  | { kind: 'token'; id: number }
  | { kind: 'all' };

export function encodeEvents(event: CacheEvent): string[] {
  switch (event.kind) {
    case 'runners': {
      const out: string[] = [];
      for (let i = 0; i < event.ids.length; i += IDS_PER_MESSAGE) out.push(`r:${event.ids.slice(i, i + IDS_PER_MESSAGE).join(',')}`);
      return out;
    }
    case 'jobs':
      return ['j'];
    case 'user':
      return [`u:${event.id}`];
    case 'token':
      return [`t:${event.id}`];
    case 'all':
      return ['*'];
  }
}

const positiveInts = (s: string) => s.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

/** An unknown payload means "drop everything": never guess that it was harmless. */
export function decodeEvent(payload: string): CacheEvent {
  const [kind, arg = ''] = [payload.slice(0, 1), payload.slice(2)];
  if (kind === 'r') return { kind: 'runners', ids: positiveInts(arg) };
  if (kind === 'j') return { kind: 'jobs' };
  if (kind === 'u' && positiveInts(arg).length === 1) return { kind: 'user', id: positiveInts(arg)[0]! };
  if (kind === 't' && positiveInts(arg).length === 1) return { kind: 'token', id: positiveInts(arg)[0]! };
  return { kind: 'all' };
}

/** Sends an event to every instance (this one included) through `db`: a pool, or a transaction's client so it goes out at commit. */
export async function publishEvent(db: pg.Pool | pg.PoolClient, event: CacheEvent): Promise<void> {
  for (const payload of encodeEvents(event)) await db.query('SELECT pg_notify($1, $2)', [CACHE_CHANNEL, payload]);
}

export interface ListenerHooks {
  onEvent(event: CacheEvent): void;
  /** LISTEN is active: caches may be filled again (they were emptied on `onDown`). */
  onUp(): void;
  /** Events may be missed from now on: stop trusting and empty the caches. */
  onDown(): void;
}

export class CacheListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private up = false;

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    private readonly hooks: ListenerHooks,
    private readonly log: FastifyBaseLogger,
  ) {}

  get isUp(): boolean {
    return this.up;
  }

  /** Resolves after the first connection attempt; on failure it keeps retrying in the background (caches stay off meanwhile). */
  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    const client = this.client;
    this.client = undefined;
    this.markDown();
    await client?.end().catch(() => undefined);
  }

  /** Test hook: behave as if the connection had just been lost (it reconnects by itself). */
  simulateConnectionLoss(): void {
    if (this.client) this.lost(this.client, new Error('simulated connection loss'));
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.clientConfig);
    client.on('notification', (msg) => {
      if (client !== this.client || msg.channel !== CACHE_CHANNEL) return;
      this.hooks.onEvent(decodeEvent(msg.payload ?? ''));
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CACHE_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      this.scheduleReconnect(err);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = 100;
    this.up = true;
    this.hooks.onUp();
    clearInterval(this.probeTimer);
    this.probeTimer = setInterval(() => void this.probe(client), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  /** A connection that died silently (no RST) would never report an error: prove it answers. */
  private async probe(client: pg.Client): Promise<void> {
    if (client !== this.client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('liveness probe timed out')), PROBE_TIMEOUT_MS);
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } catch (err) {
      this.lost(client, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private lost(client: pg.Client, err: unknown): void {
    if (client !== this.client) return;
    this.client = undefined;
    clearInterval(this.probeTimer);
    this.markDown();
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.scheduleReconnect(err);
  }

  private markDown(): void {
    if (this.up) {
      this.up = false;
    }
    // Always report: the caches may have been filled by nothing, but emptying twice is harmless.
    this.hooks.onDown();
  }

  private scheduleReconnect(err: unknown): void {
    if (this.closed) return;
    this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'runner cache: notification connection lost, caches off until it is back');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
