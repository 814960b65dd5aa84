import Fastify from 'fastify';
import pg from 'pg';
import { poolTypes } from '../src/db/type-parsers.js';

// The yardsticks the server's throughput is compared with (issue 5):
//   json  — ref 1: a bare Fastify route answering a small JSON object, i.e.
//           the ceiling for any route on this machine and Node version;
//   pg    — ref 2: a bare Fastify route doing one primary-key lookup with
//           plain `pg`, i.e. the ceiling for a route that reads one row;
//           and the list floors: a bare route reading one page of runners
//           (the columns a list item shows, one prepared primary-key range
//           scan, rows as arrays with the server's timestamp parser) and
//           answering them with JSON.stringify. No creator, no job status,
//           no count, no headers: about the least a list page of that size
//           costs on this machine, whoever serves it.
// No plugins, no auth, no validation, no logging: everything the real server
// does on top of this is what the ratios measure.
//
// Usage: PORT=… [DATABASE_URL=…] node --import tsx bench/reference-server.ts json|pg

const mode = process.argv[2];
const port = Number(process.env.PORT);
if ((mode !== 'json' && mode !== 'pg') || !Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: PORT=<port> [DATABASE_URL=<url>] reference-server.ts json|pg\n');
  process.exit(2);
}

const app = Fastify({ logger: false, keepAliveTimeout: 72_000 });
let pool: pg.Pool | undefined;
let listPool: pg.Pool | undefined;

app.get('/-/readiness', async () => ({ status: 'ok' }));

if (mode === 'json') {
  app.get('/ref/json', async () => ({ id: 1, status: 'online', description: 'reference', active: true }));
} else {
  if (!process.env.DATABASE_URL) {
    process.stderr.write('DATABASE_URL is required in pg mode\n');
    process.exit(2);
  }
  // The same pool size as the server's (src/db/client.ts) so the database
  // side of the comparison is equal.
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  pool.on('error', () => undefined);
  const db = pool;
  app.get<{ Params: { id: string } }>('/ref/runners/:id', async (request, reply) => {
    const { rows } = await db.query('SELECT * FROM runners WHERE id = $1', [Number(request.params.id)]);
    if (rows.length === 0) return reply.code(404).send({ message: '404 Runner Not Found' });
    return rows[0];
  });
  // Its own pool, with the server's driver settings, so ref 2 stays the plain driver's.
  listPool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, types: poolTypes });
  listPool.on('error', () => undefined);
  const listDb = listPool;
  app.get<{ Querystring: { from?: string; per_page?: string } }>('/ref/runners', async (request) => {
    const { rows } = await listDb.query<[number, string | null, boolean, number, string | null, Date | null, Date]>({
      name: 'ref-list',
      text: 'SELECT id, description, active, runner_type, name, contacted_at, created_at FROM runners WHERE id >= $1 ORDER BY id LIMIT $2',
      values: [Number(request.query.from ?? 1), Math.min(100, Number(request.query.per_page ?? 20))],
      rowMode: 'array',
    });
    return rows.map((r) => ({ id: r[0], description: r[1], active: r[2], runner_type: r[3], name: r[4], contacted_at: r[5], created_at: r[6] }));
  });
}

const shutdown = async () => {
  await app.close().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await listPool?.end().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

await app.listen({ port, host: '127.0.0.1' });
