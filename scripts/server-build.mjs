// The server as one ES module, dist/server.mjs: src/ bundled by esbuild (the
// compiler tsx itself uses), packages left to node_modules. Running it saves
// what the tsx loader keeps for the process's life: a module-hooks thread
// with its own V8 heap, an esbuild service child process, the source maps of
// every module (bench/README.md, "Memory", has the numbers).
//
// `npm ci` (prepare:env) and `npm run build` build it; the start script
// (scripts/server-entry.mjs) only checks that it is current. Written to a temporary
// file and renamed, so that instances starting at once never read half a file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = path.join(ROOT, 'dist', 'server.mjs');
const STAMP = path.join(ROOT, 'dist', 'server.stamp');

/** A digest of every file under src/ (paths and contents) and of the esbuild version. */
export function sourceStamp() {
  const hash = crypto.createHash('sha256');
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(`${path.relative(ROOT, full)}\0`).update(fs.readFileSync(full)).update('\0');
    }
  };
  walk(path.join(ROOT, 'src'));
  return `${hash.digest('hex')} esbuild@${esbuildVersion()}\n`;
}

function esbuildVersion() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
}

/** True when dist/server.mjs was built from the current src/. */
export function bundleIsCurrent(stamp = sourceStamp()) {
  try {
    return fs.readFileSync(STAMP, 'utf8') === stamp && fs.existsSync(BUNDLE);
  } catch {
    return false;
  }
}

export async function buildServer(stamp = sourceStamp()) {
  const esbuild = await import('esbuild');
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(BUNDLE), { recursive: true });
  try {
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'src', 'server.ts')],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    fs.renameSync(tmp, BUNDLE);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const stampTmp = `${STAMP}.${process.pid}.tmp`;
  fs.writeFileSync(stampTmp, stamp);
  fs.renameSync(stampTmp, STAMP);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // `npm ci` runs this (prepare:env) where there are no sources yet too: the
  // container's dependency stage. The start script builds what is missing.
  if (fs.existsSync(path.join(ROOT, 'src', 'server.ts'))) await buildServer();
  else process.stdout.write('server-build: no src/server.ts here; nothing to build\n');
}
