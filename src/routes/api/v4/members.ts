import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { namespacedIdText } from '../../../schemas/common.js';
import { presentMember } from '../../../presenters/member.js';
import { addMemberParams, listMembersParams, memberSourcePath } from '../../../schemas/members.js';
import * as res from '../../../schemas/responses.js';
import { addMember, findMemberSource, memberListSource } from '../../../services/members/member-service.js';

// Direct members of groups and projects (lib/api/members.rb). Every route
// needs a signed-in user (GitLab's `before { authenticate! }`).

export default async function membersRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  for (const kind of ['group', 'project'] as const) {
    const tags = [`${kind}s`];
    defineRoute(
      app,
      { method: 'GET', path: `/${kind}s/:id/members`, summary: `List a ${kind}'s direct members`, tags, auth: 'user', pathParams: memberSourcePath, params: listMembersParams, paginated: true, responses: { 200: { description: 'Members', schema: res.member.array() } } },
      async (input, request, reply) => {
        const actor = requireActor(request).user;
        const { id, ...query } = input;
        const { source, can } = await findMemberSource(ctx, actor, kind, id);
        const params = { ...query, id: namespacedIdText(id) };
        const members = await paginate(request, reply, query, params, memberListSource(ctx, source, can, query), { externalUrl });
        const base = baseUrl(request, externalUrl);
        return members.map((m) => presentMember(m, base));
      },
    );

    defineRoute(
      app,
      { method: 'POST', path: `/${kind}s/:id/members`, summary: `Add a member to a ${kind}`, tags, auth: 'user', pathParams: memberSourcePath, params: addMemberParams, responses: { 201: { description: 'The member', schema: res.member } } },
      async (input, request, reply) => {
        const actor = requireActor(request).user;
        const { id, ...fields } = input;
        const { source, can } = await findMemberSource(ctx, actor, kind, id);
        const member = await addMember(ctx, actor, source, can, fields);
        reply.code(201);
        return presentMember(member, baseUrl(request, externalUrl));
      },
    );
  }
}
