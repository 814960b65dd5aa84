// Gitlab::Ci::Trace#being_watched!: while someone reads a running job's log,
// the runner is told to send it every 3 seconds instead of every 60
// (X-GitLab-Trace-Update-Interval). The flag lives in this process only and
// expires on its own, like GitLab's Redis key.

const WATCH_TTL_MS = 10_000;
export const UPDATE_FREQUENCY_DEFAULT = 60;
export const UPDATE_FREQUENCY_WHEN_BEING_WATCHED = 3;

const watchedUntil = new Map<number, number>();

export function markTraceWatched(jobId: number): void {
  const now = Date.now();
  watchedUntil.set(jobId, now + WATCH_TTL_MS);
  // Keep the map small: drop flags that have expired.
  if (watchedUntil.size > 1000) for (const [id, until] of watchedUntil) if (until < now) watchedUntil.delete(id);
}

/** Seconds the runner should wait before its next log update. */
export function traceUpdateInterval(jobId: number): number {
  const until = watchedUntil.get(jobId);
  if (until === undefined) return UPDATE_FREQUENCY_DEFAULT;
  if (until < Date.now()) {
    watchedUntil.delete(jobId);
    return UPDATE_FREQUENCY_DEFAULT;
  }
  return UPDATE_FREQUENCY_WHEN_BEING_WATCHED;
}
