import type { AppContext } from '../../context.js';
import type { Prisma, PrismaClient, ProtectedBranch } from '../../generated/prisma/client.js';
import { apiError } from '../../lib/errors.js';

// Protected branches decide `protected` on pipelines and jobs, which is what
// a `ref_protected` runner filters on. Names may hold `*` wildcards, as in
// GitLab (`release/*`).

/** Matches a branch name against a protected-branch name (with `*` wildcards). */
export function branchMatches(pattern: string, ref: string): boolean {
  if (!pattern.includes('*')) return pattern === ref;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(ref);
}

export async function isProtectedRef(ctx: AppContext, projectId: number, ref: string): Promise<boolean> {
  const branches = await ctx.prisma.protectedBranch.findMany({ where: { project_id: projectId }, select: { name: true } });
  return branches.some((b) => branchMatches(b.name, ref));
}

/**
 * GitLab protects a new project's default branch. Project creation calls this
 * inside its own transaction (`tx`); it is a no-op when already protected.
 */
export async function protectDefaultBranch(
  ctx: AppContext,
  tx: Prisma.TransactionClient | PrismaClient | undefined,
  projectId: number,
  branch: string,
): Promise<void> {
  const db = tx ?? ctx.prisma;
  await db.protectedBranch.createMany({ data: [{ project_id: projectId, name: branch }], skipDuplicates: true });
}

/** ActiveRecord::RecordNotFound as GitLab's API renders it. */
const recordNotFound = () => apiError(404, '404 Not found');

const listWhere = (projectId: number, search?: string) => ({ project_id: projectId, ...(search ? { name: { contains: search } } : {}) });

export async function countProtectedBranches(ctx: AppContext, projectId: number, limit: number, search?: string): Promise<number> {
  const rows = await ctx.prisma.protectedBranch.findMany({ where: listWhere(projectId, search), select: { id: true }, take: limit });
  return rows.length;
}

export function listProtectedBranches(ctx: AppContext, projectId: number, offset: number, limit: number, search?: string): Promise<ProtectedBranch[]> {
  return ctx.prisma.protectedBranch.findMany({ where: listWhere(projectId, search), orderBy: { id: 'asc' }, skip: offset, take: limit });
}

export async function findProtectedBranch(ctx: AppContext, projectId: number, name: string): Promise<ProtectedBranch> {
  const branch = await ctx.prisma.protectedBranch.findUnique({ where: { project_id_name: { project_id: projectId, name } } });
  if (!branch) throw recordNotFound();
  return branch;
}

export async function createProtectedBranch(ctx: AppContext, projectId: number, name: string): Promise<ProtectedBranch> {
  const existing = await ctx.prisma.protectedBranch.findUnique({ where: { project_id_name: { project_id: projectId, name } } });
  if (existing) throw apiError(409, `Protected branch '${name}' already exists`);
  try {
    return await ctx.prisma.protectedBranch.create({ data: { project_id: projectId, name } });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw apiError(409, `Protected branch '${name}' already exists`);
    throw err;
  }
}

export async function deleteProtectedBranch(ctx: AppContext, projectId: number, name: string): Promise<void> {
  const { count } = await ctx.prisma.protectedBranch.deleteMany({ where: { project_id: projectId, name } });
  if (count === 0) throw recordNotFound();
}
