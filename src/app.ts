import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import type { Database } from './db/client.js';
import { SecretBox } from './lib/tokens.js';
import { lazyChildLoggerFactory, loggerOptions } from './lib/logger.js';
import compat, { parseQuery, requestIdFrom } from './plugins/compat.js';
import errorHandler from './plugins/error-handler.js';
import auth from './plugins/auth.js';
import rateLimit from './plugins/rate-limit.js';
import routeTable from './plugins/route-table.js';
import { checkResponses } from './lib/route-contract/response-check.js';
import { registerRoutes } from './routes/index.js';
import { startRunnerCache } from './services/runner-cache/runner-cache.js';

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
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    // X-Request-Id is taken from the client only after sanitising (compat.ts).
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']) ?? crypto.randomUUID().replaceAll('-', ''),
    routerOptions: { querystringParser: parseQuery, maxParamLength: 2048, ignoreTrailingSlash: true },
    trustProxy: false,
    childLoggerFactory: lazyChildLoggerFactory,
  });

  const ctx: AppContext = {
    config: opts.config,
    prisma: opts.db.prisma,
    pool: opts.db.pool,
    preparedPool: opts.db.preparedPool,
    secrets: new SecretBox(opts.secretKey),
    log: app.log,
  };
  // Runner and token caches + their LISTEN connection (src/services/runner-cache);
  // closed with the app, which also writes the coalesced heartbeats.
  const runnerCache = await startRunnerCache(ctx);
  app.addHook('onClose', async () => runnerCache.close());
  try {
    await app.register(
      fp(async (instance) => { instance.decorate("ctx", ctx); }, { name: "app-context" }),
    );
    await app.register(errorHandler);
    await app.register(compat);
    await app.register(rateLimit);
    await app.register(auth);
    await app.register(routeTable);
    if (opts.checkResponses) checkResponses(app);
    await registerRoutes(app);
    for (const plugin of opts.extraPlugins ?? []) await app.register(plugin);
  } catch (err) {
    await runnerCache.close().catch(() => undefined);
    throw err;
  }
  return app;
}
