import cluster from 'node:cluster';
import { runPrimary } from './cluster.js';
import { loadConfig } from './config.js';
import { claimInitialRootToken } from './db/bootstrap.js';
import { loadDotEnvFile } from './lib/env-file.js';
import { StartupError } from './lib/startup-error.js';
import { startRuntime, type Runtime } from './runtime.js';

// The process entry point (`npm start`). It owns shutdown: on SIGTERM/SIGINT
// it stops accepting connections, lets in-flight requests finish, closes the
// pool and only then stops the embedded PostgreSQL, and exits 0.
// With WORKERS > 1 this process is the cluster's primary (src/cluster.ts) and
// each worker runs main() below on the database the primary prepared.

const FORCE_EXIT_MS = 15_000;

async function main() {
  const config = loadConfig();

  let runtime: Runtime | undefined;
  let stopping: string | undefined;
  const stop = async (code: number) => {
    const force = setTimeout(() => process.exit(1), FORCE_EXIT_MS);
    force.unref();
    try {
      await runtime?.close();
      process.exit(code);
    } catch (err) {
      process.stderr.write(`Error during shutdown: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  };
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = signal;
    // During startup there is nothing to close yet; main() notices `stopping`
    // as soon as the runtime exists (so no postgres is left behind).
    if (runtime) {
      runtime.app.log.info({ signal }, 'shutting down');
      void stop(0);
    }
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const worker = cluster.isWorker;
  if (worker) {
    // The primary is gone (killed): nobody would replace or stop us.
    cluster.worker!.on('disconnect', () => onSignal('disconnect'));
  }
  runtime = await startRuntime(config, { skipMigrations: worker });
  const { app, boot, db } = runtime;
  // A signal that arrived during startup could not close anything yet.
  if (stopping) return stop(0);
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    process.stderr.write(`Failed to listen on ${config.HOST}:${config.PORT}: ${err instanceof Error ? err.message : String(err)}\n`);
    return stop(1);
  }
  if (worker) process.send?.({ type: 'ready' });
  // Shown only now that the server is usable, by the first boot (or worker)
  // that gets this far (a first boot that failed above left it for the next
  // one); written to stdout, never logged.
  const rootToken = await claimInitialRootToken(db, boot.secretKey);
  if (rootToken) {
    process.stdout.write(`\nInitial root personal access token (shown once, save it now): ${rootToken}\n\n`);
  }
}

function entry(): Promise<void> {
  // Before any configuration is read, by the primary and by each worker.
  loadDotEnvFile();
  if (cluster.isPrimary) {
    const config = loadConfig();
    if (config.WORKERS > 1) {
      return runPrimary(config);
    }
  }
  return main();
}

entry().catch((err) => {
  // A StartupError is one line that already says what to do; anything else is a bug and keeps its stack.
  const detail = err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Failed to start: ${detail}\n`);
  process.exit(1);
});
