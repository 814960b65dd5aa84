import type { AppContext } from '../../context.js';
import type { User } from '../../generated/prisma/client.js';
import type { Scope } from '../../plugins/auth.js';

export type PatLookup =
  | { kind: 'ok'; user: User; scopes: Scope[]; tokenId: number }
  | { kind: 'unknown' }
  | { kind: 'expired' }
  | { kind: 'revoked' };

/** Today's date in UTC as YYYY-MM-DD; a PAT expires at the start of its expires_at day. */
const todayUtc = () => new Date().toISOString().slice(0, 10);

export async function authenticatePersonalAccessToken(ctx: AppContext, token: string): Promise<PatLookup> {
  const row = await ctx.prisma.personalAccessToken.findUnique({
    where: { token_digest: ctx.secrets.digest(token) },
    include: { user: true },
  });
  if (!row) return { kind: 'unknown' };
  if (row.revoked) return { kind: 'revoked' };
  if (row.expires_at && row.expires_at.toISOString().slice(0, 10) <= todayUtc()) return { kind: 'expired' };
  return { kind: 'ok', user: row.user, scopes: row.scopes as Scope[], tokenId: row.id };
}

export async function findUserByIdOrUsername(ctx: AppContext, idOrUsername: string): Promise<User | null> {
  if (/^\d+$/.test(idOrUsername)) {
    const id = Number(idOrUsername);
    if (id > 2_147_483_647) return null;
    return ctx.prisma.user.findUnique({ where: { id } });
  }
  return ctx.prisma.user.findFirst({ where: { username: { equals: idOrUsername, mode: 'insensitive' } } });
}
