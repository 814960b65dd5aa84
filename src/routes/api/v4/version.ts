import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import * as res from '../../../schemas/responses.js';

/** GitLab version this server models; clients use it for feature detection. */
export const GITLAB_VERSION = { version: '18.6.0', revision: 'runners-api', kas: { enabled: false, externalUrl: null, version: null }, enterprise: false };

export default async function versionRoutes(app: FastifyInstance) {
  for (const path of ['/version', '/metadata']) {
    defineRoute(
      app,
      { method: 'GET', path, summary: 'The GitLab version this server models', tags: ['metadata'], auth: 'user', scopes: ['read_user'], responses: { 200: { description: 'Version', schema: res.version } } },
      async () => GITLAB_VERSION,
    );
  }
}
