// Prints the node arguments that run the server, for the start script
// (`exec node <V8 flags> $(node scripts/server-entry.mjs || echo --import tsx src/server.ts)`):
//   - `dist/server.mjs` when it was built from the current src/ (or could be
//     rebuilt now: a checkout whose src/ was edited);
//   - `--import tsx src/server.ts` when it is stale and cannot be rebuilt (a
//     read-only installation, no esbuild): the same server, compiled as it loads.
import { BUNDLE, buildServer, bundleIsCurrent, ROOT, sourceStamp } from './server-build.mjs';
import path from 'node:path';

const bundle = path.relative(ROOT, BUNDLE);
let args = bundle;
try {
  const stamp = sourceStamp();
  if (!bundleIsCurrent(stamp)) await buildServer(stamp);
} catch (err) {
  process.stderr.write(`Running src/server.ts through tsx: ${path.relative(ROOT, BUNDLE)} could not be built (${err instanceof Error ? err.message : err}).\n`);
  args = '--import tsx src/server.ts';
}
process.stdout.write(`${args}\n`);
