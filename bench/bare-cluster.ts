import cluster from 'node:cluster';
import Fastify from 'fastify';

// The floor for bench/workers.ts: bare Fastify under node:cluster with N
// workers, answering the poll's route (POST /api/v4/jobs/request, JSON body
// parsed) with 204 and nothing else: no auth, no cache, no database. What
// one more worker buys here is the most it can buy the server on this
// machine with this load generator.
//
// Usage: PORT=… WORKERS=N node --import tsx bench/bare-cluster.ts

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS ?? '1');

if (cluster.isPrimary && workers > 1) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (m: { type?: string }) => {
      if (m?.type === 'ready' && ++ready === workers) process.stdout.write('all workers ready\n');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const app = Fastify({ logger: false, keepAliveTimeout: 72_000 });
  app.get('/-/readiness', async () => ({ status: 'ok' }));
  app.post('/api/v4/jobs/request', async (_request, reply) => reply.code(204).send());
  await app.listen({ port, host: '127.0.0.1' });
  if (cluster.isWorker) process.send?.({ type: 'ready' });
  else process.stdout.write('all workers ready\n');
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}
