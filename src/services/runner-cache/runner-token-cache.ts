import crypto from 'node:crypto';
import type { Runner } from '../../generated/prisma/client.js';
import type { SeenRequest, StoredManagerDetails } from './manager-details.js';

// Runner facts by token digest, so that a poll (POST /jobs/request) that
// finds nothing needs no database round trip at all:
//
//  - authentication: the runner row (active, token_expires_at, type, tags,
//    run_untagged, access_level, maximum_timeout) and its group;
//  - the managers this instance has written (to tell a new manager or
//    changed details, which are written at once, from a plain contact,
//    which is coalesced);
//  - "idle": the pending-job epoch at which the database last said "nothing
//    for you". The epoch is bumped whenever a job may have become available
//    (a job queued, a project's runner settings changed) on this instance
//    (synchronously) or on any other (NOTIFY); an unchanged epoch means the
//    answer cannot have changed. Its random value doubles as GitLab's
//    runner queue value (X-GitLab-Last-Update).
//
// Entries are dropped when the runner changes (see runner-cache.ts for the
// events) and all at once when the notification connection is lost. A load
// that raced with an eviction must not put back what it read before the
// change: every load remembers the generation it started at.

export interface StoredManager {
  id: number;
  /** What the database holds (as far as this instance wrote or read it). */
  details: StoredManagerDetails;
  /** The last request (info + IP) known to match `details`: a cheap equality check for the common case. */
  seen: SeenRequest | null;
  /** When this instance last wrote or queued this manager's contacted_at (ms; 0: not since it was loaded). */
  contactQueuedAt: number;
}

export interface CachedRunner {
  digest: string;
  runner: Runner;
  /** runner_namespaces.namespace_id of a group runner. */
  groupId: number | null;
  managers: Map<string, StoredManager>;
  /** contacted_at as stored, or as it will be after the next flush (ms). */
  storedContactedAt: number | null;
  idle: { epoch: number; value: string } | null;
  /** The queue value (X-GitLab-Last-Update) a paused runner's polls get. */
  pausedValue?: string;
  /** When a poll last found this entry (ms; set by put and get). */
  lastUsed?: number;
}

// Bounded, so that a fleet larger than memory allows still works. What is
// cached when the cache is full: runners poll in a cycle (every few seconds
// each), and under a cycle longer than the cache, evicting the oldest (or
// least recently used) entry to admit a new one evicts exactly the runner
// that polls next: every poll misses, reloads and evicts another, and the
// evicted entries are garbage for the collector. So a full cache keeps what
// it holds and admits a runner only in place of one that has stopped polling
// (not seen for IDLE_MS): with N runners polling and room for C, C/N of the
// polls are answered from memory, and the rest cost their one statement each.
/** About 1.4–1.7 KB of heap per entry (the runner row, its manager, the last request's parsed info when the poll-body memo no longer shares it). */
const MAX_ENTRIES = 50_000;
/** An entry no poll has used for this long may make room for another runner. */
export const IDLE_MS = 5 * 60_000;
/** A full cache looks for idle entries at most this often; in between, new runners are not cached. */
const ROOM_SWEEP_INTERVAL_MS = 10_000;
/** Evictions remembered for in-flight loads; beyond that every in-flight load is refused. */
const MAX_EVICTION_MARKS = 10_000;

export const newQueueValue = () => crypto.randomBytes(16).toString('hex');

export interface RunnerTokenCacheOptions {
  maxEntries?: number;
  /** The clock (tests). */
  now?: () => number;
}

export class RunnerTokenCache {
  private readonly byDigest = new Map<string, CachedRunner>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private lastRoomSweep = Number.NEGATIVE_INFINITY;
  private readonly digestById = new Map<number, string>();
  private generation = 0;
  private clearedAt = 0;
  private readonly evictedAt = new Map<number, number>();
  private waiters = new Set<() => void>();
  /** False while invalidations could be missed (no LISTEN connection): nothing is served or stored. */
  enabled = false;
  /** Token lookups answered from memory or not (the /-/metrics endpoint reads them). */
  readonly lookups = { hits: 0, misses: 0 };
  /** The pending-job epoch (see above). */
  epoch = 0;
  /** Set on shutdown: held long polls end and no new hold starts. */
  closed = false;

  constructor(opts: RunnerTokenCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? MAX_ENTRIES;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.byDigest.size;
  }

  get(digest: string): CachedRunner | undefined {
    const entry = this.enabled ? this.byDigest.get(digest) : undefined;
    if (entry) {
      this.lookups.hits++;
      entry.lastUsed = this.now();
    } else this.lookups.misses++;
    return entry;
  }

  /** Call before reading the database; pass the result to put(). */
  beginLoad(): number {
    return this.generation;
  }

  /** Stores a freshly loaded entry unless the runner was evicted (or everything cleared) since `loadGeneration`. */
  put(entry: CachedRunner, loadGeneration: number): boolean {
    if (!this.enabled || this.clearedAt > loadGeneration) return false;
    if ((this.evictedAt.get(entry.runner.id) ?? -1) > loadGeneration) return false;
    // A reset token leaves the runner's old entry behind under the old key: drop it (and any older entry for this key).
    const previous = this.digestById.get(entry.runner.id);
    if (previous !== undefined) this.byDigest.delete(previous);
    this.byDigest.delete(entry.digest);
    const now = this.now();
    if (this.byDigest.size >= this.maxEntries && !this.makeRoom(now)) return false;
    entry.lastUsed = now;
    this.byDigest.set(entry.digest, entry);
    this.digestById.set(entry.runner.id, entry.digest);
    return true;
  }

  /** True while `entry` is the one served for its digest (not evicted or replaced). */
  isCurrent(entry: CachedRunner): boolean {
    return this.byDigest.get(entry.digest) === entry;
  }

  evictRunners(ids: Iterable<number>): void {
    this.generation++;
    for (const id of ids) {
      this.evictedAt.set(id, this.generation);
      const digest = this.digestById.get(id);
      if (digest !== undefined) {
        this.byDigest.delete(digest);
        this.digestById.delete(id);
      }
    }
    if (this.evictedAt.size > MAX_EVICTION_MARKS) {
      this.evictedAt.clear();
      this.clearedAt = this.generation;
    }
    // A held long poll of an evicted runner (paused, deleted, retagged) must look again.
    this.wakeAll();
  }

  clear(): void {
    this.generation++;
    this.clearedAt = this.generation;
    this.evictedAt.clear();
    this.byDigest.clear();
    this.digestById.clear();
    this.wakeAll();
  }

  /** Ids of all cached runners (for the periodic revalidation). */
  cachedIds(): number[] {
    return [...this.digestById.keys()];
  }

  entryById(id: number): CachedRunner | undefined {
    const digest = this.digestById.get(id);
    return digest === undefined ? undefined : this.byDigest.get(digest);
  }

  /**
   * Another writer (a job update) stored `ipAddress` for one of the runner's
   * managers: what this process believes is stored follows, so the next poll
   * compares with it and writes its own address again if it differs.
   */
  managerAddressWritten(runnerId: number, managerId: number, ipAddress: string): void {
    for (const manager of this.entryById(runnerId)?.managers.values() ?? []) {
      if (manager.id !== managerId) continue;
      manager.details = { ...manager.details, ip_address: ipAddress };
      manager.seen = null;
    }
  }

  // -- the pending-job epoch ------------------------------------------------

  /** A job may have become available to some runner: every "idle" answer is void. */
  bumpEpoch(): void {
    this.epoch++;
    this.wakeAll();
  }

  /** The runner's queue value while its "idle" answer still holds. */
  idleValue(entry: CachedRunner): string | undefined {
    return entry.idle !== null && entry.idle.epoch === this.epoch ? entry.idle.value : undefined;
  }

  /** Records that the database had nothing for the runner at `epochBeforeQuery`; returns the queue value to send. */
  rememberIdle(entry: CachedRunner, epochBeforeQuery: number): string {
    const value = newQueueValue();
    if (this.isCurrent(entry)) entry.idle = { epoch: epochBeforeQuery, value };
    return value;
  }

  /** Resolves on the next epoch bump or eviction, or after `ms` (long polling). */
  waitForChange(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  /** Server shutdown: release every held poll. */
  shutdown(): void {
    this.closed = true;
    this.wakeAll();
  }

  wakeAll(): void {
    if (this.waiters.size === 0) return;
    const waiting = this.waiters;
    this.waiters = new Set();
    for (const wake of waiting) wake();
  }

  /** Drops entries idle for IDLE_MS (at most one sweep per ROOM_SWEEP_INTERVAL_MS); true if there is room now. */
  private makeRoom(now: number): boolean {
    if (now - this.lastRoomSweep < ROOM_SWEEP_INTERVAL_MS) return false;
    this.lastRoomSweep = now;
    for (const [digest, entry] of this.byDigest) {
      if (now - (entry.lastUsed ?? 0) < IDLE_MS) continue;
      this.byDigest.delete(digest);
      this.digestById.delete(entry.runner.id);
    }
    return this.byDigest.size < this.maxEntries;
  }
}
