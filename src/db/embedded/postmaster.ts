import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { StartupError } from '../../lib/startup-error.js';
import { binary, lastMeaningfulLine } from './binaries.js';
import type { OsUser } from './os-user.js';

// Runs initdb and the postmaster as child processes. Every way they can fail
// (spawn errors included, which would otherwise be an unhandled 'error'
// event) ends in a StartupError with one line naming the cause and the fix.

/** A data directory and the build and user that run it. */
export interface Cluster {
  /** DATA_DIR/postgres */
  pgDir: string;
  nativeDir: string;
  /** The unprivileged user when the server runs as root; undefined: this process's user. */
  user: OsUser | undefined;
  log?: (line: string) => void;
}

export interface PostmasterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Postmaster {
  pid: number;
  port: number;
  /** Resolves when the postmaster has exited, for whatever reason (stop() included). */
  exited: Promise<PostmasterExit>;
  /** Fast shutdown (SIGINT); resolves when it has exited. Idempotent. */
  stop: () => Promise<void>;
}

/** The port was taken between choosing it and binding it: the caller picks another. */
export class PortInUseError extends Error {}

const READY_TIMEOUT_MS = 120_000;
const TAIL_LINES = 40;

/** C messages: the lines below are matched in English, whatever the machine's locale. */
const childEnv = (): NodeJS.ProcessEnv => ({ ...process.env, LC_MESSAGES: 'C', LC_ALL: undefined });

function collectOutput(child: ChildProcess, log?: (line: string) => void): () => string {
  const tail: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      log?.(line);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return () => tail.join('\n');
}

function spawnFailure(err: NodeJS.ErrnoException, file: string, user: OsUser | undefined): StartupError {
  const who = user ? `the '${user.name}' OS user` : 'this user';
  const what = err.code === 'ENOENT' ? `${file} is missing` : `${who} cannot run ${file} (${err.code ?? err.message})`;
  return new StartupError(
    `Embedded PostgreSQL: ${what}. Fix: reinstall the dependencies (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
  );
}

/** What a postgres/initdb that exited said, turned into the cause and the fix. */
export function explainExit(tool: string, output: string, pgDir: string, exit: PostmasterExit): Error {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  if (/Address already in use|could not create any TCP\/IP sockets/.test(output)) return new PortInUseError(output);
  if (/No space left on device/i.test(output)) {
    return new StartupError(
      `Embedded PostgreSQL: the disk is full: ${tool} could not write to ${pgDir} (No space left on device). Fix: free some space, or set DATA_DIR to a folder on a disk with room (about 150 MB).`,
    );
  }
  if (/database files are incompatible with server/.test(output)) {
    return new StartupError(
      `Embedded PostgreSQL: ${pgDir} was created by another PostgreSQL version (${lastMeaningfulLine(output)}). Fix: set DATA_DIR to a new folder, or move ${pgDir} away after dumping it with that version's pg_dump.`,
    );
  }
  const shared = /error while loading shared libraries: ([^:]+)/.exec(output);
  if (shared) {
    return new StartupError(
      `Embedded PostgreSQL: ${tool} cannot load the library ${shared[1]}. Fix: reinstall the dependencies (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  }
  if (/wrong ownership|invalid permissions/.test(output)) {
    return new StartupError(
      `Embedded PostgreSQL: ${lastMeaningfulLine(output)}. Fix: give ${pgDir} to the user that runs PostgreSQL (it must be mode 700), or set DATA_DIR to a new folder.`,
    );
  }
  const said = lastMeaningfulLine(output);
  return new StartupError(
    `Embedded PostgreSQL: ${tool} failed (${how})${said ? `: ${said}` : ''}. Fix: correct what PostgreSQL names above, set DATA_DIR to a new folder, or set DATABASE_URL to an existing PostgreSQL server.`,
  );
}

function waitForExit(child: ChildProcess): Promise<PostmasterExit & { error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** initdb into `cluster.pgDir` (empty, owned by the cluster's user). */
export async function initdb(cluster: Cluster, passwordFile: string, opts: { superuser: string; locale: string }): Promise<void> {
  const file = binary(cluster.nativeDir, 'initdb');
  const child = spawn(
    file,
    [
      `--pgdata=${cluster.pgDir}`,
      '--auth=password',
      `--username=${opts.superuser}`,
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      `--locale=${opts.locale}`,
      '--lc-messages=C',
    ],
    { uid: cluster.user?.uid, gid: cluster.user?.gid, cwd: path.dirname(cluster.pgDir), env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collectOutput(child, cluster.log);
  const exit = await waitForExit(child);
  if (exit.error) throw spawnFailure(exit.error, file, cluster.user);
  if (exit.code !== 0) {
    const err = explainExit('initdb', output(), cluster.pgDir, exit);
    throw err instanceof PortInUseError ? new StartupError(`Embedded PostgreSQL: initdb failed: ${lastMeaningfulLine(output())}`) : err;
  }
}

/**
 * Whether process `pid` exists. EPERM counts as alive: it is owned by another
 * user (the postgres user when the server runs as root).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Line 8 of postmaster.pid is the postmaster's status; "ready" once it accepts connections. */
function pidFileSaysReady(pgDir: string, pid: number): boolean {
  try {
    const lines = fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n');
    return Number.parseInt(lines[0] ?? '', 10) === pid && (lines[7] ?? '').trim() === 'ready';
  } catch {
    return false;
  }
}

/**
 * Starts the postmaster on an initialised data directory and resolves once
 * it accepts connections. Rejects with a PortInUseError when `port` is taken
 * and with a StartupError for anything else. The postmaster runs in its own
 * process group, so a Ctrl-C in the terminal reaches only the server, which
 * stops PostgreSQL after draining its requests.
 */
export async function startPostmaster(cluster: Cluster, port: number, flags: string[] = []): Promise<Postmaster> {
  const file = binary(cluster.nativeDir, 'postgres');
  const child = spawn(
    file,
    ['-D', cluster.pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...flags],
    { uid: cluster.user?.uid, gid: cluster.user?.gid, cwd: path.dirname(cluster.pgDir), env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const output = collectOutput(child, cluster.log);
  const exitWithError = waitForExit(child);
  const exited: Promise<PostmasterExit> = exitWithError.then(({ code, signal }) => ({ code, signal }));
  // If this process exits without stopping it (process.exit in a shutdown
  // path), PostgreSQL still gets its fast-shutdown signal.
  const onProcessExit = () => child.kill('SIGINT');
  process.once('exit', onProcessExit);
  void exited.then(() => process.removeListener('exit', onProcessExit));

  const ready = await new Promise<'ready' | 'exited' | 'timeout'>((resolve) => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const poll = setInterval(() => {
      if (child.pid !== undefined && pidFileSaysReady(cluster.pgDir, child.pid)) finish('ready');
      else if (Date.now() > deadline) finish('timeout');
    }, 25);
    const finish = (r: 'ready' | 'exited' | 'timeout') => {
      clearInterval(poll);
      resolve(r);
    };
    void exitWithError.then(() => finish('exited'));
  });
  if (ready === 'exited') {
    const exit = await exitWithError;
    if (exit.error) throw spawnFailure(exit.error, file, cluster.user);
    throw explainExit('postgres', output(), cluster.pgDir, exit);
  }
  if (ready === 'timeout') {
    child.kill('SIGQUIT');
    await exited;
    throw new StartupError(
      `Embedded PostgreSQL: postgres did not become ready within ${READY_TIMEOUT_MS / 1000} s${lastMeaningfulLine(output()) ? ` (last said: ${lastMeaningfulLine(output())})` : ''}. Fix: check that the machine is not overloaded and that ${cluster.pgDir} is on a working disk, or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  }
  // Ready: from now on its output goes to the log only.
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    port,
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
      })()),
  };
}
