import type { AppContext } from '../../context.js';
import type { Runner } from '../../generated/prisma/client.js';
import { anyMatchingJobSql } from '../jobs/job-matching.js';

// What a poll needs from the database when memory cannot answer it, for
// many polls in one statement: the runner (by token digest), its group, the
// stored manager for the poll's system_id, and whether a job it may take is
// pending.
//
// Lookups are batched like the heartbeat writes: a lookup starts a query at
// once if fewer than MAX_IN_FLIGHT are running; otherwise it waits and goes
// with everything that queued up meanwhile. A single poll pays no extra
// latency; a herd of runners reconnecting after a restart costs a few
// queries instead of one per runner.

const MAX_IN_FLIGHT = 3;
const MAX_BATCH = 500;

export interface PollRow extends Runner {
  group_id: number | null;
  pending_job: boolean;
  m_id: number | null;
  m_version: string | null;
  m_revision: string | null;
  m_platform: string | null;
  m_architecture: string | null;
  m_executor_type: string | null;
  m_ip_address: string | null;
  m_config: unknown;
  m_runtime_features: unknown;
  m_labels: unknown;
}

const POLL_SQL = `
SELECT q.i, r.*, rn.namespace_id AS group_id,
       m.id AS m_id, m.version AS m_version, m.revision AS m_revision, m.platform AS m_platform,
       m.architecture AS m_architecture, m.executor_type AS m_executor_type, m.ip_address AS m_ip_address,
       m.config AS m_config, m.runtime_features AS m_runtime_features, m.labels AS m_labels,
       ${anyMatchingJobSql()} AS pending_job
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(digest, system_xid, i)
JOIN runners r ON r.token_digest = q.digest
LEFT JOIN runner_namespaces rn ON rn.runner_id = r.id
LEFT JOIN runner_managers m ON m.runner_id = r.id AND m.system_xid = q.system_xid`;

interface Lookup {
  digest: string;
  systemXid: string;
  resolve: (row: PollRow | null) => void;
  reject: (err: unknown) => void;
}

class PollLoader {
  private queue: Lookup[] = [];
  private inFlight = 0;

  constructor(private readonly ctx: AppContext) {}

  load(digest: string, systemXid: string): Promise<PollRow | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ digest, systemXid, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Lookup[]): Promise<void> {
    try {
      // A named statement: planned once per connection (planning costs more than running it).
      const { rows } = await this.ctx.pool.query<PollRow & { i: string }>({
        name: 'runner-poll',
        text: POLL_SQL,
        values: [batch.map((l) => l.digest), batch.map((l) => l.systemXid)],
      });
      const byIndex = new Map(rows.map(({ i, ...row }) => [Number(i), row as PollRow]));
      batch.forEach((l, n) => l.resolve(byIndex.get(n + 1) ?? null));
    } catch (err) {
      for (const l of batch) l.reject(err);
    }
  }
}

const loaders = new WeakMap<AppContext, PollLoader>();

/** The poll facts for one token digest, or null when no runner has it. */
export function loadPollRow(ctx: AppContext, digest: string, systemXid: string): Promise<PollRow | null> {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new PollLoader(ctx);
    loaders.set(ctx, loader);
  }
  return loader.load(digest, systemXid);
}
