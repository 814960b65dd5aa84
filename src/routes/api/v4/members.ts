import type { FastifyInstance } from 'fastify';
import { baseUrl, paginate } from '../../../lib/pagination.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentMember } from '../../../presenters/member.js';
import { parseInput } from '../../../schemas/common.js';
import { listMembersQuery, memberSourceParams, parseAddMember } from '../../../schemas/members.js';
import { addMember, memberListSource, type MemberSource } from '../../../services/members/member-service.js';
import { authorize, findGroupFor, findProjectFor } from '../../../services/namespaces/access-service.js';

// Direct members of groups and projects (lib/api/members.rb). Every route
// needs a signed-in user (GitLab's `before { authenticate! }`).

export default async function membersRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const externalUrl = ctx.config.EXTERNAL_URL;

  for (const kind of ['group', 'project'] as const) {
    const find = async (actor: Parameters<typeof findGroupFor>[1], raw: unknown) => {
      const { id } = parseInput(memberSourceParams, raw);
      if (kind === 'group') {
        const { subject, can } = await findGroupFor(ctx, actor, id);
        return { source: { kind, group: subject } as MemberSource, can };
      }
      const { subject, can } = await findProjectFor(ctx, actor, id);
      return { source: { kind, project: subject } as MemberSource, can };
    };

    app.get(`/${kind}s/:id/members`, async (request, reply) => {
      const actor = requireActor(request).user;
      const query = parseInput(listMembersQuery, request.query);
      const { source, can } = await find(actor, request.params);
      authorize(can, 'read_members');
      const params = { ...query, id: (request.params as { id: string }).id };
      const members = await paginate(request, reply, query, params, memberListSource(ctx, source, query), { externalUrl });
      const base = baseUrl(request, externalUrl);
      return members.map((m) => presentMember(m, base));
    });

    app.post(`/${kind}s/:id/members`, async (request, reply) => {
      const actor = requireActor(request).user;
      const input = parseAddMember(request.body);
      const { source, can } = await find(actor, request.params);
      const member = await addMember(ctx, actor, source, can, input);
      reply.code(201);
      return presentMember(member, baseUrl(request, externalUrl));
    });
  }
}
