import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Everything a bench run can be tuned with, read once from the environment.
// The defaults are the measuring conditions; the env knobs exist so a
// developer can get a quick signal (BENCH_DURATION=2 BENCH_ONLY=poll,list-page).

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_DATA_ROOT = path.join(REPO_ROOT, '.bench-data');
export const RESULTS_FILE = path.join(REPO_ROOT, 'bench', 'results.json');

// Fixed secrets: the seeder computes token digests in this process and the
// server must derive the same HMAC key, so both get the same SECRET_KEY.
// They only ever protect a throw-away database that is deleted after the run.
export const SECRET_KEY = 'bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz';
export const ROOT_TOKEN = 'glpat-benchRootToken2025xyz';

const positiveNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};

export interface BenchConfig {
  /** Seconds measured per scenario. */
  duration: number;
  /** Seconds of unrecorded load before each measurement (JIT, pools, caches). */
  warmup: number;
  connections: number;
  /** Runners in the big dataset (issue: 100,000). */
  runners: number;
  /** Runners in the small dataset the growth ratio is measured against (issue: 1,000). */
  smallRunners: number;
  /** Runners whose tokens scenario 1 knows and polls with, round-robin. */
  pollingRunners: number;
  /** Scenario keys to run (empty = all). */
  only: string[];
}

export function loadBenchConfig(): BenchConfig {
  const runners = Math.floor(positiveNumber('BENCH_RUNNERS', 100_000));
  if (runners < 100) throw new Error('BENCH_RUNNERS must be at least 100');
  const smallRunners = Math.min(Math.floor(positiveNumber('BENCH_SMALL_RUNNERS', 1_000)), runners);
  return {
    duration: positiveNumber('BENCH_DURATION', 10),
    warmup: process.env.BENCH_WARMUP === '0' ? 0 : positiveNumber('BENCH_WARMUP', 2),
    connections: Math.floor(positiveNumber('BENCH_CONNECTIONS', 32)),
    runners,
    smallRunners,
    pollingRunners: Math.min(10_000, Math.floor(runners / 10)),
    only: (process.env.BENCH_ONLY ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
