import type { FastifyInstance } from 'fastify';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentMember } from '../../../presenters/member.js';
import { parseInput } from '../../../schemas/common.js';
import { listMembersQuery, memberSourceParams, parseAddMember } from '../../../schemas/members.js';
import { addMember, findMemberSource, memberListSource } from '../../../services/members/member-service.js';

// Direct members of groups and projects (lib/api/members.rb). Every route
// needs a signed-in user (GitLab's `before { authenticate! }`).

export default async function membersRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  for (const kind of ['group', 'project'] as const) {
    app.get(`/${kind}s/:id/members`, async (request, reply) => {
      const actor = requireActor(request).user;
      const query = parseInput(listMembersQuery, request.query);
      const { source, can } = await findMemberSource(ctx, actor, kind, parseInput(memberSourceParams, request.params).id);
      const params = { ...query, id: (request.params as { id: string }).id };
      const members = await paginate(request, reply, query, params, memberListSource(ctx, source, can, query), { externalUrl });
      const base = baseUrl(request, externalUrl);
      return members.map((m) => presentMember(m, base));
    });

    app.post(`/${kind}s/:id/members`, async (request, reply) => {
      const actor = requireActor(request).user;
      const input = parseAddMember(request.body);
      const { source, can } = await findMemberSource(ctx, actor, kind, parseInput(memberSourceParams, request.params).id);
      const member = await addMember(ctx, actor, source, can, input);
      reply.code(201);
      return presentMember(member, baseUrl(request, externalUrl));
    });
  }
}
