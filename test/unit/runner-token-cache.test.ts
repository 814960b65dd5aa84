import { describe, expect, it } from 'vitest';
import type { Runner } from '../../src/generated/prisma/client.js';
import { IDLE_MS, RunnerTokenCache, type CachedRunner } from '../../src/services/runner-cache/runner-token-cache.js';

// What a full runner cache does with a fleet larger than it: runners poll in
// a cycle, one after the other, every few seconds.

const entryFor = (id: number): CachedRunner => ({
  digest: `digest-${id}`,
  runner: { id } as Runner,
  groupId: null,
  managers: new Map(),
  storedContactedAt: null,
  idle: null,
});

function cacheWithClock(maxEntries?: number) {
  const clock = { now: 1_000_000 };
  const cache = new RunnerTokenCache({ ...(maxEntries === undefined ? {} : { maxEntries }), now: () => clock.now });
  cache.enabled = true;
  return { cache, clock };
}

/** One poll of runner `id`: from the cache, or loaded and offered to it. */
function poll(cache: RunnerTokenCache, id: number): 'hit' | 'miss' {
  if (cache.get(`digest-${id}`)) return 'hit';
  cache.put(entryFor(id), cache.beginLoad());
  return 'miss';
}

describe('runner token cache, fleet larger than the cache', () => {
  it('answers the share of polls it has room for when more runners poll in a cycle than it holds', () => {
    // The default size (50,000 runners) and 62,500 runners polling every 2.5 s.
    const { cache, clock } = cacheWithClock();
    const runners = 62_500;
    let hits = 0;
    for (let round = 0; round < 3; round++) {
      for (let id = 1; id <= runners; id++) {
        clock.now += 0.04;
        if (poll(cache, id) === 'hit' && round === 2) hits++;
      }
    }
    // Room for 50,000 of 62,500 runners: 80 % of the polls.
    expect(hits).toBe(50_000);
    expect(cache.size).toBe(50_000);
  });

  it('makes room for a new runner in place of one that stopped polling', () => {
    const { cache, clock } = cacheWithClock(3);
    for (const id of [1, 2, 3]) poll(cache, id);
    clock.now += IDLE_MS / 2;
    poll(cache, 1);
    poll(cache, 2);
    // Runner 3 has not polled for IDLE_MS; 1 and 2 have.
    clock.now += IDLE_MS / 2 + 1;
    expect(poll(cache, 4)).toBe('miss');
    expect([1, 2, 4].map((id) => cache.get(`digest-${id}`)?.runner.id)).toEqual([1, 2, 4]);
    expect(cache.get('digest-3')).toBeUndefined();
  });

  it('keeps what it holds while every cached runner is still polling', () => {
    const { cache, clock } = cacheWithClock(3);
    for (const id of [1, 2, 3]) poll(cache, id);
    clock.now += 60_000;
    expect(poll(cache, 4)).toBe('miss');
    expect(poll(cache, 4)).toBe('miss');
    expect([1, 2, 3].map((id) => poll(cache, id))).toEqual(['hit', 'hit', 'hit']);
  });
});
