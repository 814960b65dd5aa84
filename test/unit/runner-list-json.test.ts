import { describe, expect, it } from 'vitest';
import { isoUtc } from '../../src/lib/json-text.js';
import { presentRunnerItems, runnerItemsJson } from '../../src/presenters/runner.js';
import type { RunnerListItem } from '../../src/domain/runner-view.js';

// Runner list pages are written as JSON text (runnerItemsJson) instead of
// objects serialised by Fastify: the bytes must be those of the entity
// (Entities::Ci::Runner, keys in GitLab's order) that presentRunner builds.

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const opts = { baseUrl: 'https://gitlab.example.com', now: NOW };
const at = (iso: string) => new Date(iso);

const item = (runner: Partial<RunnerListItem['runner']>, extras: Partial<RunnerListItem['extras']> = {}): RunnerListItem => ({
  runner: {
    id: 7,
    description: 'runner',
    active: true,
    runner_type: 3,
    name: 'gitlab-runner',
    contacted_at: at('2026-12-03T11:59:00.000Z'),
    created_at: at('2026-01-02T03:04:05.006Z'),
    ...runner,
  },
  extras: { creator: { id: 1, username: 'root', name: 'Administrator', state: 'active' }, executing: false, ...extras },
});

describe('a runner list page as JSON text', () => {
  it('is exactly the entity GitLab lists, key by key', () => {
    expect(runnerItemsJson([item({}, { executing: true })], opts)).toBe(
      '[{"id":7,"description":"runner","ip_address":null,"active":true,"paused":false,"is_shared":false,"runner_type":"project_type",' +
        '"name":"gitlab-runner","online":true,"created_by":{"id":1,"username":"root","name":"Administrator","state":"active","locked":false,' +
        '"avatar_url":null,"web_url":"https://gitlab.example.com/root"},"created_at":"2026-01-02T03:04:05.006Z","status":"online","job_execution_status":"active"}]',
    );
  });

  it('an empty page is []', () => {
    expect(runnerItemsJson([], opts)).toBe('[]');
  });

  it.each<[string, RunnerListItem]>([
    ['creator gone: created_by left out', item({}, { creator: null })],
    ['never contacted, null description and name', item({ contacted_at: null, description: null, name: null })],
    ['paused instance runner, offline', item({ active: false, runner_type: 1, contacted_at: at('2026-12-03T08:00:00.000Z') })],
    ['stale group runner', item({ runner_type: 2, contacted_at: at('2026-10-01T00:00:00.000Z'), created_at: at('2026-01-01T00:00:00.000Z') })],
    ['quotes, backslashes, control characters, non-ASCII and a lone surrogate', item({ description: 'a "b" \\ c\n\t\u0001 é 😀 \ud800', name: '</script>' })],
    ['a username that needs escaping in web_url', item({}, { creator: { id: 2, username: 'we"ird\\', name: 'Ünïcode', state: 'blocked' } })],
    ['dates at the edges of the fast formatter', item({ created_at: at('1970-01-01T00:00:00.000Z'), contacted_at: at('9999-12-31T23:59:59.999Z') })],
    ['dates before 1970 and after 9999', item({ created_at: at('1969-12-31T23:59:59.999Z'), contacted_at: at('+010000-01-01T00:00:00.000Z') })],
  ])('%s: the same bytes as the presented entity', (_name, listItem) => {
    expect(runnerItemsJson([listItem, item({ id: 8 })], opts)).toBe(JSON.stringify(presentRunnerItems([listItem, item({ id: 8 })], opts)));
  });
});

describe('isoUtc', () => {
  it.each([
    ['1970-01-01T00:00:00.000Z'],
    ['2000-02-29T23:59:59.999Z'],
    ['2024-02-29T12:00:00.050Z'],
    ['2100-03-01T00:00:00.001Z'],
    ['9999-12-31T23:59:59.999Z'],
    ['1969-12-31T23:59:59.999Z'],
    ['0001-01-01T00:00:00.000Z'],
    ['+010000-01-01T00:00:00.000Z'],
  ])('%s', (iso) => {
    expect(isoUtc(new Date(iso))).toBe(iso);
  });

  it('agrees with toISOString on 100,000 instants spread over 1970–9999', () => {
    let x = 123_456_789;
    const wrong: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648; // fixed-seed LCG
      const t = Math.floor((x / 2_147_483_648) * 253_402_300_799_999) + (i % 1000);
      const d = new Date(t);
      if (isoUtc(d) !== d.toISOString()) wrong.push(d.toISOString());
    }
    expect(wrong).toEqual([]);
  });

  it('an invalid date throws as toISOString does', () => {
    expect(() => isoUtc(new Date(Number.NaN))).toThrow(RangeError);
  });
});
