// Which URL each kind of database work uses (docs/scaling.md).

/**
 * DATABASE_URL marked `pgbouncer=true` (Prisma's convention for a pooler in
 * transaction mode, https://www.prisma.io/docs/guides/performance-and-optimization/connection-management/configure-pg-bouncer):
 * consecutive transactions of one pooled client may run on different server
 * connections, so nothing that lives in a server session may be relied on:
 * no named prepared statements and no session settings. The mark is removed
 * before the URL reaches the driver.
 */
export function pooledUrl(url: string): { url: string; pooled: boolean } {
  try {
    const parsed = new URL(url);
    const mark = parsed.searchParams.get('pgbouncer');
    if (mark === null) return { url, pooled: false };
    parsed.searchParams.delete('pgbouncer');
    return { url: parsed.toString(), pooled: mark === 'true' };
  } catch {
    return { url, pooled: false };
  }
}

/** The error `npm start` stops with when a pooled DATABASE_URL has no direct URL beside it. */
export const MISSING_DIRECT_URL =
  'DATABASE_URL is marked ?pgbouncer=true (a transaction-mode pooler) but DATABASE_DIRECT_URL is not set: set DATABASE_DIRECT_URL to a direct connection to PostgreSQL (not through the pooler), used for migrations, locks and LISTEN';

/** The URL for session work (migrations' advisory lock): DATABASE_DIRECT_URL when set, else DATABASE_URL. */
export function sessionUrl(url: string, directUrl?: string): string {
  if (!directUrl && pooledUrl(url).pooled) throw new Error(MISSING_DIRECT_URL);
  return pooledUrl(directUrl ?? url).url;
}
