import { loadConfig } from './config.js';
import { startRuntime } from './runtime.js';

async function main() {
  const config = loadConfig();
  const runtime = await startRuntime(config);
  const { app, boot } = runtime;
  if (boot.generatedRootToken) {
    // Printed once, on the boot that created root; never logged.
    process.stdout.write(`\nInitial root personal access token (shown once, save it now): ${boot.generatedRootToken}\n\n`);
  }
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await runtime.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ port: config.PORT, host: config.HOST });
}

main().catch((err) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
