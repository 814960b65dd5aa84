import { loadConfig } from './config.js';
import { StartupError } from './lib/startup-error.js';
import { startRuntime, type Runtime } from './runtime.js';

// The process entry point (`npm start`). It owns shutdown: on SIGTERM/SIGINT
// it stops accepting connections, lets in-flight requests finish, closes the
// pool and only then stops the embedded PostgreSQL, and exits 0.

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

  runtime = await startRuntime(config);
  const { app, boot } = runtime;
  if (boot.generatedRootToken) {
    // Printed once, on the boot that created root, before anything else can
    // fail (it is never shown again); never logged.
    process.stdout.write(`\nInitial root personal access token (shown once, save it now): ${boot.generatedRootToken}\n\n`);
  }
  // A signal that arrived during startup could not close anything yet.
  if (stopping) return stop(0);
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    process.stderr.write(`Failed to listen on ${config.HOST}:${config.PORT}: ${err instanceof Error ? err.message : String(err)}\n`);
    return stop(1);
  }
}

main().catch((err) => {
  // A StartupError is one line that already says what to do; anything else is a bug and keeps its stack.
  const detail = err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Failed to start: ${detail}\n`);
  process.exit(1);
});
