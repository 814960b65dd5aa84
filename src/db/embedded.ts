import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { StartupError } from '../lib/startup-error.js';
import { chownTree, ensureLibrarySymlinks, fileSystemError, packagedBuild, probeBuild, runtimeCopy, type PostgresBuild } from './embedded/binaries.js';
import { ensureReachable, isRoot, postgresOsUser, type OsUser } from './embedded/os-user.js';
import { initdb, PortInUseError, startPostmaster, type Cluster, type Postmaster } from './embedded/postmaster.js';

// The PostgreSQL that `npm start` runs when DATABASE_URL is unset, kept in
// DATA_DIR/postgres (docs/embedded-postgres.md). As root it runs as the
// unprivileged `postgres` OS user, from a copy of the binaries inside
// DATA_DIR, and changes no permission outside DATA_DIR.

export type { Cluster, Postmaster, PostmasterExit } from './embedded/postmaster.js';
export { startPostmaster } from './embedded/postmaster.js';

export interface EmbeddedDatabase {
  url: (database: string) => string;
  port: number;
  /** The running postmaster (replaced by restart()). */
  postmaster: () => Postmaster;
  /** Starts PostgreSQL again on the same data directory and port after the postmaster exited; resolves when it accepts connections. */
  restart: () => Promise<void>;
  /** Stops PostgreSQL and releases DATA_DIR. Idempotent. */
  stop: () => Promise<void>;
}

export interface EmbeddedOptions {
  /** false: the cluster is deleted on stop (tests). */
  persistent?: boolean;
  log?: (line: string) => void;
  /** A PostgreSQL build folder (bin/, lib/, share/) instead of the npm package's. */
  build?: PostgresBuild;
  /** Picks the TCP port to try; a port found taken is replaced by another pick, a few times. */
  choosePort?: () => Promise<number>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The command line of a live process, or undefined when it is gone or the
 * platform has no /proc (then we cannot tell and trust the pid file).
 */
function commandLine(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

const hasProc = () => fs.existsSync('/proc/self/cmdline');

/**
 * True when `pid` is alive and (where /proc tells) really is the postmaster of
 * `pgDir`. After a reboot or container restart the pid in a stale
 * postmaster.pid may belong to an unrelated process, which must not be killed.
 */
function isPostmasterOf(pid: number, pgDir: string): boolean {
  if (!isAlive(pid)) return false;
  if (!hasProc()) return true;
  const argv = commandLine(pid);
  if (!argv || !path.basename(argv[0] ?? '').startsWith('postgres')) return false;
  const d = argv.indexOf('-D');
  const dir = d >= 0 ? argv[d + 1] : undefined;
  return dir !== undefined && samePath(dir, pgDir);
}

/** Equal after resolving symlinks (the previous boot may have named DATA_DIR differently). */
function samePath(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

/**
 * A postgres left running by a server that was killed with SIGKILL still holds
 * the data directory. Stop it (fast shutdown) so that we can start our own;
 * PostgreSQL's crash recovery handles anything it had not flushed.
 */
async function stopOrphanedPostmaster(pgDir: string): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostmasterOf(pid, pgDir)) return;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 300 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

/**
 * One process per data directory. Without this, a second server started on
 * the same DATA_DIR would take the first one's postgres for an orphan and
 * stop it. The lock names the owner's pid; a lock whose owner is dead (the
 * server was SIGKILLed) is simply taken over.
 */
function acquireDataDirLock(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'server.pid');
  const owner = fs.existsSync(lockFile) ? Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10) : NaN;
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
    // With /proc, a reused pid of some unrelated program does not count;
    // without it we cannot tell and respect the lock.
    const argv = commandLine(owner);
    const ownerIsNode = !hasProc() || (argv !== undefined && argv.some((a) => /node|tsx/.test(path.basename(a))));
    if (ownerIsNode) throw new StartupError(`Data directory ${dataDir} is in use by process ${owner}; stop it first or use another DATA_DIR`);
  }
  fs.writeFileSync(lockFile, String(process.pid), { mode: 0o600 });
  return () => {
    try {
      if (fs.readFileSync(lockFile, 'utf8').trim() === String(process.pid)) fs.rmSync(lockFile, { force: true });
    } catch {
      // already gone
    }
  };
}

const SUPERUSER = 'postgres';
const PORT_ATTEMPTS = 5;
const POSTGRES_FLAGS = ['-c', 'max_connections=200'];

/** UTF-8 collation as the machine offers it, so that new clusters sort and case-fold text alike everywhere. */
function clusterLocale(): string {
  for (const dir of ['/usr/lib/locale/C.utf8', '/usr/lib/locale/C.UTF-8']) if (fs.existsSync(dir)) return 'C.UTF-8';
  return 'C';
}

async function pickPort(choose: () => Promise<number>): Promise<number> {
  try {
    return await choose();
  } catch (err) {
    throw new StartupError(
      `Embedded PostgreSQL: no free TCP port on 127.0.0.1 (${(err as NodeJS.ErrnoException).code ?? String(err)}). Fix: free some ports (close idle connections or processes), or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  }
}

/**
 * Starts the postmaster on a port from `choose`, picking again when the
 * port was taken before PostgreSQL could bind it.
 */
async function startOnFreePort(cluster: Cluster, choose: () => Promise<number>): Promise<Postmaster> {
  const tried: number[] = [];
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await pickPort(choose);
    tried.push(port);
    try {
      return await startPostmaster(cluster, port, POSTGRES_FLAGS);
    } catch (err) {
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw new StartupError(
    `Embedded PostgreSQL: every port tried was already in use (${tried.join(', ')}). Fix: free some ports on 127.0.0.1, or set DATABASE_URL to an existing PostgreSQL server.`,
  );
}

/**
 * Gets DATA_DIR/postgres ready to start: the user that runs it, the build it
 * runs from, an initialised cluster of the build's major version.
 */
async function prepareCluster(dataDir: string, password: string, opts: EmbeddedOptions): Promise<Cluster> {
  const pgDir = path.join(dataDir, 'postgres');
  const user: OsUser | undefined = isRoot() ? postgresOsUser() : undefined;
  if (user) ensureReachable(dataDir, user);
  let build = opts.build ?? packagedBuild();
  if (user) {
    build = runtimeCopy(build, dataDir, user);
  } else {
    try {
      ensureLibrarySymlinks(build.nativeDir);
    } catch {
      // A read-only install (another user's node_modules): run from our own copy.
      build = runtimeCopy(build, dataDir, undefined);
    }
  }
  const major = probeBuild(build, user);
  const versionFile = path.join(pgDir, 'PG_VERSION');
  const cluster: Cluster = { pgDir, nativeDir: build.nativeDir, user, log: opts.log };
  try {
    if (fs.existsSync(versionFile)) {
      const found = fs.readFileSync(versionFile, 'utf8').trim();
      if (found !== String(major)) {
        throw new StartupError(
          `Embedded PostgreSQL: ${pgDir} holds a PostgreSQL ${found} cluster and this server runs PostgreSQL ${major}. ` +
            `Fix: set DATA_DIR to a new folder, or dump the data with PostgreSQL ${found}'s pg_dump, move ${pgDir} away and restore it after the first start.`,
        );
      }
      // A cluster made by a non-root run (or copied in) changes hands.
      if (user && fs.statSync(pgDir).uid !== user.uid) chownTree(pgDir, user);
      return cluster;
    }
    // A half-initialised cluster (initdb interrupted) is started over.
    fs.rmSync(pgDir, { recursive: true, force: true });
    fs.mkdirSync(pgDir, { mode: 0o700 });
    if (user) fs.chownSync(pgDir, user.uid, user.gid);
  } catch (err) {
    throw fileSystemError(err, `preparing ${pgDir}`);
  }
  // initdb reads the password from a file only its user can read, removed right after.
  const passwordFile = path.join(dataDir, `.initdb-password-${process.pid}`);
  try {
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (user) fs.chownSync(passwordFile, user.uid, user.gid);
    await initdb(cluster, passwordFile, { superuser: SUPERUSER, locale: clusterLocale() });
  } catch (err) {
    // Nothing half-made stays behind to confuse the next start.
    fs.rmSync(pgDir, { recursive: true, force: true });
    throw fileSystemError(err, `initialising ${pgDir}`);
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
  return cluster;
}

function readOrCreatePassword(dataDir: string): string {
  const passwordFile = path.join(dataDir, 'postgres-password');
  if (!fs.existsSync(passwordFile)) {
    fs.writeFileSync(passwordFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return fs.readFileSync(passwordFile, 'utf8').trim();
}

/**
 * Starts (initialising on first use) the PostgreSQL cluster kept under
 * `dataDir/postgres`. Every failure is a StartupError whose message is one
 * line naming the cause and the fix.
 */
export async function startEmbeddedPostgres(dataDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  let password: string;
  try {
    fs.mkdirSync(root, { recursive: true });
    password = readOrCreatePassword(root);
  } catch (err) {
    throw fileSystemError(err, `creating DATA_DIR ${root}`);
  }
  const releaseLock = acquireDataDirLock(root);
  const choose = opts.choosePort ?? freePort;
  let postmaster: Postmaster;
  let cluster: Cluster;
  try {
    await stopOrphanedPostmaster(path.join(root, 'postgres'));
    cluster = await prepareCluster(root, password, opts);
    postmaster = await startOnFreePort(cluster, choose);
  } catch (err) {
    // Nothing was left running: the postmaster either never started or exited.
    releaseLock();
    throw err instanceof StartupError ? err : fileSystemError(err, `starting PostgreSQL in ${root}`);
  }
  const port = postmaster.port;
  let stopped: Promise<void> | undefined;
  return {
    url: (database) => `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    postmaster: () => postmaster,
    restart: async () => {
      if (stopped) throw new Error('the embedded PostgreSQL was stopped');
      await postmaster.stop();
      // The same port, so that connection strings already handed out stay valid.
      postmaster = await startPostmaster(cluster, port, POSTGRES_FLAGS);
    },
    stop: () =>
      (stopped ??= (async () => {
        try {
          await postmaster.stop();
          if (opts.persistent === false) fs.rmSync(cluster.pgDir, { recursive: true, force: true });
        } finally {
          releaseLock();
        }
      })()),
  };
}
