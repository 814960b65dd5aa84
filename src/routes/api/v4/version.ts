import type { FastifyInstance } from 'fastify';

/** GitLab version this server models; clients use it for feature detection. */
export const GITLAB_VERSION = { version: '18.6.0', revision: 'runners-api', kas: { enabled: false, externalUrl: null, version: null }, enterprise: false };

export default async function versionRoutes(app: FastifyInstance) {
  app.get('/version', { config: { scopes: ['read_user'] } }, async () => GITLAB_VERSION);
  app.get('/metadata', { config: { scopes: ['read_user'] } }, async () => GITLAB_VERSION);
}
