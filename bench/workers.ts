import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.js';

// `npm run bench:workers`: the poll path (POST /jobs/request answered 204,
// the hot path of every runner) with WORKERS=1 and WORKERS=2 in the same
// run, beside bare Fastify under node:cluster with one and two workers
// (bench/bare-cluster.ts) measured the same way. The bare pair is the floor:
// on a machine whose cores the load generator shares, the second worker
// cannot add more than it adds there. docs/scaling.md reports the figures.
//
// Load: wrk (Debian's, C, one thread) when installed, else autocannon in this
// process (which then competes with the server for the same cores).
// Env: BENCH_SECONDS (8), BENCH_CONNECTIONS (64), BENCH_ROUNDS (2), BENCH_RUNNERS (200).

const ROOT = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RUNNERS = Number(process.env.BENCH_RUNNERS ?? 200);
const ROOT_TOKEN = 'glpat-bench-workers-root-token-0';
const DATA_DIR = path.join(ROOT, '.bench-data', 'workers');
const WORKER_SETTLE_MS = 8_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  name: string;
  start: (port: number) => ChildProcess;
}

const children = new Set<ChildProcess>();
const stopChild = async (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(20_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.delete(child);
};

function spawnNode(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  (child as ChildProcess & { output: () => string }).output = () => out;
  children.add(child);
  return child;
}

async function waitReady(child: ChildProcess, port: number, workers: number): Promise<void> {
  const output = (child as ChildProcess & { output: () => string }).output;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${output()}`);
    const listening = await fetch(`http://127.0.0.1:${port}/-/readiness`).then((r) => r.status === 200, () => false);
    // The server runs at LOG_LEVEL=warn (request logs would be measured too), so the
    // primary's "all workers ready" is not printed: give the other workers time to listen.
    if (listening) {
      if (workers > 1 && !output().includes('all workers ready')) await sleep(WORKER_SETTLE_MS);
      return;
    }
    await sleep(200);
  }
  throw new Error(`not ready:\n${output()}`);
}

interface Measured {
  reqPerSec: number;
  non2xx: number;
  errors: number;
}

function wrkScript(tokens: string[]): string {
  const file = path.join(os.tmpdir(), `bench-workers-${process.pid}.lua`);
  const list = tokens.map((t) => `"${t}"`).join(',');
  fs.writeFileSync(
    file,
    `local tokens = {${list}}
local i = 0
request = function()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  return wrk.format("POST", "/api/v4/jobs/request",
    {["Content-Type"] = "application/json", ["Accept"] = "application/json", ["User-Agent"] = "gitlab-runner 19.4.0 (HEAD; go1.24.0; linux/amd64)"},
    '{"token":"' .. t .. '","system_id":"s_benchworkers01","info":{"name":"gitlab-runner","version":"19.4.0","executor":"shell"}}')
end
`,
  );
  return file;
}

const hasWrk = () => spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;

async function measure(port: number, tokens: string[], seconds: number): Promise<Measured> {
  if (hasWrk()) {
    const script = wrkScript(tokens);
    const res = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, `http://127.0.0.1:${port}`]);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(out))));
    });
    fs.rmSync(script, { force: true });
    const total = Number(/(\d+) requests in ([\d.]+)s/.exec(res)?.[1] ?? 0);
    const secs = Number(/(\d+) requests in ([\d.]+)s/.exec(res)?.[2] ?? seconds);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(res)?.[1] ?? 0);
    const errors = [...res.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[2]), 0);
    return { reqPerSec: Math.round((total - non2xx) / secs), non2xx, errors };
  }
  const { default: autocannon } = await import('autocannon');
  let i = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/v4/jobs/request',
        setupRequest: (req) => ({
          ...req,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: tokens[i++ % tokens.length], system_id: 's_benchworkers01' }),
        }),
      },
    ],
  });
  return { reqPerSec: Math.round(result['2xx'] / result.duration), non2xx: result.non2xx, errors: result.errors };
}

async function main() {
  // Its own embedded PostgreSQL, so the figures do not depend on another database's load.
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const embedded = await startEmbeddedPostgres(DATA_DIR);
  const admin = new pg.Client({ connectionString: embedded.url('postgres') });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS bench_workers WITH (FORCE)');
  await admin.query('CREATE DATABASE bench_workers');
  await admin.end();
  const databaseUrl = embedded.url('bench_workers');
  const serverEnv = { DATABASE_URL: databaseUrl, INITIAL_ROOT_TOKEN: ROOT_TOKEN, RATE_LIMIT_ENABLED: 'false' };

  const stopAll = async () => {
    await Promise.all([...children].map(stopChild));
    await embedded.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    // Seed: RUNNERS instance runners, created through the API.
    const seedPort = await freePort();
    const seeder = spawnNode('src/server.ts', { ...serverEnv, PORT: String(seedPort), WORKERS: '1' });
    await waitReady(seeder, seedPort, 1);
    const tokens: string[] = [];
    for (let i = 0; i < RUNNERS; i++) {
      const res = await fetch(`http://127.0.0.1:${seedPort}/api/v4/user/runners`, {
        method: 'POST',
        headers: { 'PRIVATE-TOKEN': ROOT_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ runner_type: 'instance_type', description: `bench-${i}` }),
      });
      if (res.status !== 201) throw new Error(`runner creation: ${res.status} ${await res.text()}`);
      tokens.push(((await res.json()) as { token: string }).token);
    }
    await stopChild(seeder);

    const targets: (Target & { workers: number; kind: 'server' | 'bare' })[] = [1, 2].flatMap((workers) => [
      { name: `bare Fastify, ${workers} worker${workers > 1 ? 's' : ''}`, workers, kind: 'bare' as const, start: (port: number) => spawnNode('bench/bare-cluster.ts', { PORT: String(port), WORKERS: String(workers) }) },
      { name: `server, WORKERS=${workers}`, workers, kind: 'server' as const, start: (port: number) => spawnNode('src/server.ts', { ...serverEnv, PORT: String(port), WORKERS: String(workers) }) },
    ]);
    const results = new Map<string, Measured[]>();
    process.stdout.write(`polls: POST /api/v4/jobs/request (204) over ${RUNNERS} runners, ${CONNECTIONS} connections, ${SECONDS} s each, ${ROUNDS} rounds, load by ${hasWrk() ? 'wrk' : 'autocannon'}; ${os.availableParallelism()} cores\n`);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of targets) {
        const port = await freePort();
        const child = target.start(port);
        try {
          await waitReady(child, port, target.workers);
          await measure(port, tokens, 2); // warm-up: JIT, caches, pools
          const m = await measure(port, tokens, SECONDS);
          results.set(target.name, [...(results.get(target.name) ?? []), m]);
          process.stdout.write(`  round ${round}  ${target.name.padEnd(26)} ${String(m.reqPerSec).padStart(7)} polls/s${m.non2xx || m.errors ? `  (non-2xx ${m.non2xx}, errors ${m.errors})` : ''}\n`);
        } finally {
          await stopChild(child);
        }
      }
    }
    const best = (name: string) => Math.max(...(results.get(name) ?? []).map((m) => m.reqPerSec));
    const s1 = best('server, WORKERS=1');
    const s2 = best('server, WORKERS=2');
    const b1 = best('bare Fastify, 1 worker');
    const b2 = best('bare Fastify, 2 workers');
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    process.stdout.write(
      `\nbest of ${ROUNDS}:\n` +
        `  server       WORKERS=1 ${s1} polls/s, WORKERS=2 ${s2} polls/s: × ${ratio(s2, s1)}\n` +
        `  bare Fastify 1 worker  ${b1} req/s,   2 workers ${b2} req/s:   × ${ratio(b2, b1)}  (the floor: what a second worker can add here)\n` +
        `  server WORKERS=1 is ${ratio(s1, b1)} × bare 1 worker; WORKERS=2 is ${ratio(s2, b2)} × bare 2 workers\n`,
    );
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  void Promise.all([...children].map(stopChild)).finally(() => process.exit(1));
});
