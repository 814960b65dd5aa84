import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PageParams } from '../domain/pagination.js';
import { paramError } from './errors.js';

// GitLab's offset pagination (docs.gitlab.com/api/rest/#pagination), in one helper: headers,
// a Link whose URLs carry every parameter, and counts capped at 10,000.

export const COUNT_LIMIT = 10_000;

export interface PageSource<T> {
  /** Count rows, stopping at `limit` (callers use LIMIT in SQL). */
  count: (limit: number) => Promise<number>;
  items: (offset: number, limit: number) => Promise<T[]>;
  /**
   * The page and the capped count in one statement, where the source can
   * (`total` undefined: it could not, e.g. past the last page, and count() is asked).
   */
  itemsWithCount?: (offset: number, limit: number, countLimit: number) => Promise<{ items: T[]; total: number | undefined }>;
}

/**
 * Values that are expensive to compute and may be a moment old, e.g. the
 * capped count of a big list: 10,001 index entries (or heap rows, with
 * filters no index covers) on every request, while under load the same few
 * lists are counted again and again. A value is reused for `ttlMs` when
 * `keep(value)` says so (callers keep only what was expensive: small counts
 * are cheap and stay exact). For `staleMs` after that it is still answered
 * at once while one refresh runs in the background, so no request waits for
 * a recomputation that many requests would otherwise queue behind: a value
 * is at most ttlMs + staleMs (+ one computation) old. Concurrent requests
 * for one key share one computation; a failed computation is not kept.
 */
export class ShortLivedCache<T> {
  private readonly entries = new Map<string, { value: T; fresh: number; usable: number }>();
  private readonly pending = new Map<string, Promise<T>>();

  constructor(
    readonly ttlMs = 1_000,
    readonly staleMs = 1_000,
    private readonly maxEntries = 1_000,
  ) {}

  get(key: string, compute: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.fresh > now) return Promise.resolve(hit.value);
    if (hit && hit.usable > now) {
      // Answered from the old value; a failed refresh just drops it.
      this.refresh(key, compute, keep).catch(() => undefined);
      return Promise.resolve(hit.value);
    }
    return this.refresh(key, compute, keep);
  }

  /** Whether `key` has a value get() would answer at once (fresh, or stale while it refreshes). */
  has(key: string): boolean {
    const hit = this.entries.get(key);
    return hit !== undefined && hit.usable > Date.now();
  }

  private store(key: string, value: T, keep: (value: T) => boolean): void {
    this.entries.delete(key);
    if (!keep(value)) return;
    // Oldest first: a Map iterates in insertion order.
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const at = Date.now();
    this.entries.set(key, { value, fresh: at + this.ttlMs, usable: at + this.ttlMs + this.staleMs });
  }

  private refresh(key: string, compute: () => Promise<T>, keep: (value: T) => boolean): Promise<T> {
    const running = this.pending.get(key);
    if (running) return running;
    const promise = compute()
      .then((value) => {
        this.store(key, value, keep);
        return value;
      })
      .catch((err: unknown) => {
        this.entries.delete(key);
        throw err;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return promise;
  }
}

export function baseUrl(request: FastifyRequest, externalUrl?: string): string {
  if (externalUrl) return externalUrl.replace(/\/+$/, '');
  // Forwarded scheme and host only from a trusted proxy (TRUSTED_PROXIES, app.ts).
  const proto = request.protocol;
  const host = request.host;
  return `${proto}://${host}`;
}

/** Ruby's CGI.escape: only `a-zA-Z0-9_.-~` stay, a space becomes `+`. */
const cgiEscape = (s: string) =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

/**
 * Rails `Hash#to_query`, which GitLab's Link header uses: `key=value` pieces,
 * arrays as `key%5B%5D=a&key%5B%5D=b` in their order, empty arrays and
 * null/undefined left out, pieces sorted bytewise.
 */
export function toQuery(params: Record<string, unknown>, namespace?: string): string {
  return queryPieces(params, namespace).sort().join('&');
}

/** toQuery's pieces, unsorted. */
function queryPieces(params: Record<string, unknown>, namespace?: string): string[] {
  const pieces: string[] = [];
  for (const [rawKey, value] of Object.entries(params)) {
    const key = namespace ? `${namespace}[${rawKey}]` : rawKey;
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      pieces.push(value.map((v) => `${cgiEscape(`${key}[]`)}=${cgiEscape(String(v))}`).join('&'));
    } else if (value instanceof Date) {
      pieces.push(`${cgiEscape(key)}=${cgiEscape(value.toISOString())}`);
    } else if (typeof value === 'object') {
      const nested = toQuery(value as Record<string, unknown>, key);
      if (nested) pieces.push(nested);
    } else {
      pieces.push(`${cgiEscape(key)}=${cgiEscape(String(value))}`);
    }
  }
  return pieces;
}

export function linkUrl(request: FastifyRequest, externalUrl: string | undefined, params: Record<string, unknown>): string {
  const path = request.url.split('?')[0]!;
  const query = toQuery(params);
  return `${baseUrl(request, externalUrl)}${path}${query ? `?${query}` : ''}`;
}

/**
 * Fetches one page and sets X-* and Link headers. `params` are the parsed
 * request parameters that go into every Link URL (page/per_page replaced).
 */
export async function paginate<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  page: PageParams,
  params: Record<string, unknown>,
  source: PageSource<T>,
  opts: { externalUrl?: string; skipCount?: boolean } = {},
): Promise<T[]> {
  const { page: pageNo, per_page: perPage } = page;
  const offset = (pageNo - 1) * perPage;
  let total: number | undefined;
  let rows: T[];
  if (source.itemsWithCount && !opts.skipCount && perPage > 0) {
    // One extra row tells whether a next page exists without a count.
    ({ items: rows, total } = await source.itemsWithCount(offset, perPage + 1, COUNT_LIMIT + 1));
    total ??= await source.count(COUNT_LIMIT + 1);
  } else {
    [total, rows] = await Promise.all([
      opts.skipCount ? Promise.resolve(undefined) : source.count(COUNT_LIMIT + 1),
      perPage === 0 ? Promise.resolve([] as T[]) : source.items(offset, perPage + 1),
    ]);
  }
  const hasNext = rows.length > perPage;
  const items = rows.slice(0, perPage);
  const counted = total !== undefined && total <= COUNT_LIMIT;
  const totalPages = counted ? Math.max(1, perPage === 0 ? 1 : Math.ceil(total! / perPage)) : undefined;

  // linkUrl({ ...params, page: n, per_page: perPage }) for each n, with the other parameters escaped once.
  const { page: _page, per_page: _perPage, ...others } = params;
  const otherPieces = queryPieces(others);
  const path = `${baseUrl(request, opts.externalUrl)}${request.url.split('?')[0]!}?`;
  const url = (n: number) => `${path}${[...otherPieces, `page=${n}`, `per_page=${perPage}`].sort().join('&')}`;
  const links: string[] = [];
  if (pageNo > 1) links.push(`<${url(pageNo - 1)}>; rel="prev"`);
  if (hasNext) links.push(`<${url(pageNo + 1)}>; rel="next"`);
  links.push(`<${url(1)}>; rel="first"`);
  if (counted) links.push(`<${url(totalPages!)}>; rel="last"`);

  reply.header('link', links.join(', '));
  reply.header('x-per-page', String(perPage));
  reply.header('x-page', String(pageNo));
  reply.header('x-next-page', hasNext ? String(pageNo + 1) : '');
  reply.header('x-prev-page', pageNo > 1 ? String(pageNo - 1) : '');
  if (counted) {
    reply.header('x-total', String(total));
    reply.header('x-total-pages', String(totalPages));
  }
  return items;
}

// ---------------------------------------------------------------- keyset

/** GitLab's keyset cursor: url-safe base64 of {"id":"<last id>","_kd":"n"}. */
export const encodeIdCursor = (id: number) => Buffer.from(JSON.stringify({ id: String(id), _kd: 'n' })).toString('base64url');

/** The id a cursor continues after; a cursor this server did not make → 400 {"error":"cursor is invalid"}. */
export function decodeIdCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { id?: unknown };
    const id = Number(parsed.id);
    if (Number.isSafeInteger(id) && id >= 0) return id;
  } catch {
    // fall through
  }
  throw paramError('cursor is invalid');
}

/**
 * Keyset mode (`pagination=keyset`): one page of `perPage` rows from the
 * `perPage + 1` the caller fetched past the cursor, and `Link: <…>;
 * rel="next"` carrying the next cursor when there is more. No X-Total*,
 * X-Page or rel="last": GitLab sends none in keyset mode.
 */
export function keysetPage<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  params: Record<string, unknown>,
  rows: T[],
  perPage: number,
  opts: { externalUrl?: string; idOf: (row: T) => number },
): T[] {
  const items = rows.slice(0, perPage);
  if (rows.length > perPage && items.length > 0) {
    const last = items[items.length - 1]!;
    const cursor = encodeIdCursor(opts.idOf(last));
    reply.header('link', `<${linkUrl(request, opts.externalUrl, { ...params, page: undefined, cursor })}>; rel="next"`);
  }
  return items;
}
