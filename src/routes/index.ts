import type { FastifyInstance } from 'fastify';
import healthRoutes from './health.js';
import versionRoutes from './api/v4/version.js';

// Every route plugin, one line each. API plugins are mounted under /api/v4.
const apiV4 = [versionRoutes];

export async function registerRoutes(app: FastifyInstance): Promise<void> {
  await app.register(healthRoutes);
  for (const plugin of apiV4) await app.register(plugin, { prefix: '/api/v4' });
}
