import { describe, expect, it } from 'vitest';
import { evaluate, type Measurement } from '../../bench/report.js';
import type { LoadResult } from '../../bench/load.js';

const load = (reqPerSec: number): LoadResult => ({
  durationSec: 10, responses: reqPerSec * 10, ok: reqPerSec * 10, non2xx: 0, errors: 0, timeouts: 0,
  statusCodes: { '200': reqPerSec * 10 }, reqPerSec, p50: 1, p90: 1.5, p99: 2, max: 3,
});
const m = (key: string, target: 'server' | 'ref1' | 'ref2' | 'floor', reqPerSec: number): Measurement => ({
  scenario: { key, id: key, title: key, example: key, target }, runners: 100_000, load: load(reqPerSec), serverErrors: [],
});

describe('bench report', () => {
  it('judges the server against the mean of the reference runs before and after its scenarios', () => {
    const rows = evaluate([m('ref1', 'ref1', 20_000), m('ref2', 'ref2', 3_000), m('runner', 'server', 3_500), m('ref1', 'ref1', 30_000), m('ref2', 'ref2', 7_000)], 100_000);
    const runner = rows.find((r) => r.scenario.key === 'runner')!;
    expect(runner.ratioRef2).toBe(0.7);
    expect(runner.checks.find((c) => c.name === '≥0.7×ref2')?.pass).toBe(true);
    expect(runner.ratioRef1).toBe(0.14);
    // Each reference row shows its own run against that mean.
    expect(rows.filter((r) => r.scenario.key === 'ref2').map((r) => r.ratioRef2)).toEqual([0.6, 1.4]);
  });

  it('shows a list floor against ref2 without judging it', () => {
    const rows = evaluate([m('ref1', 'ref1', 20_000), m('ref2', 'ref2', 4_000), m('floor-100', 'floor', 1_200), m('list-page', 'server', 1_000)], 100_000);
    const floor = rows.find((r) => r.scenario.key === 'floor-100')!;
    expect(floor.ratioRef2).toBe(0.3);
    expect(floor.ratioRef1).toBeNull();
    expect(floor.checks.map((c) => c.name)).toEqual(['errors≤1%']);
    expect(rows.find((r) => r.scenario.key === 'list-page')!.checks.find((c) => c.name === '≥0.4×ref2')?.pass).toBe(false);
  });
});
