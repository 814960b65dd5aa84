import type { LoadResult, Probe } from './load.js';
import type { Scenario } from './scenarios.js';

// Turns measurements into verdicts, one table and results.json.
// Targets (issue 14, restating issue 5's):
//   1 poll                 req/s ≥ 0.5 × ref1 (bare Fastify, measured with wrk)
//   2 runner details       req/s ≥ 0.7 × ref2 (Fastify + one primary-key lookup)
//   3–4 lists (100 rows)   req/s ≥ 0.8 × the 100-row floor, p99 < 4 × p50
//   5–6 lists (20 rows)    req/s ≥ 0.8 × the 20-row floor, p99 < 4 × p50
//   3–5 growth             req/s(big) / req/s(small) ≥ 0.5
//   7 registration         req/s ≥ 0.25 × ref2
//   every server scenario  RSS < 300 MB (500 connections included: 1b)
//   8 hand-out, 10k        ≥ 300 jobs/s, poll p99 < 50 ms, 0 readiness probes failed
//   8 hand-out, 100k       jobs/s ≥ 0.5 × the 10k rate, p99 < 50 ms, 0 probes failed
// ref1 and ref2 are the means of the references' runs before and after the
// server's scenarios. The floors are a bare route reading a 100- or 20-row
// page (the least a page of that size costs, whoever serves it).
// And for every row: at most 1 % of requests without a 2xx answer, since a
// fast 404 is not throughput (req/s counts 2xx responses only).

export interface Measurement {
  scenario: Pick<Scenario, 'key' | 'id' | 'title' | 'example' | 'target'>;
  /** Runners in the database while measuring. */
  runners: number;
  load?: LoadResult;
  probe?: Probe;
  rss?: { peakMB: number | null; meanMB: number | null };
  /** CPU time (user + system) of the process under test per response during the measurement, in ms. */
  cpuMsPerRequest?: number;
  /** Why the measurement could not be made at all. */
  failure?: string;
  /** The process under test died during the measurement. */
  crashed?: string;
  /** It had died before and was restarted for this measurement. */
  restarted?: boolean;
  /** Error-level lines the process logged during the measurement (first few). */
  serverErrors: string[];
  /** The load generator that made `load`. */
  generator?: 'wrk' | 'autocannon';
  /** The same scenario measured with autocannon right after (references only): a cross-check of the generator. */
  crossCheck?: LoadResult;
  /** Scenario 8 (hand-out under backlog). */
  handout?: {
    pendingAtStart: number;
    jobsPerSec: number;
    probes: number;
    probesFailed: number;
    probeP99: number | null;
    /** Server CPU ms per job handed out (201) during the measurement. */
    cpuMsPerJob?: number | null;
    /** PostgreSQL's CPU ms (postmaster and children) per job handed out. */
    dbCpuMsPerJob?: number | null;
  };
}

export interface Check {
  name: string;
  /** null: could not be evaluated (e.g. missing reference or 1k measurement). */
  pass: boolean | null;
  actual: string;
}

export interface Row extends Measurement {
  ratioRef1: number | null;
  ratioRef2: number | null;
  /** req/s against the floor of the same page size (list scenarios). */
  ratioFloor: number | null;
  growth: number | null;
  errorCount: number;
  errorRate: number | null;
  checks: Check[];
}

const MAX_ERROR_RATE = 0.01;
const RSS_LIMIT_MB = 300;

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b <= 0 ? null : round(a / b));

function atLeast(name: string, value: number | null, min: number): Check {
  if (value === null) return { name, pass: null, actual: 'n/a' };
  return { name, pass: value >= min, actual: value.toFixed(2) };
}

/** The mean req/s of a reference's (or floor's) measurements at `runners` (references are measured before and after the server's scenarios). */
export function referenceRate(measurements: Measurement[], key: string, runners: number): number | undefined {
  const rates = measurements.filter((m) => m.scenario.key === key && m.runners === runners && m.load).map((m) => m.load!.reqPerSec);
  return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : undefined;
}

const FLOOR_OF: Record<string, string> = { 'list-page': 'floor-100', 'list-tags': 'floor-100', 'list-version': 'floor-20', 'project-runners': 'floor-20' };
const LIST_KEYS = Object.keys(FLOOR_OF);
const HANDOUT_JOBS_PER_SEC = 300;
const HANDOUT_P99_MS = 50;

function below(name: string, value: number | null | undefined, max: number, unit = ''): Check {
  if (value === null || value === undefined) return { name, pass: null, actual: 'n/a' };
  return { name, pass: value < max, actual: `${value}${unit}` };
}

export function evaluate(measurements: Measurement[], bigRunners: number): Row[] {
  const ref1 = referenceRate(measurements, 'ref1', bigRunners);
  const ref2 = referenceRate(measurements, 'ref2', bigRunners);
  const handout10k = measurements.find((m) => m.scenario.key === 'handout-10k')?.handout?.jobsPerSec;
  return measurements.map((m) => {
    const load = m.load;
    const rps = load?.reqPerSec;
    const errorCount = load ? load.non2xx + load.errors : 0;
    const attempts = load ? load.responses + load.errors : 0;
    const errorRate = load && attempts > 0 ? errorCount / attempts : null;
    const isBig = m.runners === bigRunners;
    const key = m.scenario.key;
    const small = measurements.find((o) => o.scenario.key === key && o.runners !== bigRunners);
    const growth = isBig && small ? ratio(rps, small.load?.reqPerSec) : null;
    // A reference row shows its own run against the mean, so the drift between its two runs is visible.
    const r1 = m.scenario.target === 'server' || key === 'ref2' || key === 'ref1' ? ratio(rps, ref1) : null;
    const r2 = m.scenario.target === 'server' || m.scenario.target === 'floor' || key === 'ref2' ? ratio(rps, ref2) : null;
    const floorKey = FLOOR_OF[key];
    const rFloor = floorKey ? ratio(rps, referenceRate(measurements, floorKey, bigRunners)) : null;

    const checks: Check[] = [];
    if (m.failure) checks.push({ name: 'measured', pass: false, actual: m.failure });
    else if (errorRate === null) checks.push({ name: 'answers', pass: false, actual: 'no response at all' });
    else checks.push({ name: 'errors≤1%', pass: errorRate <= MAX_ERROR_RATE, actual: `${round(errorRate * 100, 1)}%` });
    if (m.scenario.target === 'server') {
      const peak = m.rss?.peakMB ?? null;
      checks.push({ name: `RSS<${RSS_LIMIT_MB}MB`, pass: peak === null ? null : peak < RSS_LIMIT_MB, actual: peak === null ? 'n/a' : `${peak}MB` });
    }
    if (m.handout) {
      const h = m.handout;
      if (key === 'handout-10k') checks.push(atLeast(`≥${HANDOUT_JOBS_PER_SEC} jobs/s`, h.jobsPerSec, HANDOUT_JOBS_PER_SEC));
      else checks.push(atLeast('≥0.5×10k rate', handout10k ? round(h.jobsPerSec / handout10k) : null, 0.5));
      checks.push(below(`p99<${HANDOUT_P99_MS}ms`, load?.p99, HANDOUT_P99_MS, 'ms'));
      checks.push({ name: '0 probes failed', pass: h.probesFailed === 0, actual: `${h.probesFailed}/${h.probes}` });
    }
    if (isBig) {
      if (key === 'poll') checks.push(atLeast('≥0.5×ref1', r1, 0.5));
      if (key === 'runner') checks.push(atLeast('≥0.7×ref2', r2, 0.7));
      if (key === 'register') checks.push(atLeast('≥0.25×ref2', r2, 0.25));
      if (LIST_KEYS.includes(key)) {
        checks.push(atLeast('≥0.8×floor', rFloor, 0.8));
        const p50 = load?.p50 ?? null;
        const p99 = load?.p99 ?? null;
        checks.push({
          name: 'p99<4×p50',
          pass: p50 === null || p99 === null ? null : p99 < 4 * p50,
          actual: p50 === null || p99 === null ? 'n/a' : `${round(p99 / p50, 1)}×`,
        });
      }
      if (['list-page', 'list-tags', 'list-version'].includes(key)) checks.push(atLeast('growth≥0.5', growth, 0.5));
    }
    return { ...m, ratioRef1: r1, ratioRef2: r2, ratioFloor: rFloor, growth, errorCount, errorRate, checks };
  });
}

const fmtCount = (n: number) => (n >= 1_000_000 ? `${Math.round(n / 100_000) / 10}M` : n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));
const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '–' : v.toFixed(digits));

function errorCell(r: Row): string {
  if (r.failure) return 'not run';
  if (!r.load) return '–';
  if (r.errorCount === 0) return '0';
  const codes = Object.entries(r.load.statusCodes)
    .filter(([c]) => !c.startsWith('2'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([c, n]) => `${c}×${n}`);
  if (r.load.errors > 0) codes.push(`conn×${r.load.errors}`);
  return `${r.errorCount} (${fmt((r.errorRate ?? 0) * 100, 0)}%) ${codes.join(' ')}`;
}

// The actual value is shown for ratio checks; error and not-run details are
// in the error column and the Problems list below the table.
const verdict = (c: Check) =>
  `${c.name} ${c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL'}${c.pass === null || c.name === 'errors≤1%' || c.name === 'measured' || c.name === 'answers' ? '' : ` (${c.actual})`}`;

export function formatTable(rows: Row[]): string {
  const header = ['#', 'scenario', 'runners', 'req/s', 'p50 ms', 'p99 ms', '×ref1', '×ref2', '×floor', 'growth', 'non-2xx/errors', 'RSS MB', 'CPU ms/req', 'targets'];
  const body = rows.map((r) => [
    r.scenario.id,
    r.handout ? `${r.scenario.title}: ${r.handout.jobsPerSec} jobs/s` : r.scenario.title,
    fmtCount(r.runners),
    fmt(r.load?.reqPerSec, 0),
    fmt(r.load?.p50, 2),
    fmt(r.load?.p99, 2),
    fmt(r.ratioRef1, 2),
    fmt(r.ratioRef2, 2),
    fmt(r.ratioFloor, 2),
    fmt(r.growth, 2),
    errorCell(r),
    fmt(r.rss?.peakMB, 0),
    fmt(r.cpuMsPerRequest, 3),
    r.checks.map(verdict).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9, 11, 12]);
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? 7 : w)).join('  '), ...body.map(line)].join('\n');
}

export function summarize(rows: Row[]): { pass: number; fail: number; notEvaluated: number } {
  const checks = rows.flatMap((r) => r.checks);
  return {
    pass: checks.filter((c) => c.pass === true).length,
    fail: checks.filter((c) => c.pass === false).length,
    notEvaluated: checks.filter((c) => c.pass === null).length,
  };
}

/** Failing rows explained: what the endpoint answered and what the server logged. */
export function formatDiagnostics(rows: Row[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const troubled = r.failure || r.crashed || r.restarted || (r.errorRate ?? 0) > MAX_ERROR_RATE;
    if (!troubled) continue;
    out.push(`- ${r.scenario.id} ${r.scenario.title} @${fmtCount(r.runners)}:`);
    if (r.failure) out.push(`    not measured: ${r.failure}`);
    if (r.restarted) out.push('    the process had died and was restarted for this scenario');
    if (r.crashed) out.push(`    the process died during this scenario (${r.crashed})`);
    if (r.probe) out.push(`    probe: ${r.probe.status ?? 'no response'} ${r.probe.body.replace(/\s+/g, ' ').slice(0, 200)}`);
    for (const line of r.serverErrors.slice(0, 3)) out.push(`    log: ${line.slice(0, 300)}`);
  }
  return out.join('\n');
}

/** The references as wrk and autocannon measured them: how much the generator itself limits. */
export function formatCrossCheck(rows: Row[]): string {
  const lines = rows
    .filter((r) => r.crossCheck && r.load)
    .map((r) => `- ${r.scenario.title}: ${r.generator ?? 'wrk'} ${fmt(r.load!.reqPerSec, 0)} req/s (p50 ${fmt(r.load!.p50, 2)} ms), autocannon ${fmt(r.crossCheck!.reqPerSec, 0)} req/s (p50 ${fmt(r.crossCheck!.p50, 2)} ms)`);
  return lines.join('\n');
}
