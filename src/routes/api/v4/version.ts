import type { FastifyInstance } from 'fastify';
import { GITLAB_VERSION } from '../../../domain/gitlab-version.js';

export default async function versionRoutes(app: FastifyInstance) {
  app.get('/version', { config: { scopes: ['read_user'] } }, async () => GITLAB_VERSION);
  app.get('/metadata', { config: { scopes: ['read_user'] } }, async () => GITLAB_VERSION);
}
