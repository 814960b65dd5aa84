import type { FastifyInstance } from 'fastify';
import { GITLAB_VERSION } from '../../../domain/gitlab-version.js';
import { defineRoute } from '../../../lib/route-contract/index.js';
import * as res from '../../../schemas/responses.js';

export default async function versionRoutes(app: FastifyInstance) {
  for (const path of ['/version', '/metadata']) {
    defineRoute(
      app,
      { method: 'GET', path, summary: 'The GitLab version this server models', tags: ['metadata'], auth: 'user', scopes: ['read_user'], responses: { 200: { description: 'Version', schema: res.version } } },
      async () => GITLAB_VERSION,
    );
  }
}
