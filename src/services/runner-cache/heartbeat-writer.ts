import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { CREATION_STATE } from '../runners/runner-core.js';
import { isContactOnly, type ManagerDetailsUpdate } from './manager-details.js';

// Ci::Runner#heartbeat + ensure_manager + RunnerManager#heartbeat for many
// polls at once (README, Performance design: contacted_at may lag by up to a minute).
//
//  - A plain contact (same manager, same details) is only remembered, and
//    written with everything else pending every FLUSH_INTERVAL_MS.
//  - A contact that must be visible at once (a manager this instance has not
//    written yet, changed details, a first contact, a runner whose creation
//    finishes) waits for a write, but concurrent ones share it: whatever is
//    pending when a write starts goes into that one statement (group commit),
//    so 32 new runners polling at once cost one round trip, not 32.
//
// Each write is ONE set-based statement over unnest() arrays: it updates the
// runners' contacted_at and upserts their managers, never moves contacted_at
// backwards, and skips runners deleted meanwhile. Writes are serialized, so
// two of this instance's writes never lock rows in opposite orders; a
// deadlock with another instance is retried.

export const FLUSH_INTERVAL_MS = 10_000;
/** Changed details and contacts that change a runner's status are written this soon. */
export const SOON_MS = 1000;
/** Rows per statement (and per transaction's row locks); more pending rows are written in several statements. */
const MAX_BATCH = 1000;
const DEADLOCK_RETRIES = 3;

export interface ManagerHeartbeat {
  runnerId: number;
  systemXid: string;
  details: ManagerDetailsUpdate;
  at: Date;
  finishCreation: boolean;
}

interface Pending {
  hb: ManagerHeartbeat;
  waiters: { resolve: (managerId: number | null) => void; reject: (err: unknown) => void }[];
}

const keyOf = (runnerId: number, systemXid: string) => `${runnerId}\u0000${systemXid}`;

/** A newer heartbeat on top of an older one for the same manager. */
function merge(older: ManagerHeartbeat, newer: ManagerHeartbeat): ManagerHeartbeat {
  if (!newer.finishCreation && isContactOnly(newer.details)) {
    // A plain contact (the common case): only the time can move.
    if (newer.at > older.at) older.at = newer.at;
    return older;
  }
  const details = { ...older.details };
  for (const [k, v] of Object.entries(newer.details) as [keyof ManagerDetailsUpdate, string | null][]) if (v !== null) details[k] = v;
  return {
    runnerId: newer.runnerId,
    systemXid: newer.systemXid,
    details,
    at: newer.at > older.at ? newer.at : older.at,
    finishCreation: older.finishCreation || newer.finishCreation,
  };
}

const UPSERT_SQL = `
WITH v AS (
  SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::jsonb[], $10::jsonb[], $11::jsonb[], $12::timestamptz[], $13::boolean[])
    AS v(runner_id, system_xid, version, revision, platform, architecture, executor_type, ip_address,
         config, runtime_features, labels, contacted_at, finish_creation)
),
touched AS (
  UPDATE runners r SET
    contacted_at = GREATEST(r.contacted_at, x.contacted_at),
    creation_state = CASE WHEN x.finish_creation THEN ${CREATION_STATE.finished} ELSE r.creation_state END
  FROM (SELECT runner_id, max(contacted_at) AS contacted_at, bool_or(finish_creation) AS finish_creation FROM v GROUP BY runner_id) x
  WHERE r.id = x.runner_id
  RETURNING r.id
)
INSERT INTO runner_managers AS rm
  (runner_id, system_xid, version, revision, platform, architecture, executor_type, ip_address,
   config, runtime_features, labels, contacted_at, creation_state, created_at, updated_at)
SELECT v.runner_id, v.system_xid, v.version, v.revision, v.platform, v.architecture, v.executor_type, v.ip_address,
       v.config, v.runtime_features, v.labels, v.contacted_at, ${CREATION_STATE.finished}, v.contacted_at, v.contacted_at
FROM v JOIN touched ON touched.id = v.runner_id
ON CONFLICT (runner_id, system_xid) DO UPDATE SET
  version = COALESCE(EXCLUDED.version, rm.version),
  revision = COALESCE(EXCLUDED.revision, rm.revision),
  platform = COALESCE(EXCLUDED.platform, rm.platform),
  architecture = COALESCE(EXCLUDED.architecture, rm.architecture),
  executor_type = COALESCE(EXCLUDED.executor_type, rm.executor_type),
  ip_address = COALESCE(EXCLUDED.ip_address, rm.ip_address),
  config = COALESCE(EXCLUDED.config, rm.config),
  runtime_features = COALESCE(EXCLUDED.runtime_features, rm.runtime_features),
  labels = COALESCE(EXCLUDED.labels, rm.labels),
  contacted_at = GREATEST(rm.contacted_at, EXCLUDED.contacted_at),
  creation_state = EXCLUDED.creation_state,
  updated_at = GREATEST(rm.updated_at, EXCLUDED.updated_at)
RETURNING rm.id, rm.runner_id, rm.system_xid`;

export class HeartbeatWriter {
  private pending = new Map<string, Pending>();
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Number of heartbeats waiting for the next write. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Remembers a contact; it is written with the next flush, or within SOON_MS with `soon`. */
  touch(hb: ManagerHeartbeat, opts: { soon?: boolean } = {}): void {
    this.add(hb);
    if (opts.soon && !this.soonTimer && !this.closed) {
      this.soonTimer = setTimeout(() => {
        this.soonTimer = undefined;
        void this.flush();
      }, SOON_MS);
      this.soonTimer.unref();
    }
  }

  /** Writes the heartbeat (sharing the statement with whatever else is pending); resolves with the manager id, or null if the runner is gone. */
  writeNow(hb: ManagerHeartbeat): Promise<number | null> {
    return new Promise((resolve, reject) => {
      this.add(hb).waiters.push({ resolve, reject });
      void this.flush();
    });
  }

  /** Writes everything pending; resolves when nothing queued before the call is left unwritten. */
  async flush(): Promise<void> {
    if (this.pending.size === 0 && !this.writing) return;
    while (this.pending.size > 0 || this.writing) {
      if (this.writing) {
        await this.writing;
        continue;
      }
      this.writing = this.writeAll().finally(() => {
        this.writing = null;
      });
      await this.writing;
    }
  }

  /** Stops the timer and writes what is left (server shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
    await this.flush().catch((err) => this.log.error({ err }, 'runner heartbeats could not be written on shutdown'));
  }

  private add(hb: ManagerHeartbeat): Pending {
    const key = keyOf(hb.runnerId, hb.systemXid);
    const existing = this.pending.get(key);
    if (existing) {
      existing.hb = merge(existing.hb, hb);
      return existing;
    }
    const entry: Pending = { hb, waiters: [] };
    this.pending.set(key, entry);
    return entry;
  }

  private async writeAll(): Promise<void> {
    const batch = [...this.pending.values()].slice(0, MAX_BATCH);
    for (const p of batch) this.pending.delete(keyOf(p.hb.runnerId, p.hb.systemXid));
    // Stable order: fewer lock-order conflicts with other instances' writes.
    batch.sort((a, b) => a.hb.runnerId - b.hb.runnerId || (a.hb.systemXid < b.hb.systemXid ? -1 : 1));
    let ids: Map<string, number>;
    try {
      ids = await this.write(batch.map((p) => p.hb));
    } catch (err) {
      this.log.error({ err }, 'runner heartbeats could not be written');
      for (const p of batch) {
        for (const w of p.waiters) w.reject(err);
        // Plain contacts are kept for the next flush (newer ones win).
        if (p.waiters.length === 0) {
          const again = this.pending.get(keyOf(p.hb.runnerId, p.hb.systemXid));
          if (again) again.hb = merge(p.hb, again.hb);
          else this.pending.set(keyOf(p.hb.runnerId, p.hb.systemXid), { hb: p.hb, waiters: [] });
        }
      }
      return;
    }
    for (const p of batch) {
      const id = ids.get(keyOf(p.hb.runnerId, p.hb.systemXid)) ?? null;
      for (const w of p.waiters) w.resolve(id);
    }
  }

  private async write(rows: ManagerHeartbeat[]): Promise<Map<string, number>> {
    const col = <T>(f: (hb: ManagerHeartbeat) => T) => rows.map(f);
    const params = [
      col((h) => h.runnerId),
      col((h) => h.systemXid),
      col((h) => h.details.version),
      col((h) => h.details.revision),
      col((h) => h.details.platform),
      col((h) => h.details.architecture),
      col((h) => h.details.executor_type),
      col((h) => h.details.ip_address),
      col((h) => h.details.config),
      col((h) => h.details.runtime_features),
      col((h) => h.details.labels),
      col((h) => h.at),
      col((h) => h.finishCreation),
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        // A named statement: planned once per connection, not on every write.
        const { rows: written } = await this.pool.query<{ id: number; runner_id: number; system_xid: string }>({
          name: 'runner-heartbeats',
          text: UPSERT_SQL,
          values: params,
        });
        return new Map(written.map((r) => [keyOf(r.runner_id, r.system_xid), r.id]));
      } catch (err) {
        const code = (err as { code?: string }).code;
        // 40P01 deadlock, 40001 serialization failure, 23503 a runner deleted between the UPDATE and the INSERT.
        if (attempt < DEADLOCK_RETRIES && (code === '40P01' || code === '40001' || code === '23503')) continue;
        throw err;
      }
    }
  }
}
