import type { User } from '../../generated/prisma/client.js';

// Personal access tokens by digest, for a few seconds: every API call
// authenticates, and the lookup (token + user) would otherwise be a database
// round trip of its own. A revocation, a deleted token or a changed user is
// evicted at once on every instance (runner-cache.ts); the short TTL bounds
// staleness for changes made behind the server's back (psql).
//
// Only valid tokens are cached: a revoked, expired or unknown token is looked
// up every time, so no amount of guessing fills the cache.

export const PAT_TTL_MS = 5000;
const MAX_ENTRIES = 10_000;

export interface CachedPat {
  patId: number;
  user: User;
  scopes: string[];
  /** expires_at as YYYY-MM-DD, checked on every use. */
  expiresOn: string | null;
  cachedAt: number;
}

export class PatCache {
  private readonly byDigest = new Map<string, CachedPat>();
  private generation = 0;
  private clearedAt = 0;
  private readonly evictedUsers = new Map<number, number>();
  private readonly evictedTokens = new Map<number, number>();
  enabled = false;
  /** Token lookups answered from memory or not (the /-/metrics endpoint reads them). */
  readonly lookups = { hits: 0, misses: 0 };

  get(digest: string, now = Date.now()): CachedPat | undefined {
    const entry = this.lookup(digest, now);
    if (entry) this.lookups.hits++; else this.lookups.misses++;
    return entry;
  }

  private lookup(digest: string, now: number): CachedPat | undefined {
    if (!this.enabled) return undefined;
    const entry = this.byDigest.get(digest);
    if (!entry) return undefined;
    if (now - entry.cachedAt >= PAT_TTL_MS) {
      this.byDigest.delete(digest);
      return undefined;
    }
    return entry;
  }

  beginLoad(): number {
    return this.generation;
  }

  put(digest: string, entry: CachedPat, loadGeneration: number): void {
    if (!this.enabled || this.clearedAt > loadGeneration) return;
    if ((this.evictedUsers.get(entry.user.id) ?? -1) > loadGeneration) return;
    if ((this.evictedTokens.get(entry.patId) ?? -1) > loadGeneration) return;
    if (this.byDigest.size >= MAX_ENTRIES) this.sweep(entry.cachedAt);
    this.byDigest.set(digest, entry);
  }

  evictUser(userId: number): void {
    this.evictedUsers.set(userId, ++this.generation);
    for (const [digest, e] of this.byDigest) if (e.user.id === userId) this.byDigest.delete(digest);
    this.trimMarks();
  }

  evictToken(patId: number): void {
    this.evictedTokens.set(patId, ++this.generation);
    for (const [digest, e] of this.byDigest) if (e.patId === patId) this.byDigest.delete(digest);
    this.trimMarks();
  }

  clear(): void {
    this.clearedAt = ++this.generation;
    this.evictedUsers.clear();
    this.evictedTokens.clear();
    this.byDigest.clear();
  }

  /** Eviction marks only matter for loads in flight; old ones are dropped (refusing in-flight loads instead). */
  private trimMarks(): void {
    if (this.evictedUsers.size + this.evictedTokens.size > 10_000) {
      this.evictedUsers.clear();
      this.evictedTokens.clear();
      this.clearedAt = this.generation;
    }
  }

  /** Full: drop expired entries, and if that is not enough, everything (they are cheap to reload). */
  private sweep(now: number): void {
    for (const [digest, e] of this.byDigest) if (now - e.cachedAt >= PAT_TTL_MS) this.byDigest.delete(digest);
    if (this.byDigest.size >= MAX_ENTRIES) this.byDigest.clear();
  }
}
