import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { StartupError } from '../../lib/startup-error.js';

// PostgreSQL refuses to run as root. A server started as root runs it as
// this unprivileged OS user (Debian's postgresql packages use the same name),
// creating the user when it does not exist.

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export const POSTGRES_OS_USER = 'postgres';

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function lookUp(name: string): OsUser | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { name, uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
}

/** The unprivileged user that runs the cluster when we are root; created (a system user without a login) when missing. */
export function postgresOsUser(name = POSTGRES_OS_USER): OsUser {
  const existing = lookUp(name);
  if (existing) return existing;
  const groupExists = spawnSync('getent', ['group', name]).status === 0;
  const args = ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin'];
  const res = spawnSync('useradd', [...args, ...(groupExists ? ['--gid', name] : ['--user-group']), name], { encoding: 'utf8' });
  const created = lookUp(name);
  if (!created) {
    const why = res.error ? ((res.error as NodeJS.ErrnoException).code ?? res.error.message) : (res.stderr ?? '').trim().split('\n')[0];
    throw new StartupError(
      `Embedded PostgreSQL: running as root needs an unprivileged OS user '${name}', and creating it failed (${why || `useradd exit ${res.status}`}). ` +
        `Fix: create it (\`useradd --system --user-group ${name}\`), run the server as a non-root user, or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  }
  return created;
}

/**
 * Can `user` enter `dir`? Asked of the kernel by a shell running as that
 * user: owner, group, mode bits and ACLs all count, as they will for PostgreSQL.
 * Node drops supplementary groups when it switches user, and so does this check.
 */
export function canEnter(dir: string, user: OsUser): boolean {
  const res = spawnSync('/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  return res.status === 0;
}

/** The outermost folder on the way to `dir` that `user` cannot enter, or undefined when it reaches `dir`. */
export function firstBlockedFolder(dir: string, user: OsUser): string | undefined {
  if (canEnter(dir, user)) return undefined;
  const chain: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  return chain.find((d) => !canEnter(d, user)) ?? dir;
}

/**
 * Makes sure `user` can reach `dataDir`, changing nothing outside it: when
 * only DATA_DIR itself is closed (as `mktemp -d` makes it), it gets o+x;
 * a closed folder above it is reported with the fix.
 */
export function ensureReachable(dataDir: string, user: OsUser): void {
  const blocked = firstBlockedFolder(dataDir, user);
  if (blocked === undefined) return;
  if (blocked === dataDir) {
    fs.chmodSync(dataDir, fs.statSync(dataDir).mode | 0o001);
    if (canEnter(dataDir, user)) return;
  }
  throw new StartupError(
    `Embedded PostgreSQL: DATA_DIR ${dataDir} is not reachable by the '${user.name}' OS user that runs PostgreSQL when the server runs as root ` +
      `(it cannot enter ${blocked}). Fix: set DATA_DIR to a folder outside ${blocked} (for example DATA_DIR=/var/lib/gitlab-runners-api), ` +
      'run the server as a non-root user, or set DATABASE_URL to an existing PostgreSQL server.',
  );
}
