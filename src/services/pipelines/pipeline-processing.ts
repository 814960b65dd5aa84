import type { Sql } from './transaction.js';

// Stage-by-stage pipeline processing, as GitLab's ProcessPipelineService does
// for jobs without `needs:`/`when:`: a stage's jobs are queued (`pending`)
// once every earlier stage is complete and none of them failed (a failure
// with allow_failure does not count); after a failure, the jobs of later
// stages are `skipped`. The pipeline's status is the composite of its jobs.

export const FINISHED_STATUSES = ['success', 'failed', 'canceled', 'skipped'] as const;
const finished = new Set<string>(FINISHED_STATUSES);

interface StatusItem {
  status: string;
  allow_failure: boolean;
}

/** Gitlab::Ci::Status::Composite, for the statuses this server produces. */
export function compositeStatus(items: StatusItem[]): { status: string; warnings: boolean } {
  if (items.length === 0) return { status: 'created', warnings: false };
  const set = new Set(items.map((i) => (i.allow_failure && i.status === 'failed' ? 'success_with_warnings' : i.status)));
  const warnings = set.has('success_with_warnings');
  const onlyOf = (...allowed: string[]) => [...set].every((s) => allowed.includes(s));
  const anyOf = (...wanted: string[]) => wanted.some((s) => set.has(s));
  let status: string;
  if (onlyOf('skipped')) status = 'skipped';
  else if (onlyOf('success', 'skipped', 'success_with_warnings')) status = 'success';
  else if (onlyOf('created', 'success_with_warnings')) status = 'created';
  else if (onlyOf('canceled', 'success', 'skipped', 'success_with_warnings')) status = 'canceled';
  else if (onlyOf('pending', 'created', 'skipped', 'success_with_warnings')) status = 'pending';
  else if (anyOf('running', 'pending')) status = 'running';
  else if (anyOf('created')) status = 'running';
  else status = 'failed';
  return { status, warnings };
}

interface JobRow extends StatusItem {
  id: number;
  stage_idx: number;
}

/**
 * Queues the next stage when it is due and recomputes the pipeline status.
 * Locks the pipeline row, so concurrent job updates of one pipeline are
 * processed one after another. Returns how many jobs were queued.
 */
export async function processPipeline(sql: Sql, pipelineId: number): Promise<{ queued: number }> {
  await sql.query('SELECT id FROM pipelines WHERE id = $1 FOR NO KEY UPDATE', [pipelineId]);
  const { rows: jobs } = await sql.query<JobRow>(
    'SELECT id, stage_idx, status, allow_failure FROM jobs WHERE pipeline_id = $1 ORDER BY stage_idx, id',
    [pipelineId],
  );

  const toQueue: number[] = [];
  const toSkip: number[] = [];
  let earlierComplete = true;
  let earlierFailed = false;
  const stages = [...new Set(jobs.map((j) => j.stage_idx))];
  for (const idx of stages) {
    const stageJobs = jobs.filter((j) => j.stage_idx === idx);
    if (earlierComplete) {
      for (const job of stageJobs.filter((j) => j.status === 'created')) {
        if (earlierFailed) {
          job.status = 'skipped';
          toSkip.push(job.id);
        } else {
          job.status = 'pending';
          toQueue.push(job.id);
        }
      }
    }
    earlierComplete &&= stageJobs.every((j) => finished.has(j.status));
    earlierFailed ||= stageJobs.some((j) => (j.status === 'failed' && !j.allow_failure) || j.status === 'canceled');
  }

  if (toQueue.length) {
    await sql.query(
      `UPDATE jobs SET status = 'pending', queued_at = now(), updated_at = now() WHERE id = ANY($1::int[]) AND status = 'created'`,
      [toQueue],
    );
  }
  if (toSkip.length) {
    await sql.query(`UPDATE jobs SET status = 'skipped', updated_at = now() WHERE id = ANY($1::int[]) AND status = 'created'`, [toSkip]);
  }

  const { status } = compositeStatus(jobs);
  await sql.query(
    `UPDATE pipelines SET
       status = $2,
       started_at = CASE WHEN started_at IS NULL AND $2 IN ('running', 'success', 'failed', 'canceled')
                         THEN COALESCE((SELECT min(started_at) FROM jobs WHERE pipeline_id = $1), now()) ELSE started_at END,
       finished_at = CASE WHEN $2 = ANY($3::text[]) THEN COALESCE(finished_at, now()) ELSE NULL END,
       updated_at = CASE WHEN status IS DISTINCT FROM $2 THEN now() ELSE updated_at END
     WHERE id = $1`,
    [pipelineId, status, [...FINISHED_STATUSES]],
  );
  return { queued: toQueue.length };
}
