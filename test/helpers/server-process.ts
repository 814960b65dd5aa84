import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../src/db/embedded.js';

// Runs src/server.ts as a separate process the README way (what `npm start`
// runs, or `npm start` itself; embedded PostgreSQL under a DATA_DIR), for
// tests about boots, restarts, signals and crashes.

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * How the process is started: `node` runs what the start script runs
 * (`node --import tsx src/server.ts`), so the child is the server itself;
 * `npm-start` runs `npm start` with its prestart check (which only reads), so
 * the child is npm.
 */
export type Launch = 'node' | 'npm-start';
const COMMANDS: Record<Launch, [string, string[]]> = {
  node: [process.execPath, ['--import', 'tsx', 'src/server.ts']],
  'npm-start': ['npm', ['start']],
};
/** `node` from another working directory (where the server looks for `.env`). */
const nodeElsewhere = (): [string, string[]] => [
  process.execPath,
  ['--import', pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, path.join(ROOT, 'src', 'server.ts')],
];

export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function waitForDeath(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !isAlive(pid);
}

export const postmasterPid = (dataDir: string): number | undefined => {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return fs.existsSync(file) ? Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0]!, 10) : undefined;
};

/** The node process running src/server.ts (npm runs it as its child); it writes its pid into the data dir. */
export const serverPid = (dataDir: string): number => Number.parseInt(fs.readFileSync(path.join(dataDir, 'server.pid'), 'utf8'), 10);

export function spawnServer(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
  launch: Launch = 'node',
  opts: { cwd?: string; unset?: string[] } = {},
): ServerProcess {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  for (const key of ['DATABASE_URL', 'INITIAL_ROOT_TOKEN', 'SECRET_KEY', 'GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN', 'EXTERNAL_URL', 'NODE_OPTIONS']) {
    // Empty rather than unset: a variable set in the environment, even empty, wins over a `.env` in the checkout.
    fullEnv[key] = '';
  }
  Object.assign(fullEnv, env);
  for (const key of opts.unset ?? []) delete fullEnv[key];
  const [command, args] = opts.cwd && launch === 'node' ? nodeElsewhere() : COMMANDS[launch];
  const proc = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, port, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exit };
}

/** Spawns the server and waits until /-/readiness answers 200. */
export async function startServer(dataDir: string, env: Record<string, string> = {}, launch: Launch = 'node'): Promise<ServerProcess> {
  const server = spawnServer(dataDir, await freePort(), env, launch);
  let exited = false;
  void server.exit.then(() => (exited = true));
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${server.url}/-/readiness`);
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready.\nstdout:\n${server.stdout()}\nstderr:\n${server.stderr()}`);
}

/** Is `pid` a server of `dataDir` (and not a process that reused the pid)? */
function runsIn(pid: number, dataDir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`DATA_DIR=${dataDir}`);
  } catch {
    return false;
  }
}

/** Stops whatever a test left running in `dataDir`: its server processes and its PostgreSQL. */
export async function cleanupServers(dataDir: string, procs: ChildProcess[]): Promise<void> {
  // A launcher (npm) killed without passing the signal on would leave the
  // node process running src/server.ts orphaned and listening. That one is
  // found by its pid file.
  let server: number | undefined;
  try {
    server = serverPid(dataDir);
  } catch {
    // No pid file: the server never got that far.
  }
  if (server && isAlive(server) && runsIn(server, dataDir)) {
    process.kill(server, 'SIGKILL');
    await waitForDeath(server);
  }
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  const pid = postmasterPid(dataDir);
  if (pid && isAlive(pid)) {
    process.kill(pid, 'SIGINT');
    await waitForDeath(pid);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}
