import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import pino from 'pino';
import type { Config } from './config.js';
import { loggerOptions } from './lib/logger.js';
import { prepareDatabase } from './runtime.js';

// WORKERS > 1: the primary process prepares the database once (embedded
// cluster, migrations, first-boot seed), then forks WORKERS processes that
// each run the whole server (own pools, own caches, own LISTEN connection)
// and share the port through node:cluster (the primary accepts connections
// and hands them out in turn). It serves no request itself. A worker that
// dies is replaced; SIGTERM/SIGINT drains every worker, then the primary
// stops the embedded cluster and exits 0. docs/scaling.md has the budget.

/** How long a worker may take to drain before it is killed (its own force-exit comes first). */
const WORKER_STOP_MS = 20_000;
const RESTART_DELAY_MAX_MS = 30_000;
/** A worker that lived at least this long was healthy: the next restart is immediate again. */
const HEALTHY_UPTIME_MS = 10_000;

export type WorkerMessage = { type: 'ready' };

export async function runPrimary(config: Config): Promise<void> {
  const log = pino({ ...(loggerOptions(config.LOG_LEVEL) as object), base: { pid: process.pid, hostname: os.hostname(), worker: 'primary' } });
  let stopping = false;
  const onEarlySignal = () => {
    stopping = true;
  };
  process.on('SIGINT', onEarlySignal).on('SIGTERM', onEarlySignal);

  const { url, embedded } = await prepareDatabase(config);
  // The generated root token is shown by the first worker that listens (claimInitialRootToken in src/server.ts).

  const slots = new Map<number, { worker: Worker; startedAt: number; ready: boolean; failures: number }>();
  let announcedReady = false;
  const fork = (slot: number, failures = 0) => {
    if (stopping) return;
    // The workers use the database the primary prepared (the embedded one's URL included).
    const worker = cluster.fork({ DATABASE_URL: url, WORKER_SLOT: String(slot) });
    slots.set(slot, { worker, startedAt: Date.now(), ready: false, failures });
    log.info({ slot, workerPid: worker.process.pid }, 'worker started');
    worker.on('message', (msg: WorkerMessage) => {
      if (msg?.type !== 'ready') return;
      const entry = slots.get(slot);
      if (entry?.worker === worker) entry.ready = true;
      log.info({ slot, workerPid: worker.process.pid }, 'worker ready');
      if (!announcedReady && [...slots.values()].every((e) => e.ready) && slots.size === config.WORKERS) {
        announcedReady = true;
        log.info({ workers: config.WORKERS, port: config.PORT }, 'all workers ready');
      }
    });
    worker.on('exit', (code, signal) => {
      const entry = slots.get(slot);
      if (entry?.worker !== worker) return;
      if (stopping) {
        slots.delete(slot);
        return;
      }
      const healthy = Date.now() - entry.startedAt >= HEALTHY_UPTIME_MS;
      const nextFailures = healthy ? 0 : entry.failures + 1;
      // A worker that keeps dying at start must not spin: back off.
      const delay = nextFailures === 0 ? 0 : Math.min(500 * 2 ** (nextFailures - 1), RESTART_DELAY_MAX_MS);
      log.error({ slot, workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died; starting a replacement');
      setTimeout(() => fork(slot, nextFailures), delay).unref();
    });
  };

  const stopAll = async (signal: string) => {
    log.info({ signal }, 'shutting down: draining every worker');
    const exits = [...slots.values()].map(
      ({ worker }) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          const kill = setTimeout(() => worker.process.kill('SIGKILL'), WORKER_STOP_MS);
          worker.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          worker.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
    try {
      await embedded?.stop();
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'stopping the embedded PostgreSQL failed');
      process.exit(1);
    }
    process.exit(0);
  };

  process.off('SIGINT', onEarlySignal).off('SIGTERM', onEarlySignal);
  let stopSignal: string | undefined;
  const onSignal = (signal: string) => {
    if (stopSignal) return;
    stopSignal = signal;
    stopping = true;
    void stopAll(signal);
  };
  process.on('SIGINT', () => onSignal('SIGINT')).on('SIGTERM', () => onSignal('SIGTERM'));
  if (stopping) return onSignal('SIGTERM');
  for (let slot = 1; slot <= config.WORKERS; slot++) fork(slot);
}
