import crypto from 'node:crypto';
import type { AppContext } from '../../src/context.js';
import type { Namespace, Project, Runner, User } from '../../src/generated/prisma/client.js';
import { newNamespaceRegistrationToken, newPersonalAccessToken, newRunnerToken, type RunnerTypeName } from '../../src/lib/tokens.js';
import type { Scope } from '../../src/plugins/auth.js';

const RUNNER_TYPE_ID: Record<RunnerTypeName, number> = { instance_type: 1, group_type: 2, project_type: 3 };
const uniq = () => crypto.randomBytes(4).toString('hex');

/** Builders that write fixtures straight to the database, for test setup only. */
export class Fixtures {
  constructor(private readonly ctx: AppContext) {}

  async user(opts: { username?: string; admin?: boolean; state?: string; scopes?: Scope[] } = {}): Promise<{ user: User; token: string }> {
    const username = opts.username ?? `user_${uniq()}`;
    const user = await this.ctx.prisma.user.create({
      data: { username, name: username, email: `${username}@example.com`, admin: opts.admin ?? false, state: opts.state ?? 'active' },
    });
    const ns = await this.ctx.prisma.namespace.create({
      data: { kind: 'user', name: username, path: username, full_path: username, owner_id: user.id },
    });
    await this.ctx.prisma.namespace.update({ where: { id: ns.id }, data: { traversal_ids: [ns.id] } });
    const token = await this.token(user, opts.scopes ?? ['api']);
    return { user, token };
  }

  async token(user: User, scopes: Scope[], opts: { expiresAt?: Date; revoked?: boolean } = {}): Promise<string> {
    const token = newPersonalAccessToken();
    await this.ctx.prisma.personalAccessToken.create({
      data: {
        user_id: user.id,
        name: 'fixture',
        token_digest: this.ctx.secrets.digest(token),
        scopes,
        expires_at: opts.expiresAt ?? null,
        revoked: opts.revoked ?? false,
      },
    });
    return token;
  }

  async group(opts: { path?: string; parent?: Namespace; visibility?: string } = {}): Promise<Namespace & { runnersToken: string }> {
    const path = opts.path ?? `group-${uniq()}`;
    const runnersToken = newNamespaceRegistrationToken();
    const ns = await this.ctx.prisma.namespace.create({
      data: {
        kind: 'group',
        name: path,
        path,
        full_path: opts.parent ? `${opts.parent.full_path}/${path}` : path,
        parent_id: opts.parent?.id ?? null,
        visibility: opts.visibility ?? 'private',
        runners_token_encrypted: this.ctx.secrets.encrypt(runnersToken),
        runners_token_digest: this.ctx.secrets.digest(runnersToken),
      },
    });
    const updated = await this.ctx.prisma.namespace.update({
      where: { id: ns.id },
      data: { traversal_ids: [...(opts.parent?.traversal_ids ?? []), ns.id] },
    });
    return Object.assign(updated, { runnersToken });
  }

  async project(opts: { namespace: Namespace; path?: string; visibility?: string; sharedRunnersEnabled?: boolean; groupRunnersEnabled?: boolean }): Promise<Project & { runnersToken: string }> {
    const path = opts.path ?? `project-${uniq()}`;
    const runnersToken = newNamespaceRegistrationToken();
    const project = await this.ctx.prisma.project.create({
      data: {
        namespace_id: opts.namespace.id,
        name: path,
        path,
        path_with_namespace: `${opts.namespace.full_path}/${path}`,
        visibility: opts.visibility ?? 'private',
        shared_runners_enabled: opts.sharedRunnersEnabled ?? true,
        group_runners_enabled: opts.groupRunnersEnabled ?? true,
        runners_token_encrypted: this.ctx.secrets.encrypt(runnersToken),
        runners_token_digest: this.ctx.secrets.digest(runnersToken),
      },
    });
    await this.ctx.prisma.protectedBranch.create({ data: { project_id: project.id, name: project.default_branch } });
    return Object.assign(project, { runnersToken });
  }

  async groupMember(group: Namespace, user: User, accessLevel: number) {
    return this.ctx.prisma.groupMember.create({ data: { group_id: group.id, user_id: user.id, access_level: accessLevel } });
  }

  async projectMember(project: Project, user: User, accessLevel: number) {
    return this.ctx.prisma.projectMember.create({ data: { project_id: project.id, user_id: user.id, access_level: accessLevel } });
  }

  async runner(
    opts: {
      type?: RunnerTypeName;
      group?: Namespace;
      projects?: Project[];
      tags?: string[];
      active?: boolean;
      locked?: boolean;
      runUntagged?: boolean;
      accessLevel?: 0 | 1;
      description?: string;
      contactedAt?: Date | null;
      createdAt?: Date;
      creator?: User;
      maintenanceNote?: string;
    } = {},
  ): Promise<{ runner: Runner; token: string }> {
    const type = opts.type ?? (opts.group ? 'group_type' : opts.projects?.length ? 'project_type' : 'instance_type');
    const created = opts.creator !== undefined;
    const token = newRunnerToken(type, created);
    const runner = await this.ctx.prisma.runner.create({
      data: {
        runner_type: RUNNER_TYPE_ID[type],
        description: opts.description ?? `runner ${uniq()}`,
        active: opts.active ?? true,
        locked: opts.locked ?? false,
        run_untagged: opts.runUntagged ?? true,
        access_level: opts.accessLevel ?? 0,
        tag_list: opts.tags ?? [],
        maintenance_note: opts.maintenanceNote ?? null,
        registration_type: created ? 1 : 0,
        creator_id: opts.creator?.id ?? null,
        sharding_key_id: type === 'group_type' ? opts.group!.id : type === 'project_type' ? opts.projects![0]!.id : null,
        token_digest: this.ctx.secrets.digest(token),
        contacted_at: opts.contactedAt ?? null,
        created_at: opts.createdAt ?? new Date(),
        runner_namespaces: type === 'group_type' ? { create: { namespace_id: opts.group!.id } } : undefined,
        runner_projects: type === 'project_type' ? { create: opts.projects!.map((p) => ({ project_id: p.id })) } : undefined,
      },
    });
    return { runner, token };
  }
}
