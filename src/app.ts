import crypto from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import type { Database } from './db/client.js';
import { DatabaseAvailability } from './db/availability.js';
import { SecretBox } from './lib/tokens.js';
import { clientErrorHandler, registerHandlerTimeout, timedServerFactory } from './lib/request-timeouts.js';
import { lazyChildLoggerFactory, loggerOptions } from './lib/logger.js';
import compat, { parseQuery, requestIdFrom } from './plugins/compat.js';
import errorHandler from './plugins/error-handler.js';
import requestLog from './plugins/request-log.js';
import auth from './plugins/auth.js';
import auditContext from './plugins/audit-context.js';
import rateLimit from './plugins/rate-limit.js';
import routeTable from './plugins/route-table.js';
import metrics from './plugins/metrics.js';
import { checkResponses } from './lib/route-contract/response-check.js';
import { registerRoutes } from './routes/index.js';
import { startRunnerCache } from './services/runner-cache/runner-cache.js';
import { setSessionConnectionConfig } from './db/session-connection.js';
import { runAsLeader } from './services/background/leader.js';
import { startStaleRunnerPruning } from './services/runners/stale-runner-pruner.js';
import { sweepStuckJobs } from './services/jobs/stuck-job-sweeper.js';

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext;
  }
}

export interface BuildAppOptions {
  config: Config;
  db: Database;
  secretKey: string;
  logger?: FastifyServerOptions['logger'] | false;
  /** A pino stream, for tests that inspect the log output. */
  loggerStream?: NodeJS.WritableStream;
  /** The embedded PostgreSQL's supervisor, when there is one (liveness reports its state). */
  databaseSupervisor?: AppContext['databaseSupervisor'];
  /** Registered after the routes, behind the same hooks; tests use it for probe routes. */
  extraPlugins?: FastifyPluginAsync[];
  /** Check every response against its route contract (src/lib/route-contract/response-check.ts); the test apps turn it on. */
  checkResponses?: boolean;
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const logger =
    opts.logger === false
      ? false
      : { ...(loggerOptions(opts.config.LOG_LEVEL) as object), ...(opts.loggerStream ? { stream: opts.loggerStream } : {}) };
  const app = Fastify({
    logger,
    bodyLimit: opts.config.BODY_LIMIT,
    requestTimeout: opts.config.REQUEST_TIMEOUT_MS,
    // Node checks headersTimeout / requestTimeout every 30 s unless told otherwise.
    serverFactory: timedServerFactory({ headersTimeoutMs: opts.config.REQUEST_HEADERS_TIMEOUT_MS, requestTimeoutMs: opts.config.REQUEST_TIMEOUT_MS }),
    clientErrorHandler,
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    // X-Request-Id is taken from the client only after sanitising (compat.ts).
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']) ?? crypto.randomUUID().replaceAll('-', ''),
    routerOptions: { querystringParser: parseQuery, maxParamLength: 2048, ignoreTrailingSlash: true },
    // X-Forwarded-For/-Proto/-Host count only from TRUSTED_PROXIES (loopback
    // and private ranges by default); request.ip, .protocol and .host follow.
    trustProxy: opts.config.TRUSTED_PROXIES.length > 0 ? opts.config.TRUSTED_PROXIES : false,
    childLoggerFactory: lazyChildLoggerFactory,
    // One line per request instead (src/plugins/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
  });

  const ctx: AppContext = {
    config: opts.config,
    prisma: opts.db.prisma,
    pool: opts.db.pool,
    preparedPool: opts.db.preparedPool,
    session: opts.db.session,
    probe: opts.db.probe,
    secrets: new SecretBox(opts.secretKey),
    log: app.log,
    availability: new DatabaseAvailability(opts.db.pool, (up) =>
      up ? app.log.info('database reachable again') : app.log.warn('database unreachable: API requests answer 503 until it is back'),
    ),
    databaseSupervisor: opts.databaseSupervisor,
  };
  app.addHook('onClose', async () => ctx.availability.close());
  setSessionConnectionConfig(opts.db.session);
  // Stuck and timed-out jobs are failed by one instance at a time.
  if (opts.config.JOB_SWEEP_INTERVAL_SECONDS > 0) {
    const sweeper = runAsLeader('stuck-jobs', opts.config.JOB_SWEEP_INTERVAL_SECONDS * 1000, async () => void (await sweepStuckJobs(ctx)), {
      log: (msg, err) => (err ? app.log.warn({ err }, msg) : app.log.info(msg)),
    });
    app.addHook('onClose', async () => sweeper.stop());
  }
  // Runner and token caches + their LISTEN connection (src/services/runner-cache);
  // closed with the app, which also writes the coalesced heartbeats.
  const runnerCache = await startRunnerCache(ctx);
  app.addHook('onClose', async () => runnerCache.close());
  try {
    await app.register(
      fp(async (instance) => { instance.decorate("ctx", ctx); }, { name: "app-context" }),
    );
    await app.register(errorHandler);
    await app.register(requestLog);
    // A poll held on purpose (long polling) may take its hold on top of the limit.
    const longPollMs = opts.config.JOB_REQUEST_LONG_POLL_SECONDS * 1000;
    registerHandlerTimeout(app, (url) => opts.config.REQUEST_TIMEOUT_MS + (url === '/api/v4/jobs/request' ? longPollMs : 0));
    await app.register(compat);
    await app.register(rateLimit);
    await app.register(auth);
    await app.register(auditContext);
    await app.register(routeTable);
    await app.register(metrics);
    if (opts.checkResponses) checkResponses(app);
    await registerRoutes(app);
    for (const plugin of opts.extraPlugins ?? []) await app.register(plugin);
  } catch (err) {
    await runnerCache.close().catch(() => undefined);
    throw err;
  }
  // Scheduled stale-runner pruning (one leader across instances); stopped before the pool closes.
  const pruning = startStaleRunnerPruning(ctx);
  if (pruning) app.addHook('onClose', async () => pruning.stop());
  return app;
}
