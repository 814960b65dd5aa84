// In-process profile: per scenario, median wall time of app.inject and every pool query with its time.
import fs from 'node:fs';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { connectDatabase } from '../src/db/client.js';
import { bootstrap } from '../src/db/bootstrap.js';
import { SECRET_KEY, ROOT_TOKEN } from '../bench/config.js';

const N = Number(process.env.N ?? 100000);
const url = fs.readFileSync(`/tmp/perf-lists-url-${N}`, 'utf8');
const hot = fs.readFileSync(`/tmp/perf-lists-db-${N}/hot`, 'utf8');
const config = loadConfig({ LOG_LEVEL: 'silent', INITIAL_ROOT_TOKEN: ROOT_TOKEN, SECRET_KEY, RATE_LIMIT_ENABLED: 'false', DATA_DIR: '/tmp/perf-lists-srv' });
const db = connectDatabase(url);
const boot = await bootstrap(db, config);
const log: { text: string; ms: number }[] = [];
const origQuery = db.pool.query.bind(db.pool) as (...a: unknown[]) => Promise<unknown>;
(db.pool as unknown as { query: unknown }).query = async (...a: unknown[]) => {
  const t = performance.now();
  try { return await origQuery(...a); } finally {
    const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text: string }).text;
    log.push({ text: text.replace(/\s+/g, ' ').slice(0, Number(process.env.W ?? 160)), ms: performance.now() - t });
  }
};
const app = await buildApp({ config, db, secretKey: boot.secretKey, logger: false });
await app.ready();
const mid = Math.round(N / 200);
const scenarios: Record<string, string> = {
  page: `/api/v4/runners/all?per_page=100&page=${mid}`,
  tags: `/api/v4/runners/all?tag_list=docker,linux&status=online&per_page=100`,
  tags2: `/api/v4/runners/all?tag_list=aws&status=online&per_page=100`,
  version: `/api/v4/runners/all?version_prefix=16.1`,
  version3: `/api/v4/runners/all?version_prefix=16.1&page=3`,
  project: `/api/v4/projects/${hot}/runners`,
  project5: `/api/v4/projects/${hot}/runners?page=5`,
};
const only = process.env.ONLY?.split(',');
const REPS = Number(process.env.REPS ?? 15);
for (const [name, path] of Object.entries(scenarios)) {
  if (only && !only.includes(name)) continue;
  const times: number[] = [];
  let last: { text: string; ms: number }[] = [];
  for (let i = 0; i < REPS; i++) {
    log.length = 0;
    const t = performance.now();
    const res = await app.inject({ method: 'GET', url: path, headers: { 'private-token': ROOT_TOKEN } });
    times.push(performance.now() - t);
    if (res.statusCode !== 200) console.log(name, res.statusCode, res.body.slice(0, 200));
    if (i === REPS - 1) { last = [...log]; console.log(`  x-total=${res.headers['x-total']} items=${(res.json() as unknown[]).length}`); }
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(9)} median ${times[Math.floor(REPS / 2)]!.toFixed(1)} ms  min ${times[0]!.toFixed(1)}  (${last.length} pool queries)`);
  for (const q of last) console.log(`    ${q.ms.toFixed(1).padStart(6)} ms  ${q.text}`);
}
await app.close();
await db.close();
