import type pg from 'pg';
import type { AppContext } from '../../context.js';
import { HeartbeatWriter } from './heartbeat-writer.js';
import { CacheListener, publishEvent, type CacheEvent } from './notifications.js';
import { PatCache } from './pat-cache.js';
import { RunnerTokenCache } from './runner-token-cache.js';

// The one owner of this instance's in-memory runner and token state:
//   runners     runner facts by token digest + the pending-job epoch (runner-token-cache.ts)
//   pats        personal access tokens by digest, 5 s (pat-cache.ts)
//   heartbeats  coalesced contacted_at / runner manager writes (heartbeat-writer.ts)
// and of the LISTEN connection that keeps them right across instances
// (notifications.ts).
//
// Whoever changes what these caches hold calls one of the functions at the
// bottom AFTER the change is committed (or passes its transaction's client,
// so the NOTIFY goes out at commit): the change applies to this instance at
// once and reaches the others within milliseconds.
//
// Safety nets for changes made behind the server's back (psql, a lost
// NOTIFY): runner entries are revalidated against the database every
// REVALIDATE_INTERVAL_MS in one query, tokens expire from the cache after
// PAT_TTL_MS, and a poll that goes to the database always re-reads the runner.

const REVALIDATE_INTERVAL_MS = 30_000;
const REVALIDATE_CHUNK = 10_000;
const PUBLISH_ATTEMPTS = 3;

export class RunnerCacheHub {
  readonly runners = new RunnerTokenCache();
  readonly pats = new PatCache();
  readonly heartbeats: HeartbeatWriter;
  private listener: CacheListener | undefined;
  private revalidateTimer: NodeJS.Timeout | undefined;
  private eventWaiters: ((event: CacheEvent) => boolean)[] = [];

  constructor(private readonly ctx: AppContext) {
    this.heartbeats = new HeartbeatWriter(ctx.pool, ctx.log);
  }

  /** Whether the caches are in use (the notification connection is up). */
  get active(): boolean {
    return this.runners.enabled;
  }

  async start(): Promise<void> {
    // LISTEN needs a session of its own: behind a pooler, the direct URL.
    this.listener = new CacheListener(
      { ...this.ctx.session, keepAlive: true, application_name: 'runner-cache-listener' },
      {
        onEvent: (event) => this.received(event),
        onUp: () => this.setEnabled(true),
        onDown: () => this.setEnabled(false),
      },
      this.ctx.log,
    );
    this.heartbeats.start();
    await this.listener.start();
    this.revalidateTimer = setInterval(() => void this.revalidate().catch((err) => this.ctx.log.warn({ err }, 'runner cache revalidation failed')), REVALIDATE_INTERVAL_MS);
    this.revalidateTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.revalidateTimer);
    this.runners.shutdown();
    await this.listener?.close();
    await this.heartbeats.close();
  }

  /** Applies an event to this instance's caches. */
  apply(event: CacheEvent): void {
    switch (event.kind) {
      case 'runners':
        this.runners.evictRunners(event.ids);
        break;
      case 'jobs':
        this.runners.bumpEpoch();
        break;
      case 'user':
        this.pats.evictUser(event.id);
        break;
      case 'token':
        this.pats.evictToken(event.id);
        break;
      case 'all':
        this.runners.clear();
        this.runners.bumpEpoch();
        this.pats.clear();
        break;
    }
  }

  /** Test hook: resolves when a notification matching `match` arrives over LISTEN. */
  nextEvent(match: (event: CacheEvent) => boolean = () => true): Promise<void> {
    return new Promise((resolve) => {
      this.eventWaiters.push((event) => {
        if (!match(event)) return false;
        resolve();
        return true;
      });
    });
  }

  /** Test hook: behave as if the LISTEN connection had dropped. */
  simulateConnectionLoss(): void {
    this.listener?.simulateConnectionLoss();
  }

  private received(event: CacheEvent): void {
    // Own notifications are applied again on purpose: one sent inside a
    // transaction arrives after commit, which evicts anything a concurrent
    // poll may have loaded between the local eviction and the commit.
    this.apply(event);
    if (this.eventWaiters.length) this.eventWaiters = this.eventWaiters.filter((waiter) => !waiter(event));
  }

  private setEnabled(on: boolean): void {
    this.runners.clear();
    this.runners.bumpEpoch();
    this.pats.clear();
    this.runners.enabled = on;
    this.pats.enabled = on;
  }

  /**
   * Compares every cached runner with its row and evicts what differs or is
   * gone. Catches changes no NOTIFY announced (direct SQL, a NOTIFY lost
   * with a crashed instance).
   */
  async revalidate(): Promise<void> {
    const ids = this.runners.cachedIds();
    for (let i = 0; i < ids.length; i += REVALIDATE_CHUNK) {
      const chunk = ids.slice(i, i + REVALIDATE_CHUNK);
      const { rows } = await this.ctx.pool.query<{ id: number; fp: string }>(
        `SELECT id, ${FINGERPRINT_SQL} AS fp FROM runners WHERE id = ANY($1::int[])`,
        [chunk],
      );
      const current = new Map(rows.map((r) => [r.id, r.fp]));
      const stale = chunk.filter((id) => {
        const entry = this.runners.entryById(id);
        return entry !== undefined && current.get(id) !== runnerFingerprint(entry.runner);
      });
      if (stale.length) this.runners.evictRunners(stale);
    }
  }
}

/** The columns a cached entry relies on, as one comparable string (SQL and JS must agree). */
const FINGERPRINT_SQL = `concat_ws('|', token_digest, (extract(epoch from token_expires_at) * 1000)::bigint, active::text, run_untagged::text,
  access_level, array_to_string(tag_list, ','), maximum_timeout, runner_type, creation_state, (extract(epoch from updated_at) * 1000)::bigint)`;

function runnerFingerprint(r: {
  token_digest: string;
  token_expires_at: Date | null;
  active: boolean;
  run_untagged: boolean;
  access_level: number;
  tag_list: string[];
  maximum_timeout: number | null;
  runner_type: number;
  creation_state: number;
  updated_at: Date;
}): string {
  // concat_ws skips NULLs entirely; mirror that.
  const parts = [
    r.token_digest,
    r.token_expires_at?.getTime(),
    r.active,
    r.run_untagged,
    r.access_level,
    r.tag_list.join(','),
    r.maximum_timeout,
    r.runner_type,
    r.creation_state,
    r.updated_at.getTime(),
  ];
  return parts.filter((p) => p !== null && p !== undefined).map(String).join('|');
}

const hubs = new WeakMap<AppContext, RunnerCacheHub>();

/** This instance's caches (one per AppContext). Until started they stay off: everything is read from the database. */
export function runnerCache(ctx: AppContext): RunnerCacheHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = new RunnerCacheHub(ctx);
    hubs.set(ctx, hub);
  }
  return hub;
}

/** Starts LISTEN, the heartbeat flusher and the revalidation; close the result on shutdown. */
export async function startRunnerCache(ctx: AppContext): Promise<RunnerCacheHub> {
  const hub = runnerCache(ctx);
  await hub.start();
  return hub;
}

/**
 * Applies `event` here at once and sends it to every instance. With `db` =
 * a transaction's client the NOTIFY goes out at its commit (call this after
 * the change in the same transaction). A failure to notify is logged, not
 * thrown: the change itself is done, and the safety nets above bound how long
 * other instances can miss it.
 */
export async function publishCacheEvent(ctx: AppContext, event: CacheEvent, db?: pg.Pool | pg.PoolClient): Promise<void> {
  runnerCache(ctx).apply(event);
  for (let attempt = 1; ; attempt++) {
    try {
      await publishEvent(db ?? ctx.pool, event);
      return;
    } catch (err) {
      if (db !== undefined || attempt >= PUBLISH_ATTEMPTS) {
        ctx.log.error({ err, event: event.kind }, 'runner cache: could not notify other instances');
        if (db !== undefined) throw err;
        return;
      }
    }
  }
}

/** Runners changed or were deleted: token, paused, tags, run_untagged, access level, timeout, projects, managers. */
export const runnersChanged = (ctx: AppContext, ids: number[], db?: pg.Pool | pg.PoolClient) =>
  ids.length ? publishCacheEvent(ctx, { kind: 'runners', ids }, db) : Promise.resolve();

/** A job may have become available to some runner (queued, requeued, or a project's runner settings changed). */
export const jobsMayBeAvailable = (ctx: AppContext, db?: pg.Pool | pg.PoolClient) => publishCacheEvent(ctx, { kind: 'jobs' }, db);

/** A user's state or admin flag changed (or the user is gone): their tokens are looked up again. */
export const userChanged = (ctx: AppContext, userId: number, db?: pg.Pool | pg.PoolClient) => publishCacheEvent(ctx, { kind: 'user', id: userId }, db);

/** A personal access token was revoked or deleted. */
export const personalAccessTokenChanged = (ctx: AppContext, tokenId: number, db?: pg.Pool | pg.PoolClient) =>
  publishCacheEvent(ctx, { kind: 'token', id: tokenId }, db);
