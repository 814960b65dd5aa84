import type { FastifyReply, FastifyRequest } from 'fastify';
import { keysetPage, paginate } from '../../../lib/pagination.js';
import type { RunnerListItem } from '../../../domain/runner-view.js';
import type { PageParams } from '../../../schemas/common.js';
import type { RunnerKeysetParams } from '../../../schemas/runners.js';
import type { RunnerList } from '../../../services/runners/runner-list-service.js';

/**
 * One page of a runner list (/runners, /runners/all, /projects/:id/runners,
 * /groups/:id/runners): `pagination=keyset` walks by id with only a
 * `Link rel="next"`, anything else is GitLab's offset page with X-Total*.
 * `linkParams` are what the Link URLs repeat (the path id as the caller spelled it).
 */
export async function runnerListPage(
  request: FastifyRequest,
  reply: FastifyReply,
  query: PageParams & RunnerKeysetParams & { pagination?: string },
  linkParams: Record<string, unknown>,
  list: RunnerList,
  externalUrl: string | undefined,
): Promise<RunnerListItem[]> {
  if (query.pagination === 'keyset') {
    return keysetPage(request, reply, linkParams, await list.keyset(query), query.per_page, { externalUrl, idOf: (r) => r.runner.id });
  }
  return paginate(request, reply, query, linkParams, list, { externalUrl });
}

/**
 * Sends a body already written as JSON text (runnerItemsJson). Fastify
 * passes a string with a JSON content type through unchanged, with the same
 * headers it gives a serialised object.
 */
export function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}
