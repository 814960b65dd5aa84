import crypto from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';

// GitLab's "runner queue value" (runner-protocol.md §5): every runner has a
// random hex value, sent back as X-GitLab-Last-Update. A poll that carries the
// current value is answered 204 without looking at the database; the value
// changes whenever a job is queued, so the next poll looks again.
//
// The values live in this process's memory. Queuing a job on this instance
// clears every value at once (cheaper and safer than working out which
// runners could take it); a value also stops being trusted after
// VALUE_TTL_MS and when the runner's own matching settings change, so a job
// queued through another instance sharing the database, or a runner newly
// assigned to a project, is seen within that time.

const VALUE_TTL_MS = 15_000;

interface QueueValue {
  value: string;
  fingerprint: string;
  expiresAt: number;
}

class RunnerQueues {
  private readonly values = new Map<number, QueueValue>();
  private waiters = new Set<() => void>();

  /** The runner's current value, if it is still trustworthy. */
  current(runner: Runner): string | undefined {
    const entry = this.values.get(runner.id);
    if (!entry) return undefined;
    if (entry.expiresAt < Date.now() || entry.fingerprint !== fingerprint(runner)) {
      this.values.delete(runner.id);
      return undefined;
    }
    return entry.value;
  }

  /** `ensure_runner_queue_value`: the current value, or a new one. */
  ensure(runner: Runner): string {
    const existing = this.current(runner);
    if (existing) return existing;
    const value = crypto.randomBytes(16).toString('hex');
    this.values.set(runner.id, { value, fingerprint: fingerprint(runner), expiresAt: Date.now() + VALUE_TTL_MS });
    return value;
  }

  forget(runnerId: number): void {
    this.values.delete(runnerId);
  }

  /** A job was queued: every runner must look at the database again. */
  tickAll(): void {
    this.values.clear();
    const waiting = this.waiters;
    this.waiters = new Set();
    for (const wake of waiting) wake();
  }

  /** Resolves on the next tick or after `ms`, whichever comes first. */
  waitForTick(ms: number): Promise<void> {
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

  /** Releases held polls (server shutdown). */
  releaseAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** What decides which jobs a runner may take; a change invalidates its value. */
function fingerprint(runner: Runner): string {
  return JSON.stringify([runner.active, runner.run_untagged, runner.access_level, runner.tag_list, runner.updated_at.getTime()]);
}

const queues = new WeakMap<AppContext, RunnerQueues>();

/** The queue values of one server instance (one per AppContext). */
export function runnerQueues(ctx: AppContext): RunnerQueues {
  let q = queues.get(ctx);
  if (!q) {
    q = new RunnerQueues();
    queues.set(ctx, q);
  }
  return q;
}
