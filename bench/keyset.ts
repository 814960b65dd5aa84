import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { bootstrap } from '../src/db/bootstrap.js';
import { connectDatabase } from '../src/db/client.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { encodeIdCursor } from '../src/lib/pagination.js';

// `npm run bench:keyset`: the cost of a keyset page does not depend on how
// deep the walk is. 100,000 runners (10 % instance, 30 % in one group, 60 %
// project runners); page 1 and page 5,000 (per_page=20) of /runners/all and
// page 1 and page 1,500 of /groups/:id/runners (30,000 runners), each in
// keyset mode and, for contrast, by offset. In-process requests (no
// network), alternated so that machine noise hits every case alike; the
// numbers to read are the ratios deep/first within one run.

const RUNNERS = 100_000;
const ROUNDS = Number(process.env.KEYSET_BENCH_ROUNDS ?? 150);
const TOKEN = 'glpat-keysetBenchRootToken0';

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyset-bench-'));
  const embedded = await startEmbeddedPostgres(dataDir, { persistent: false });
  try {
    const admin = new pg.Client({ connectionString: embedded.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE bench');
    await admin.end();
    const url = embedded.url('bench');
    await migrate(url);
    const db = connectDatabase(url);
    const config = loadConfig({ LOG_LEVEL: 'silent', INITIAL_ROOT_TOKEN: TOKEN, EXTERNAL_URL: 'http://bench.test', RATE_LIMIT_ENABLED: 'false', STALE_RUNNER_PRUNING_INTERVAL_SECONDS: '0' });
    const boot = await bootstrap(db, config);
    const app = await buildApp({ config, db, secretKey: boot.secretKey, logger: false });

    process.stdout.write(`seeding ${RUNNERS} runners… `);
    const t0 = Date.now();
    const group = await db.pool.query<{ id: number }>(
      `INSERT INTO namespaces (kind, name, path, full_path) VALUES ('group', 'bench', 'bench', 'bench') RETURNING id`,
    );
    const groupId = group.rows[0]!.id;
    await db.pool.query('UPDATE namespaces SET traversal_ids = ARRAY[id] WHERE id = $1', [groupId]);
    const project = await db.pool.query<{ id: number }>(
      `INSERT INTO projects (namespace_id, name, path, path_with_namespace) VALUES ($1, 'app', 'app', 'bench/app') RETURNING id`,
      [groupId],
    );
    await db.pool.query(
      `INSERT INTO runners (runner_type, description, token_digest, contacted_at, created_at, sharding_key_id)
       SELECT CASE WHEN i % 10 = 0 THEN 1 WHEN i % 10 < 4 THEN 2 ELSE 3 END, 'runner ' || i, md5(i::text),
              now() - (i % 1000) * interval '1 minute', now() - interval '30 days',
              CASE WHEN i % 10 = 0 THEN NULL WHEN i % 10 < 4 THEN $1::int ELSE $2::int END
         FROM generate_series(1, ${RUNNERS}) i`,
      [groupId, project.rows[0]!.id],
    );
    await db.pool.query('INSERT INTO runner_namespaces (runner_id, namespace_id) SELECT id, $1 FROM runners WHERE runner_type = 2', [groupId]);
    await db.pool.query('INSERT INTO runner_projects (runner_id, project_id) SELECT id, $1 FROM runners WHERE runner_type = 3', [project.rows[0]!.id]);
    await db.pool.query('VACUUM ANALYZE');
    process.stdout.write(`${Date.now() - t0} ms\n`);

    // The id the 5,000th page of /runners/all starts after, and the 1,500th of the group's list.
    const allIds = (await db.pool.query<{ id: number }>('SELECT id FROM runners ORDER BY id')).rows.map((r) => r.id);
    const groupList = (await db.pool.query<{ id: number }>(
      'SELECT id FROM runners WHERE runner_type = 1 OR id IN (SELECT runner_id FROM runner_namespaces WHERE namespace_id = $1) ORDER BY id',
      [groupId],
    )).rows.map((r) => r.id);
    const allDeep = encodeIdCursor(allIds[4_999 * 20 - 1]!);
    const groupDeep = encodeIdCursor(groupList[1_499 * 20 - 1]!);

    const cases: Record<string, string> = {
      'all keyset p1': '/api/v4/runners/all?pagination=keyset&per_page=20',
      'all keyset p5000': `/api/v4/runners/all?pagination=keyset&per_page=20&cursor=${allDeep}`,
      'all offset p1': '/api/v4/runners/all?per_page=20&page=1',
      'all offset p5000': '/api/v4/runners/all?per_page=20&page=5000',
      'group keyset p1': `/api/v4/groups/${groupId}/runners?pagination=keyset&per_page=20`,
      'group keyset p1500': `/api/v4/groups/${groupId}/runners?pagination=keyset&per_page=20&cursor=${groupDeep}`,
      'group offset p1': `/api/v4/groups/${groupId}/runners?per_page=20&page=1`,
      'group offset p1500': `/api/v4/groups/${groupId}/runners?per_page=20&page=1500`,
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (const [name, url] of Object.entries(cases)) {
      const res = await app.inject({ method: 'GET', url, headers: { 'private-token': TOKEN } });
      if (res.statusCode !== 200 || (res.json() as unknown[]).length !== 20) throw new Error(`${name}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, url] of Object.entries(cases)) {
        const start = process.hrtime.bigint();
        await app.inject({ method: 'GET', url, headers: { 'private-token': TOKEN } });
        samples[name]!.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    process.stdout.write(`\nmedian latency over ${ROUNDS} rounds (ms), in-process requests, ${RUNNERS} runners:\n`);
    for (const [k, v] of Object.entries(m)) process.stdout.write(`  ${k.padEnd(20)} ${v.toFixed(2)}\n`);
    process.stdout.write('\ndeep page / first page:\n');
    process.stdout.write(`  /runners/all        keyset ${(m['all keyset p5000']! / m['all keyset p1']!).toFixed(2)}×   offset ${(m['all offset p5000']! / m['all offset p1']!).toFixed(2)}×\n`);
    process.stdout.write(`  /groups/:id/runners keyset ${(m['group keyset p1500']! / m['group keyset p1']!).toFixed(2)}×   offset ${(m['group offset p1500']! / m['group offset p1']!).toFixed(2)}×\n`);
    await app.close();
    await db.close();
  } finally {
    await embedded.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
