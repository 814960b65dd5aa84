import cluster from 'node:cluster';
import os from 'node:os';
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import { redactUrl } from './redact-url.js';

// Tokens travel in headers, in the query string (private_token, token) and
// in bodies. Request logs carry only method, a scrubbed URL and the
// non-secret headers; bodies are never logged.

/** The URL with credentials in its query redacted by parsed key (redact-url.ts). */
export const scrubUrl = (url: string) => redactUrl(url);

/** With WORKERS > 1, a worker's number (1…WORKERS, kept by its replacement) for its log lines (src/cluster.ts). */
export const workerSlot = (): number | undefined => (cluster.isWorker ? Number(process.env.WORKER_SLOT) || cluster.worker?.id : undefined);

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  const worker = workerSlot();
  return {
    level,
    ...(worker === undefined ? {} : { base: { pid: process.pid, hostname: os.hostname(), worker } }),
    redact: {
      paths: [
        'req.headers["private-token"]',
        'req.headers.authorization',
        'req.headers["job-token"]',
        'req.headers["runner-token"]',
        'req.headers.cookie',
        // Anything else that logs a headers object one level down, e.g.
        // @fastify/multipart's trace line { busboyOptions: { headers } }.
        '*.headers["private-token"]',
        '*.headers.authorization',
        '*.headers["job-token"]',
        '*.headers["runner-token"]',
        '*.headers.cookie',
        'token',
        'body.token',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req(req) {
        return { method: req.method, url: scrubUrl(req.url), remoteAddress: req.ip, requestId: req.id };
      },
    },
  };
}

type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogFn = (...args: unknown[]) => void;

/**
 * A request's logger, made only when something is logged. Fastify gives
 * every request a pino child (with the request id bound, and the redaction
 * setup copied), which is a measurable share of a poll answered from memory,
 * while at the default level nearly no request logs anything.
 */
class LazyChildLogger {
  private made?: FastifyBaseLogger;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly opts: object,
  ) {}

  private get logger(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.opts));
  }

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  private write(level: LogLevel, args: unknown[]): void {
    // pino answers isLevelEnabled; any other logger (Fastify's no-op one with
    // `logger: false`) just gets its child made.
    const parent = this.parent as unknown as { isLevelEnabled?: (l: string) => boolean };
    if (!this.made && typeof parent.isLevelEnabled === 'function' && !parent.isLevelEnabled(level)) return;
    (this.logger[level] as LogFn)(...args);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, opts?: object): FastifyBaseLogger {
    return this.logger.child(bindings, opts);
  }
}

/** Fastify's childLoggerFactory: a LazyChildLogger per request. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Record<string, unknown>, opts: object): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
}
