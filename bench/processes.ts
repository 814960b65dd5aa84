import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './config.js';

// Child processes of a bench run (the server under test and the reference
// servers), their memory, and the cleanup that must happen however the run
// ends: normal exit, a thrown error, Ctrl-C or SIGTERM.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resident set size of a process and all its descendants, in bytes (0 if gone). */
export function treeRssBytes(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name
      // (field 2) may contain spaces, so parse after its closing paren.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process exited while we were reading /proc.
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      continue;
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (0 if gone). */
export function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields 14 and 15 (utime, stime, in clock ticks); field 2 may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}
/** sysconf(_SC_CLK_TCK): 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SEC = 100;

/** Samples a process tree's RSS until stopped; reports peak and mean in MB. */
export class RssSampler {
  private peak = 0;
  private sum = 0;
  private count = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: () => number | undefined, intervalMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample() {
    const pid = this.pid();
    if (pid === undefined) return;
    const rss = treeRssBytes(pid);
    if (rss === 0) return;
    this.peak = Math.max(this.peak, rss);
    this.sum += rss;
    this.count++;
  }

  stop(): { peakMB: number | null; meanMB: number | null } {
    clearInterval(this.timer);
    this.sample();
    const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
    return this.count === 0 ? { peakMB: null, meanMB: null } : { peakMB: mb(this.peak), meanMB: mb(this.sum / this.count) };
  }
}

const LOG_TAIL_LINES = 200;

/**
 * A Node program run as a separate process (`node --import tsx <entry>`, or
 * `node <entry>` for a .mjs entry) that
 * serves HTTP on `port` and is ready once `readyPath` answers 200.
 *
 * Why not `node_modules/.bin/tsx <entry>`: the tsx CLI is a wrapper that
 * forks a second node process for the program, so its pid is not the server
 * and an extra node process would compete for the machine's two cores.
 * `node --import tsx` runs the same loader in a single process.
 */
export class Service {
  child?: ChildProcess;
  private logTail: string[] = [];
  private linesSeen = 0;
  private exitInfo?: string;
  restarts = 0;
  private startFailures = 0;
  private lastStartError?: Error;

  constructor(
    readonly name: string,
    readonly entry: string,
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv,
    readonly port: number,
    readonly readyPath: string,
    readonly nodeArgs: string[] = [],
  ) {
    liveServices.add(this);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.alive() ? this.child!.pid : undefined;
  }

  alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private remember(chunk: Buffer) {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.logTail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      this.linesSeen++;
    }
    if (this.logTail.length > LOG_TAIL_LINES) this.logTail.splice(0, this.logTail.length - LOG_TAIL_LINES);
  }

  tail(lines = 30): string {
    return this.logTail.slice(-lines).join('\n');
  }

  /** A position in the log, for errorLinesSince. */
  mark(): number {
    return this.linesSeen;
  }

  /** Error-level lines (pino level ≥ 50, or a crash trace) logged since `mark`, among the retained tail. */
  errorLinesSince(mark: number): string[] {
    const count = Math.min(this.linesSeen - mark, this.logTail.length);
    if (count <= 0) return [];
    return this.logTail.slice(-count).filter((l) => /"level":\s*(50|60)/.test(l) || /^\S*(Error|Failed)\b/.test(l));
  }

  async start(timeoutMs = 90_000): Promise<void> {
    this.exitInfo = undefined;
    // A .ts entry runs through tsx; the server's bundle (dist/server.mjs) as it is.
    const loader = this.entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const child = spawn(process.execPath, [...this.nodeArgs, ...loader, this.entry, ...this.args], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => this.remember(c));
    child.stderr!.on('data', (c: Buffer) => this.remember(c));
    child.on('exit', (code, signal) => {
      this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive()) {
        throw new Error(`${this.name} ${this.exitInfo ?? 'exited'} before it was ready:\n${this.tail()}`);
      }
      try {
        const res = await fetch(`${this.baseUrl}${this.readyPath}`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
    throw new Error(`${this.name} was not ready after ${timeoutMs / 1000}s:\n${this.tail()}`);
  }

  /**
   * Starts it (again) if it is not running, e.g. after a crash under load;
   * returns true when it did. After two failed starts it stops trying, so a
   * server that cannot boot costs seconds, not minutes, per scenario.
   */
  async ensureRunning(): Promise<boolean> {
    if (this.alive()) return false;
    if (this.startFailures >= 2) throw this.lastStartError!;
    const hadRun = this.child !== undefined;
    try {
      await this.start();
    } catch (err) {
      this.startFailures++;
      this.lastStartError = err as Error;
      await this.stop();
      throw err;
    }
    if (hadRun) this.restarts++;
    return hadRun;
  }

  get exitDescription(): string | undefined {
    return this.exitInfo;
  }

  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.alive()) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut && this.alive()) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
  }

  /** Last resort at process exit: no waiting possible. */
  killNow(): void {
    if (this.alive()) this.child!.kill('SIGKILL');
  }
}

const liveServices = new Set<Service>();

/** Kills every child still running; safe to call from a process 'exit' handler. */
export function killAllServicesNow(): void {
  for (const s of liveServices) s.killNow();
}

export async function stopAllServices(): Promise<void> {
  await Promise.all([...liveServices].map((s) => s.stop()));
}

const OWNER_FILE = 'bench-owner.pid';

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** A fresh run directory under `root`, tagged with this process's pid. */
export function createRunDir(root: string): string {
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, 'run-'));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

/**
 * Removes run directories left by bench runs that were killed outright
 * (SIGKILL leaves no chance to clean up). If such a run's PostgreSQL is still
 * running on its directory, stop it first (fast shutdown), as
 * src/db/embedded.ts does for orphaned postmasters of its own data directory.
 */
export async function sweepStaleRunDirs(root: string): Promise<string[]> {
  if (!fs.existsSync(root)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    if (!name.startsWith('run-')) continue;
    const ownerFile = path.join(dir, OWNER_FILE);
    const owner = fs.existsSync(ownerFile) ? Number(fs.readFileSync(ownerFile, 'utf8')) : NaN;
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) continue; // another bench run is using it
    const pidFile = path.join(dir, 'postgres', 'postmaster.pid');
    if (fs.existsSync(pidFile)) {
      const pgPid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
      // Only a postmaster whose command line names this very directory: a
      // recycled pid must never make us signal an unrelated process.
      if (Number.isInteger(pgPid) && pgPid > 0 && isAlive(pgPid) && cmdlineOf(pgPid).includes(dir)) {
        process.kill(pgPid, 'SIGINT');
        for (let i = 0; i < 100 && isAlive(pgPid); i++) await sleep(100);
        if (isAlive(pgPid)) process.kill(pgPid, 'SIGKILL');
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Calls `onLost` once if the chain that launched us breaks. `npm run bench`
 * runs `sh -c "… && tsx bench/run.ts"` and tsx forks this process; a SIGTERM
 * sent to npm alone kills npm and sh but never reaches us (Ctrl-C does, as it
 * signals the whole process group). So we note our launcher ancestors (npm,
 * sh, tsx, node) and treat any of them being reparented or gone as the
 * signal to clean up and leave.
 */
export function watchLaunchChain(onLost: () => void): void {
  const chain: { pid: number; ppid: number }[] = [];
  let pid = process.pid;
  for (let depth = 0; depth < 8; depth++) {
    const ppid = parentOf(pid);
    if (ppid === undefined || ppid <= 1) break;
    chain.push({ pid, ppid });
    if (!/(^|[\s/])(npm|npx|tsx|node|sh)(\s|$)/.test(cmdlineOf(ppid))) break; // the user's shell or terminal: stop here
    pid = ppid;
  }
  let fired = false;
  setInterval(() => {
    if (fired) return;
    if (chain.some((link) => parentOf(link.pid) !== link.ppid)) {
      fired = true;
      onLost();
    }
  }, 1000).unref();
}
