import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from '../test/helpers/debian-packages.js';
import type { LoadResult, RequestFactory, RequestSpec } from './load.js';

// The load generator: wrk (C, Debian package), so that the generator is not
// what limits a fast endpoint. autocannon runs in Node on the same two cores
// and capped the bare-Fastify reference, which inflated every ratio against
// it. wrk runs the scenario's requests from a Lua table written up front
// (each request's token, id or page still varies), counts status codes in a
// response() callback and prints one JSON line when done.

/** Requests written into the script per scenario: the request factory is walked this far, then the walk repeats. */
const MAX_REQUESTS = 10_000;

export function wrkAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;
}

/** Installs wrk when it is missing and we can (root + apt-get); false (with the reason) when it cannot be had. */
export function ensureWrk(): { ok: true } | { ok: false; reason: string } {
  try {
    ensureDebianPackages(['wrk'], wrkAvailable, 'the bench load generator');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

const luaString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;

function luaRequest(spec: RequestSpec): string {
  const headers = Object.entries({ ...(spec.headers ?? {}), ...(spec.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(spec.body)) } : {}) })
    .map(([k, v]) => `[${luaString(k)}]=${luaString(v)}`)
    .join(',');
  return `wrk.format(${luaString(spec.method)}, ${luaString(spec.path)}, {${headers}}, ${spec.body !== undefined ? luaString(spec.body) : 'nil'})`;
}

function script(requests: RequestSpec[]): string {
  return `
local reqs = {}
local specs = {
${requests.map((r) => `  function() return ${luaRequest(r)} end,`).join('\n')}
}
local threads = {}
local counter = 0
statuses = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  for i, f in ipairs(specs) do reqs[i] = f() end
  counter = offset or 0
end

request = function()
  counter = counter + 1
  return reqs[(counter % #reqs) + 1]
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do codes[tostring(k)] = (codes[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"durationUs":%d,"requests":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"codes":{%s}}\\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, table.concat(parts, ",")))
end
`;
}

interface WrkJson {
  durationUs: number;
  requests: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  codes: Record<string, number>;
}

const ms = (us: number) => Math.round(us / 10) / 100;

/** Requests the factory produces, up to MAX_REQUESTS (or `count`). */
export function collectRequests(next: RequestFactory, count = MAX_REQUESTS): RequestSpec[] {
  return Array.from({ length: count }, () => next());
}

export async function runWrk(opts: {
  baseUrl: string;
  requests: RequestSpec[];
  connections: number;
  durationSec: number;
  timeoutSec?: number;
}): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
  const file = path.join(dir, 'scenario.lua');
  fs.writeFileSync(file, script(opts.requests));
  const threads = Math.max(1, Math.min(2, opts.connections));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'wrk',
        [`-t${threads}`, `-c${opts.connections}`, `-d${Math.max(1, Math.round(opts.durationSec))}s`, `--timeout`, `${opts.timeoutSec ?? 10}s`, '-s', file, opts.baseUrl],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`wrk exited with ${code}: ${stderr.trim() || stdout.trim()}`))));
    });
    const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '));
    if (!line) throw new Error(`wrk printed no result: ${out.slice(0, 300)}`);
    const r = JSON.parse(line.slice('WRK_RESULT '.length)) as WrkJson;
    const durationSec = r.durationUs / 1e6;
    const ok = Object.entries(r.codes)
      .filter(([c]) => c.startsWith('2'))
      .reduce((a, [, n]) => a + n, 0);
    const responses = Object.values(r.codes).reduce((a, b) => a + b, 0);
    const errors = r.connect + r.read + r.write + r.timeout;
    return {
      durationSec,
      responses,
      ok,
      non2xx: responses - ok,
      errors,
      timeouts: r.timeout,
      statusCodes: r.codes,
      reqPerSec: Math.round((ok / durationSec) * 10) / 10,
      // wrk's percentiles are of every response (it does not split them by status).
      p50: ms(r.p50),
      p90: ms(r.p90),
      p99: ms(r.p99),
      max: ms(r.max),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
