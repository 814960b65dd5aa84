import type pg from 'pg';

// Whether PostgreSQL can be reached, as the requests see it. A request that
// fails because the database is unreachable (refused, reset, shutting down,
// starting up) marks it down; while it is down, API requests are answered
// 503 at once instead of each waiting for its own failed connect, and a
// probe every PROBE_INTERVAL_MS marks it up again as soon as a query works.

const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 2_000;

/** Seconds a client is told to wait (Retry-After) while the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

// SQLSTATE classes and codes that mean "the database cannot serve now",
// not "this request is wrong": connection exceptions (08), operator
// intervention (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
// cannot_connect_now), insufficient resources (53: disk_full, out_of_memory,
// too_many_connections) and I/O errors (58030).
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', 'P1001', 'P1017']);
const UNREACHABLE_MESSAGES = /Connection terminated|connection (?:is )?closed|Client has encountered a connection error|terminating connection|the database system is (?:starting up|shutting down|in recovery mode)|Can't reach database server|Server has closed the connection/i;
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'DatabaseAccessDenied']);

export type Unavailability = 'unreachable' | 'overloaded';

/**
 * Why a thrown error means the database is unavailable, or undefined when it
 * does not: `unreachable` (no connection can be made or kept), `overloaded`
 * (it answers but cannot take this work: disk full, out of memory, too many
 * connections, pool wait timed out, I/O error).
 */
export function databaseUnavailability(err: unknown): Unavailability | undefined {
  let cur: any = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    const code: unknown = cur.code ?? cur.meta?.code ?? cur.originalCode;
    const kind: unknown = cur.kind ?? cur.cause?.kind;
    if (typeof code === 'string') {
      if (UNREACHABLE_CODES.has(code) || code.startsWith('08')) return 'unreachable';
      // 57014: a statement cut by statement_timeout (it outlived its request).
      if (code.startsWith('53') || code === '58030' || code === '57014') return 'overloaded';
    }
    if (typeof kind === 'string' && UNREACHABLE_KINDS.has(kind)) return 'unreachable';
    if (typeof cur.message === 'string') {
      if (UNREACHABLE_MESSAGES.test(cur.message)) return 'unreachable';
      if (/timeout exceeded when trying to connect/i.test(cur.message)) return 'overloaded';
    }
    cur = cur.cause ?? cur.meta?.driverAdapterError ?? cur.originalError;
  }
  return undefined;
}

export class DatabaseAvailability {
  private down = false;
  private probe?: NodeJS.Timeout;
  private closed = false;
  private probing = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly onChange: (up: boolean) => void = () => undefined,
  ) {}

  get up(): boolean {
    return !this.down;
  }

  /** Called with every error a request failed with; marks the database down when it is unreachable. */
  report(err: unknown): Unavailability | undefined {
    const why = databaseUnavailability(err);
    if (why === 'unreachable') this.markDown();
    return why;
  }

  markDown(): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.onChange(false);
    this.probe = setInterval(() => void this.check(), PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  private async check(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS);
      });
      await Promise.race([this.pool.query('SELECT 1'), timeout]);
      if (this.closed) return;
      this.down = false;
      clearInterval(this.probe);
      this.probe = undefined;
      this.onChange(true);
    } catch {
      // still down
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.probe);
  }
}
