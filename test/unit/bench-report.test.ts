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

  it('shows a list floor against ref2 without judging it, and judges each list against the floor of its page size', () => {
    const rows = evaluate(
      [m('ref1', 'ref1', 20_000), m('ref2', 'ref2', 4_000), m('floor-100', 'floor', 1_200), m('floor-20', 'floor', 2_500), m('list-page', 'server', 1_000), m('project-runners', 'server', 1_900)],
      100_000,
    );
    const floor = rows.find((r) => r.scenario.key === 'floor-100')!;
    expect(floor.ratioRef2).toBe(0.3);
    expect(floor.ratioRef1).toBeNull();
    expect(floor.checks.map((c) => c.name)).toEqual(['errors≤1%']);
    const page = rows.find((r) => r.scenario.key === 'list-page')!;
    expect(page.ratioFloor).toBe(0.83);
    expect(page.checks.find((c) => c.name === '≥0.8×floor')?.pass).toBe(true);
    const project = rows.find((r) => r.scenario.key === 'project-runners')!;
    expect(project.ratioFloor).toBe(0.76);
    expect(project.checks.find((c) => c.name === '≥0.8×floor')?.pass).toBe(false);
  });

  it('judges registration against 0.25 × ref2 and every server scenario’s RSS', () => {
    const register = { ...m('register', 'server', 900), rss: { peakMB: 310, meanMB: 250 } };
    const rows = evaluate([m('ref2', 'ref2', 4_000), register], 100_000);
    const checks = rows.find((r) => r.scenario.key === 'register')!.checks;
    expect(checks.find((c) => c.name === '≥0.25×ref2')).toMatchObject({ pass: false, actual: '0.23' });
    expect(checks.find((c) => c.name === 'RSS<300MB')).toMatchObject({ pass: false, actual: '310MB' });
  });

  it('judges the hand-out: 300 jobs/s and p99 under 50 ms at 10k, half that rate at 100k, no failed readiness probe', () => {
    const handout = (key: string, jobsPerSec: number, probesFailed: number): Measurement => ({
      ...m(key, 'server', jobsPerSec),
      handout: { pendingAtStart: 0, jobsPerSec, probes: 50, probesFailed, probeP99: 3 },
    });
    const rows = evaluate([handout('handout-10k', 320, 0), handout('handout-100k', 150, 2)], 100_000);
    const verdicts = (key: string) => Object.fromEntries(rows.find((r) => r.scenario.key === key)!.checks.map((c) => [c.name, c.pass]));
    expect(verdicts('handout-10k')).toMatchObject({ '≥300 jobs/s': true, 'p99<50ms': true, '0 probes failed': true });
    expect(verdicts('handout-100k')).toMatchObject({ '≥0.5×10k rate': false, 'p99<50ms': true, '0 probes failed': false });
  });
});
