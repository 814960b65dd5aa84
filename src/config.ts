import path from 'node:path';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: optionalString,
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
  return { ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) };
}
