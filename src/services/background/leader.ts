import crypto from 'node:crypto';
import type pg from 'pg';
import { openSessionConnection } from '../../db/session-connection.js';

// Background work that must run on one instance only, however many share the
// database: each instance tries a PostgreSQL session-level advisory lock
// named after the task; the one that holds it is the leader and runs the
// task every `intervalMs`. If the leader dies or loses its connection, the
// lock goes with its session and another instance takes over on its next
// try. The task itself must be safe to run twice (a new leader may start
// while the old one's last run is still committing): conditional updates.

export interface Leadership {
  stop(): Promise<void>;
}

export interface LeaderOptions {
  /** Opens the session that holds the lock (default: src/db/session-connection.ts). */
  connect?: () => Promise<pg.Client>;
  /** Told about task failures and leadership changes. */
  log?: (msg: string, err?: unknown) => void;
}

/** Advisory lock keys are two int4s: a fixed class for this server, and the task's name hashed. */
const LOCK_CLASS = 0x676c7262; // "glrb"
const lockKey = (name: string) => crypto.createHash('sha256').update(name).digest().readInt32BE(0);

export function runAsLeader(name: string, intervalMs: number, task: () => Promise<void>, opts: LeaderOptions = {}): Leadership {
  const connect = opts.connect ?? (() => openSessionConnection());
  const log = opts.log ?? (() => undefined);
  const key = lockKey(name);
  let session: pg.Client | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  /** Holding the lock on `session` (session locks stack: take it once). */
  let leading = false;

  const dropSession = async () => {
    const s = session;
    session = undefined;
    leading = false;
    await s?.end().catch(() => undefined);
  };

  const tick = async () => {
    try {
      if (!session) {
        const s = await connect();
        if (stopped) {
          await s.end().catch(() => undefined);
          return;
        }
        // A session that dies (database restart) takes the lock with it: connect again next time.
        s.on('end', () => {
          if (session === s) {
            session = undefined;
            leading = false;
          }
        });
        session = s;
      }
      if (!leading) {
        const { rows } = await session.query<{ leader: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS leader', [LOCK_CLASS, key]);
        if (!rows[0]?.leader) return;
        leading = true;
        log(`leading background task ${name}`);
      } else {
        // Still connected (and so still holding the lock)?
        await session.query('SELECT 1');
      }
      await task();
    } catch (err) {
      log(`background task ${name} failed`, err);
      // The session may be broken; a fresh one next time (the lock is released with it).
      await dropSession();
    }
  };

  const loop = () => {
    if (stopped) return;
    running = tick().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, intervalMs);
      timer?.unref();
    });
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(loop, 0);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      // Ending the session releases the lock.
      await dropSession();
    },
  };
}
