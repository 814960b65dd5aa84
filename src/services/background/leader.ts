import type pg from 'pg';

// Work that one server instance of many must do (scheduled pruning): each
// tick, the instance that takes a PostgreSQL advisory lock named after the
// task runs it; the others skip that tick. The lock is a session lock on one
// pooled connection, released when the task ends (or when the connection
// dies), so a crashed leader never blocks the others.

/** First key of the two-key advisory locks taken here (the second is hashtext(name)). */
const LEADER_LOCK_CLASS = 1_684_366_707;

export interface LeaderHandle {
  stop(): Promise<void>;
}

export interface LeaderOptions {
  pool: pg.Pool;
  onError?: (err: unknown) => void;
}

let defaults: LeaderOptions | undefined;

/** The pool (and error sink) runAsLeader uses; set once per process by the app. */
export function configureLeader(opts: LeaderOptions): void {
  defaults = opts;
}

export function runAsLeader(name: string, intervalMs: number, task: () => Promise<void>, opts: LeaderOptions | undefined = defaults): LeaderHandle {
  if (!opts) throw new Error('runAsLeader: no pool configured');
  const { pool, onError = () => undefined } = opts;
  let stopped = false;
  let running: Promise<void> | undefined;

  const tick = async () => {
    const client = await pool.connect();
    let locked = false;
    try {
      const res = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LEADER_LOCK_CLASS, name]);
      locked = res.rows[0]?.ok === true;
      if (locked && !stopped) await task();
    } finally {
      if (locked) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LEADER_LOCK_CLASS, name]).catch(() => undefined);
      client.release();
    }
  };

  const timer = setInterval(() => {
    if (stopped || running) return;
    running = tick()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
