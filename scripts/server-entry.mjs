// Prints the node arguments that run the server, for the start script
// (`exec node <V8 flags> $(node scripts/server-entry.mjs || echo --import tsx src/server.ts)`):
//   - `dist/server.mjs` when it was built from the current src/ (`npm ci` builds it);
//   - `--import tsx src/server.ts` when it is missing or older than src/ (a checkout whose
//     src/ was edited): the same server, compiled as it loads. Starting never writes into
//     the installation (docs/scaling.md: any number of instances start from one checkout),
//     so a stale bundle is reported, not rebuilt: `npm run build` rebuilds it.
import { BUNDLE, bundleIsCurrent, ROOT } from './server-build.mjs';
import path from 'node:path';

const bundle = path.relative(ROOT, BUNDLE);
if (bundleIsCurrent()) {
  process.stdout.write(`${bundle}\n`);
} else {
  process.stderr.write(`${bundle} is missing or older than src/: running src/server.ts through tsx (run \`npm run build\` to use the bundle).\n`);
  process.stdout.write('--import tsx src/server.ts\n');
}
