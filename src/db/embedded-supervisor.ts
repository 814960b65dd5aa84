import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { isProcessAlive } from './embedded/postmaster.js';

// Keeps the embedded PostgreSQL running. If its postmaster dies (OOM killer,
// a stray kill, a crash), it is started again on the same DATA_DIR and the
// same port, with backoff, and the pools reconnect by themselves: service
// resumes without restarting the server. If it cannot be started for
// GIVE_UP_AFTER_MS, the supervisor reports `failed`, which /-/liveness turns
// into a 503 so that the process supervisor restarts the whole server.

export type SupervisorState = 'running' | 'restarting' | 'failed';

export interface SupervisorOptions {
  log?: (line: string) => void;
  /** How often the postmaster's pid is checked. */
  checkIntervalMs?: number;
  /** First and largest pause between restart attempts. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** After failing to restart for this long, report `failed`. */
  giveUpAfterMs?: number;
  /** Told of every state change (running → restarting → running | failed). */
  onStateChange?: (state: SupervisorState) => void;
}

export interface SupervisedDatabase extends EmbeddedDatabase {
  state: () => SupervisorState;
  /** How many times the postmaster was restarted. */
  restarts: () => number;
}

function postmasterPidOf(pgDir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSupervisedPostgres(dataDir: string, opts: SupervisorOptions = {}): Promise<SupervisedDatabase> {
  const checkIntervalMs = opts.checkIntervalMs ?? 1000;
  const minBackoffMs = opts.minBackoffMs ?? 250;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const giveUpAfterMs = opts.giveUpAfterMs ?? 120_000;
  const log = opts.log ?? (() => undefined);

  const current = await startEmbeddedPostgres(dataDir, { log: opts.log });
  const port = current.port;
  const pgDir = path.join(path.resolve(dataDir), 'postgres');
  let pid: number | undefined = current.postmaster().pid;
  let state: SupervisorState = 'running';
  let restarts = 0;
  let stopping = false;
  let restarting: Promise<void> | undefined;

  const setState = (next: SupervisorState) => {
    if (next === state) return;
    state = next;
    opts.onStateChange?.(next);
  };

  const restart = async () => {
    setState('restarting');
    const since = Date.now();
    let backoff = minBackoffMs;
    while (!stopping) {
      try {
        log(`embedded PostgreSQL postmaster ${pid ?? '?'} is gone; restarting it on port ${port}`);
        await current.restart();
        pid = current.postmaster().pid;
        restarts++;
        setState('running');
        log(`embedded PostgreSQL restarted (postmaster ${pid ?? '?'})`);
        return;
      } catch (err) {
        log(`embedded PostgreSQL restart failed: ${err instanceof Error ? err.message : String(err)}`);
        if (Date.now() - since >= giveUpAfterMs) setState('failed');
      }
      await sleep(backoff);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    }
  };

  const timer = setInterval(() => {
    if (stopping || restarting) return;
    if (pid !== undefined && isProcessAlive(pid)) return;
    restarting = restart().finally(() => (restarting = undefined));
  }, checkIntervalMs);
  timer.unref();

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    stopping = true;
    clearInterval(timer);
    if (restarting) {
      // A postmaster still starting up (crash recovery can take seconds) is
      // shut down at once (SIGQUIT, immediate shutdown: its next start
      // recovers again), so that shutting down never waits for it.
      const deadPid = pid;
      const interrupt = setInterval(() => {
        const starting = postmasterPidOf(pgDir);
        if (starting !== undefined && starting !== deadPid && isProcessAlive(starting)) {
          try {
            process.kill(starting, 'SIGQUIT');
          } catch {
            // gone already
          }
        }
      }, 50);
      await restarting.finally(() => clearInterval(interrupt));
      pid = postmasterPidOf(pgDir);
    }
    // Stop as soon as the postmaster is gone, even if stop() waits longer.
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearInterval(poll);
        resolve();
      };
      const poll = setInterval(() => {
        if (pid === undefined || !isProcessAlive(pid)) finish();
      }, 50);
      current.stop().then(finish, finish);
    });
  };

  return {
    url: (database) => current.url(database),
    stop: () => (stopped ??= stop()),
    port,
    postmaster: () => current.postmaster(),
    restart: () => current.restart(),
    state: () => state,
    restarts: () => restarts,
  };
}
