import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { MISSING_DIRECT_URL, pooledUrl } from './db/urls.js';
import { DEFAULT_METRICS_ALLOWED_IPS, parseAllowList } from './lib/metrics/allow-list.js';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Rails' ActionDispatch::RemoteIp::TRUSTED_PROXIES: loopback, private and unique-local ranges. */
export const DEFAULT_TRUSTED_PROXIES = ['127.0.0.0/8', '::1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

function isAddressOrRange(item: string): boolean {
  const [addr, bits, extra] = item.split('/');
  if (extra !== undefined || !addr) return false;
  const family = net.isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: optionalString,
  /**
   * A direct connection to PostgreSQL for work that needs a session of its own
   * (migrations' advisory lock, LISTEN/NOTIFY, leader locks) when DATABASE_URL
   * leads to a transaction-mode pooler (marked ?pgbouncer=true). Prisma's `directUrl`.
   */
  DATABASE_DIRECT_URL: optionalString,
  /** Connections per pool and process (see docs/scaling.md for the budget). */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  /** Processes serving the port (node:cluster); `auto` = os.availableParallelism(). */
  WORKERS: z
    .string()
    .default('1')
    .transform((v, ctx) => {
      const t = v.trim().toLowerCase();
      if (t === 'auto') return os.availableParallelism();
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1 || n > 1024) {
        ctx.addIssue({ code: 'custom', message: 'must be a whole number from 1 to 1024, or auto' });
        return z.NEVER;
      }
      return n;
    }),
  /**
   * Whose X-Forwarded-For/-Proto/-Host is believed: comma-separated addresses
   * and CIDR ranges; empty = nobody. Default: loopback and private ranges,
   * as Rails' ActionDispatch::RemoteIp (GitLab's default).
   */
  TRUSTED_PROXIES: z
    .string()
    .default(DEFAULT_TRUSTED_PROXIES.join(','))
    .transform((v, ctx) => {
      const list = v.split(',').map((x) => x.trim()).filter(Boolean);
      for (const item of list) {
        if (!isAddressOrRange(item)) {
          ctx.addIssue({ code: 'custom', message: `not an IP address or CIDR range: ${item}` });
          return z.NEVER;
        }
      }
      return list;
    }),
  DATA_DIR: z.string().default('./.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EXTERNAL_URL: optionalString,
  INITIAL_ROOT_TOKEN: optionalString,
  GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: optionalString,
  SECRET_KEY: optionalString,
  BODY_LIMIT: z.coerce.number().int().positive().default(1024 * 1024),
  /** The whole request (headers and body) must arrive within this, and a handler running longer answers 503. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** The request headers must arrive within this (capped at REQUEST_TIMEOUT_MS). */
  REQUEST_HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** POST /jobs/request: how long to hold a poll whose last_update is current (0 = answer 204 at once). */
  JOB_REQUEST_LONG_POLL_SECONDS: z.coerce.number().min(0).max(50).default(0),
  /** A job whose log would grow past this many bytes is dropped (GitLab: trace_size_exceeded). */
  JOB_TRACE_SIZE_LIMIT: z.coerce.number().int().positive().default(100 * 1024 * 1024),
  /** A running job whose runner sent nothing (PUT or trace PATCH) for this long fails with stuck_or_timeout_failure (GitLab: 1 hour). */
  STUCK_JOB_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(3600),
  /** A pending job no runner took for this long fails with stuck_or_timeout_failure (GitLab: 1 day). */
  PENDING_JOB_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(86_400),
  /** How often the background sweeper (one leader across instances) looks for stuck jobs; 0 turns it off. */
  JOB_SWEEP_INTERVAL_SECONDS: z.coerce.number().min(0).default(60),
  /** Per-client-address limits (src/plugins/rate-limit.ts); 'false' turns both off. */
  RATE_LIMIT_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Requests per minute and address to the runner-token endpoints (register, verify, reset, unregister). */
  RATE_LIMIT_TOKEN_ENDPOINTS_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** Failed sign-ins (401 with credentials) per minute and address before further sign-ins get 429. */
  RATE_LIMIT_FAILED_AUTH_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Who may read /-/metrics: addresses and CIDR ranges, comma-separated (GitLab's monitoring allow-list). */
  METRICS_ALLOWED_IPS: z
    .string()
    .default(DEFAULT_METRICS_ALLOWED_IPS)
    .superRefine((v, c) => {
      try {
        parseAllowList(v);
      } catch (err) {
        c.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** How old the runner/manager/job counts of /-/metrics may get before a scrape refreshes them (in the background). */
  METRICS_GAUGE_REFRESH_SECONDS: z.coerce.number().positive().default(30),
  /** How often the scheduled stale-runner pruning looks for work (docs/fleet-management.md); 0 turns the job off. */
  STALE_RUNNER_PRUNING_INTERVAL_SECONDS: z.coerce.number().min(0).default(3600),
});

export type Config = z.infer<typeof ConfigSchema> & { dataDir: string };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${detail}`);
  }
  if (parsed.data.INITIAL_ROOT_TOKEN && parsed.data.INITIAL_ROOT_TOKEN.length < 20) {
    throw new Error('Invalid configuration: INITIAL_ROOT_TOKEN must be at least 20 characters');
  }
  if (parsed.data.DATABASE_URL && pooledUrl(parsed.data.DATABASE_URL).pooled && !parsed.data.DATABASE_DIRECT_URL) {
    throw new Error(`Invalid configuration: ${MISSING_DIRECT_URL}`);
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) };
}
