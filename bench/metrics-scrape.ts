import autocannon from 'autocannon';
import pg from 'pg';

// Does scraping /-/metrics slow the runner poll? (docs/metrics.md) Polls
// POST /api/v4/jobs/request with autocannon against a running server, in
// alternating rounds without and with a scrape every second, and prints the
// polls per second and latencies of each round and their ratio. Rounds
// alternate because this machine is shared: compare within one run only.
//
//   BENCH_URL=http://127.0.0.1:3715 DATABASE_URL=postgresql://… BENCH_TOKEN=glpat-… \
//     npx tsx bench/metrics-scrape.ts
//
// DATABASE_URL (the server's database) is used once, to add BENCH_RUNNERS
// runners (default 100,000, half of them with a manager) so that the fleet
// gauges have a realistic amount to count.

const url = process.env.BENCH_URL ?? 'http://127.0.0.1:3715';
const token = process.env.BENCH_TOKEN ?? '';
const runnersWanted = Number(process.env.BENCH_RUNNERS ?? 100_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);

async function seed() {
  if (!process.env.DATABASE_URL) return;
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM runners WHERE token_digest LIKE 'bench-%'`);
  const missing = runnersWanted - rows[0]!.n;
  if (missing > 0) {
    await client.query(
      `INSERT INTO runners (runner_type, token_digest, description, created_at, contacted_at)
       SELECT 1 + g % 3, 'bench-' || g || '-' || md5(random()::text), 'bench runner ' || g, now() - (g % 20) * interval '1 day',
              CASE WHEN g % 4 = 0 THEN NULL ELSE now() - (g % 300) * interval '1 minute' END
       FROM generate_series(1, $1) g`,
      [missing],
    );
    await client.query(
      `INSERT INTO runner_managers (runner_id, system_xid, version, created_at, contacted_at, creation_state)
       SELECT id, 's_bench', (16 + id % 3) || '.' || (id % 12) || '.0', now(), now(), 100 FROM runners
       WHERE token_digest LIKE 'bench-%' AND id % 2 = 0 ON CONFLICT DO NOTHING`,
    );
  }
  await client.end();
}

async function runnerToken(): Promise<string> {
  const res = await fetch(`${url}/api/v4/user/runners`, {
    method: 'POST',
    headers: { 'PRIVATE-TOKEN': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ runner_type: 'instance_type', description: 'metrics bench', tag_list: ['metrics-bench-only'], run_untagged: false }),
  });
  if (res.status !== 201) throw new Error(`creating the bench runner: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

interface Round {
  scraping: boolean;
  pollsPerSecond: number;
  p50: number;
  p99: number;
  scrapes: number;
  scrapeMsMax: number;
}

async function round(runner: string, scraping: boolean): Promise<Round> {
  let scrapes = 0;
  let scrapeMsMax = 0;
  const timer = scraping
    ? setInterval(async () => {
        const started = performance.now();
        const res = await fetch(`${url}/-/metrics`);
        await res.text();
        if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
        scrapes++;
        scrapeMsMax = Math.max(scrapeMsMax, performance.now() - started);
      }, 1000)
    : undefined;
  const result = await autocannon({
    url: `${url}/api/v4/jobs/request`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: runner, system_id: 's_metricsbench', info: { version: '18.6.0' } }),
  });
  clearInterval(timer);
  if (result.non2xx > 0) throw new Error(`${result.non2xx} polls were not answered 2xx`);
  return { scraping, pollsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, scrapes, scrapeMsMax };
}

await seed();
const runner = await runnerToken();
await round(runner, false); // warm-up
const results: Round[] = [];
for (let i = 0; i < rounds; i++) {
  results.push(await round(runner, false));
  results.push(await round(runner, true));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const r of results) {
  console.log(
    `${r.scraping ? 'scrape every 1 s' : 'no scrape       '}  ${r.pollsPerSecond.toFixed(0).padStart(6)} polls/s  p50 ${r.p50} ms  p99 ${r.p99} ms` +
      (r.scraping ? `  (${r.scrapes} scrapes, slowest ${r.scrapeMsMax.toFixed(0)} ms)` : ''),
  );
}
const without = results.filter((r) => !r.scraping);
const withScrape = results.filter((r) => r.scraping);
console.log(
  `ratio with/without scraping: throughput ${(mean(withScrape.map((r) => r.pollsPerSecond)) / mean(without.map((r) => r.pollsPerSecond))).toFixed(3)}, ` +
    `p99 ${(mean(withScrape.map((r) => r.p99)) / mean(without.map((r) => r.p99))).toFixed(3)}`,
);
