/**
 * A failure to start that the operator can fix. Its message is one line that
 * names the cause and the fix; the entry point prints it without a stack
 * trace and exits 1 (src/server.ts).
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
