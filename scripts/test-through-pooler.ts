// `npm run test:pooler [-- vitest arguments]`: the test suite with every
// test server's pools going through PgBouncer in transaction mode
// (docs/scaling.md, "The suite through PgBouncer").
//
// Debian's PostgreSQL 15 and PgBouncer (installed with apt-get when root)
// run in a temporary folder on free ports: PgBouncer with a `*` database
// entry, since every test file clones its own database. The tests get
// TEST_DATABASE_URL (PostgreSQL itself: admin work, DATABASE_DIRECT_URL) and
// TEST_DATABASE_POOLER_URL (see test/helpers/database.ts). A wire proxy sits
// in front of PgBouncer and reads every Parse message the whole run sends
// to the pooler: a named statement there fails the run even when the tests
// pass. Everything started here is stopped however the run ends.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startWireProxy, type WireProxy } from '../test/helpers/pg-wire-proxy.js';
import { ensurePgBouncerTools, startPooledPostgres, type PooledPostgres } from '../test/helpers/scale-stack.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const started = Date.now();
let db: PooledPostgres | undefined;
let proxy: WireProxy | undefined;
let vitest: ChildProcess | undefined;
let stopping: Promise<void> | undefined;

const teardown = () =>
  (stopping ??= (async () => {
    if (vitest && vitest.exitCode === null && vitest.signalCode === null) {
      vitest.kill('SIGTERM');
      await new Promise((r) => vitest!.once('exit', r));
    }
    await proxy?.close();
    await db?.stop();
  })());

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\ntest:pooler: ${signal}, stopping vitest, PgBouncer and PostgreSQL`);
    void teardown().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  ensurePgBouncerTools('npm run test:pooler');
  db = await startPooledPostgres({ prefix: 'test-pooler-', database: '*', user: 'postgres', maxConnections: 300 });
  proxy = await startWireProxy({ host: '127.0.0.1', port: db.bouncerPort }, { keep: 'named' });
  const env = {
    ...process.env,
    TEST_DATABASE_URL: `postgresql://postgres@127.0.0.1:${db.pgPort}/postgres`,
    TEST_DATABASE_POOLER_URL: `postgresql://postgres@127.0.0.1:${proxy.port}/`,
  };
  console.log(`test:pooler: PostgreSQL 15 on ${db.pgPort}, PgBouncer (pool_mode = transaction) on ${db.bouncerPort}, read through ${proxy.port}`);
  vitest = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  const code = await new Promise<number>((resolve) => vitest!.once('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
  const { log } = proxy;
  const named = log.parseNames.map((n, i) => `  ${n}: ${log.parseTexts[i]!.slice(0, 120)}`);
  console.log(
    `test:pooler: through PgBouncer: ${log.startups.length} client connections, ${log.parseCount} Parse messages, ${named.length} naming a statement; ${Math.round((Date.now() - started) / 1000)} s in all`,
  );
  if (named.length) {
    console.error(`test:pooler: named statements reached the pooler:\n${named.slice(0, 20).join('\n')}`);
    return code || 1;
  }
  if (log.startups.length === 0) {
    console.error('test:pooler: no test server connected through the pooler');
    // A chosen file may well not need a database; the whole suite must.
    if (process.argv.length <= 2) return code || 1;
  }
  return code;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`test:pooler: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await teardown();
}
process.exit(code);
