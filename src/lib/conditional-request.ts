import { preconditionFailed } from './errors.js';

/**
 * GitLab's `check_unmodified_since!` (used by `destroy_conditionally!`): when
 * the request carries a parseable If-Unmodified-Since and the resource was
 * updated after it, answer 412 and change nothing. An unparseable date is
 * ignored, as Rails' `Time.parse rescue nil` does.
 */
export function checkUnmodifiedSince(header: string | string[] | undefined, lastModified: Date | null): void {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !lastModified) return;
  const since = new Date(value);
  if (Number.isNaN(since.getTime())) return;
  if (lastModified.getTime() > since.getTime()) throw preconditionFailed();
}
