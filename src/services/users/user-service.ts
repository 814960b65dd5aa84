import type { AppContext } from '../../context.js';
import { INTERACTIVE_TX } from '../../db/client.js';
import type { PersonalAccessToken, User } from '../../generated/prisma/client.js';
import type { Scope } from '../../domain/scopes.js';
import type { ListUsersQuery, CreateUserInput, CreatePersonalAccessTokenInput } from '../../schemas/users.js';
import type { PageSource } from '../../lib/pagination.js';
import { apiError, conflict, forbidden, notFound, validationError } from '../../lib/errors.js';
import { newPersonalAccessToken } from '../../lib/tokens.js';
import { instanceAbilities } from '../../policies/instance-policy.js';
import { addError, pathErrors, type FieldErrors } from '../groups/naming.js';
import { CACHE_CHANNEL } from '../runner-cache/notifications.js';
import { runnerCache } from '../runner-cache/runner-cache.js';
import { AUDIT_EVENTS, recordAuditEvent } from '../audit/audit-service.js';
import { withTransaction } from '../pipelines/transaction.js';

export type PatLookup =
  | { kind: 'ok'; user: User; scopes: Scope[]; tokenId: number }
  | { kind: 'unknown' }
  | { kind: 'expired' }
  | { kind: 'revoked' };

/** Today's date in UTC as YYYY-MM-DD; a PAT expires at the start of its expires_at day. */
const todayUtc = () => new Date().toISOString().slice(0, 10);

interface PatRow extends User {
  token_id: number;
  token_scopes: string[];
  token_revoked: boolean;
  /** expires_at as text: a `date` has no time zone, and pg would read it as local midnight. */
  token_expires_on: string | null;
}

/**
 * Every API call authenticates, so this is on every request's path: valid
 * tokens come from the runner cache's token cache (5 s, evicted on every
 * instance when revoked, see personalAccessTokenChanged/userChanged), and
 * a lookup is one raw query (token + user). Expiry is checked on every use.
 */
export async function authenticatePersonalAccessToken(ctx: AppContext, token: string): Promise<PatLookup> {
  const digest = ctx.secrets.knownDigest(token) ?? ctx.secrets.digest(token);
  const pats = runnerCache(ctx).pats;
  const today = todayUtc();
  const cached = pats.get(digest);
  if (cached) {
    if (cached.expiresOn !== null && cached.expiresOn <= today) return { kind: 'expired' };
    return { kind: 'ok', user: cached.user, scopes: cached.scopes as Scope[], tokenId: cached.patId };
  }
  const generation = pats.beginLoad();
  const { rows } = await ctx.pool.query<PatRow>(
    `SELECT u.*, t.id AS token_id, t.scopes AS token_scopes, t.revoked AS token_revoked, t.expires_at::text AS token_expires_on
     FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_digest = $1`,
    [digest],
  );
  const row = rows[0];
  if (!row) return { kind: 'unknown' };
  const { token_id, token_scopes, token_revoked, token_expires_on, ...user } = row;
  if (token_revoked) return { kind: 'revoked' };
  if (token_expires_on !== null && token_expires_on <= today) return { kind: 'expired' };
  pats.put(digest, { patId: token_id, user, scopes: token_scopes, expiresOn: token_expires_on, cachedAt: Date.now() }, generation);
  ctx.secrets.rememberDigest(token, digest);
  return { kind: 'ok', user, scopes: token_scopes as Scope[], tokenId: token_id };
}

/**
 * Revokes a personal access token; it stops working on every instance at
 * once (the NOTIFY goes out in the same statement as the change).
 */
export async function revokePersonalAccessToken(ctx: AppContext, tokenId: number): Promise<boolean> {
  // The change, its audit event and the NOTIFY commit together.
  const revoked = await withTransaction(ctx, async (tx) => {
    const res = await tx.query<{ user_id: number; name: string; username: string }>(
      `WITH revoked AS (UPDATE personal_access_tokens SET revoked = true WHERE id = $1 AND NOT revoked RETURNING id, user_id, name),
            notified AS (SELECT pg_notify($2, 't:' || id) FROM revoked)
       SELECT r.user_id, r.name, u.username FROM revoked r JOIN users u ON u.id = r.user_id, (SELECT count(*) FROM notified) n`,
      [tokenId, CACHE_CHANNEL],
    );
    const row = res.rows[0];
    if (row) {
      await recordAuditEvent(tx, {
        eventName: AUDIT_EVENTS.patRevoked,
        message: `Revoked personal access token with id ${tokenId}`,
        entity: { type: 'User', id: row.user_id, path: row.username },
        target: { type: 'PersonalAccessToken', id: tokenId, details: row.name },
      });
    }
    return row !== undefined;
  });
  runnerCache(ctx).apply({ kind: 'token', id: tokenId });
  return revoked;
}

export async function findUserByIdOrUsername(ctx: AppContext, idOrUsername: string): Promise<User | null> {
  if (/^\d+$/.test(idOrUsername)) {
    const id = Number(idOrUsername);
    if (id > 2_147_483_647) return null;
    return ctx.prisma.user.findUnique({ where: { id } });
  }
  return ctx.prisma.user.findFirst({ where: { username: { equals: idOrUsername, mode: 'insensitive' } } });
}

// ---------------------------------------------------------------------------
// The users API (lib/api/users.rb): lists, creation with the personal
// namespace, and personal access tokens issued by an admin.

/** Users that are neither blocked nor banned: all a non-admin may list (UsersFinder). */
const LISTABLE_STATES = ['active'];
const USER_ORDER_COLUMNS = { id: 'id', name: 'name', username: 'username', created_at: 'created_at', updated_at: 'updated_at' } as const;

// `admin_users` does not depend on the registration-token switch.
const isAdmin = (viewer: User | null) => instanceAbilities(viewer, { allowRunnerRegistrationToken: false }).has('admin_users');

/**
 * GET /users. Anonymous callers must name a `username` (GitLab refuses to
 * list the whole instance to them); admins see every state and may sort.
 */
export function userListSource(
  ctx: AppContext,
  viewer: User | null,
  q: ListUsersQuery,
): PageSource<User> {
  if (!viewer && !q.username) throw forbidden('Not authorized to access /api/v4/users');
  const admin = isAdmin(viewer);
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (!admin) where.push(`state = ANY(${arg(LISTABLE_STATES)}::text[])`);
  if (q.username !== undefined) where.push(`lower(username) = lower(${arg(q.username)})`);
  if (q.search !== undefined && q.search !== '') {
    const like = arg(`%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(username ILIKE ${like} OR name ILIKE ${like} OR lower(email) = lower(${arg(q.search)}))`);
  }
  if (q.active) where.push(`state = 'active'`);
  if (q.blocked) where.push(`state IN ('blocked', 'ldap_blocked')`);
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  // UsersFinder orders by id DESC; only admins may choose another order.
  const column = admin && q.order_by ? USER_ORDER_COLUMNS[q.order_by] : 'id';
  const direction = admin && q.sort === 'asc' ? 'ASC' : 'DESC';
  const order = column === 'id' ? `id ${direction}` : `${column} ${direction}, id ${direction}`;
  return {
    count: async (limit) => {
      const r = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM users ${clause} LIMIT ${limit}) t`, args);
      return Number(r.rows[0]!.n);
    },
    items: async (offset, limit) => {
      const r = await ctx.pool.query<User>(`SELECT * FROM users ${clause} ORDER BY ${order} OFFSET ${offset} LIMIT ${limit}`, args);
      return r.rows;
    },
  };
}

/** GET /users/:id: anonymous callers are refused before the lookup, as GitLab does. */
export async function findUserFor(ctx: AppContext, viewer: User | null, id: number): Promise<User> {
  if (!viewer) throw forbidden('Not authorized!');
  const user = id > 0 ? await ctx.prisma.user.findUnique({ where: { id } }) : null;
  if (!user) throw notFound('User');
  return user;
}

export async function personalNamespaceId(ctx: AppContext, userId: number): Promise<number | null> {
  const ns = await ctx.prisma.namespace.findUnique({ where: { owner_id: userId }, select: { id: true } });
  return ns?.id ?? null;
}

/** User#highest_role: the highest access level over all of the user's memberships (0 = none). */
export async function highestRole(ctx: AppContext, userId: number): Promise<number> {
  const r = await ctx.pool.query<{ level: number | null }>(
    `SELECT max(level) AS level FROM (
       SELECT access_level AS level FROM group_members WHERE user_id = $1
       UNION ALL SELECT access_level FROM project_members WHERE user_id = $1) l`,
    [userId],
  );
  return r.rows[0]?.level ?? 0;
}

/** Admins only (GitLab's `authenticated_as_admin!`): 403 {"message":"403 Forbidden"}. */
export function requireAdmin(viewer: User): void {
  if (!isAdmin(viewer)) throw forbidden();
}

const EMAIL_FORMAT = /^[^@\s]+@[^@\s]+$/;

function userErrors(input: CreateUserInput): FieldErrors {
  const errors: FieldErrors = {};
  if (input.email.trim() === '') addError(errors, 'email', "can't be blank");
  else if (!EMAIL_FORMAT.test(input.email)) addError(errors, 'email', 'is invalid');
  if (input.name.trim() === '') addError(errors, 'name', "can't be blank");
  else if (input.name.length > 255) addError(errors, 'name', 'is too long (maximum is 255 characters)');
  for (const msg of pathErrors(input.username, { topLevel: true })) addError(errors, 'username', msg);
  if (input.password !== undefined) {
    if (input.password.length < 8) addError(errors, 'password', 'is too short (minimum is 8 characters)');
    else if (input.password.length > 128) addError(errors, 'password', 'is too long (maximum is 128 characters)');
  }
  return errors;
}

/**
 * POST /users (admin): the user and their personal namespace, in one
 * transaction. Taken e-mail or username → 409 as GitLab; other invalid
 * attributes → 400 with errors.messages. Passwords are checked like GitLab's
 * but not kept: this server has no web sign-in.
 */
export async function createUser(ctx: AppContext, actor: User, input: CreateUserInput): Promise<{ user: User; namespaceId: number }> {
  requireAdmin(actor);
  const email = input.email.trim();
  const [emailTaken, usernameTaken] = await Promise.all([
    ctx.prisma.user.findFirst({ where: { email: { equals: email, mode: 'insensitive' } }, select: { id: true } }),
    ctx.prisma.user.findFirst({ where: { username: { equals: input.username, mode: 'insensitive' } }, select: { id: true } }),
  ]);
  if (emailTaken) throw conflict('Email has already been taken');
  if (usernameTaken) throw conflict('Username has already been taken');
  const errors = userErrors(input);
  // The personal namespace shares the top-level path space with groups.
  if (!errors.username) {
    const clash = await ctx.prisma.namespace.findFirst({ where: { full_path: { equals: input.username, mode: 'insensitive' } }, select: { id: true } });
    if (clash) addError(errors, 'username', 'has already been taken');
  }
  if (Object.keys(errors).length) throw validationError(errors);

  return ctx.prisma.$transaction(async (tx) => {
    const user = await tx.user.create({
      data: { username: input.username, name: input.name, email, admin: input.admin ?? false, state: 'active' },
    });
    const ns = await tx.namespace.create({
      data: { kind: 'user', name: user.name, path: user.username, full_path: user.username, owner_id: user.id },
    });
    await tx.namespace.update({ where: { id: ns.id }, data: { traversal_ids: [ns.id] } });
    return { user, namespaceId: ns.id };
  }, INTERACTIVE_TX);
}

/** GitLab (16.0+) gives tokens without an expiry date the instance maximum: 365 days. */
const DEFAULT_PAT_LIFETIME_DAYS = 365;

/** POST /users/:user_id/personal_access_tokens (admin): the row and the plain token, shown once. */
export async function createPersonalAccessToken(
  ctx: AppContext,
  actor: User,
  userId: number,
  input: CreatePersonalAccessTokenInput,
): Promise<{ pat: PersonalAccessToken; token: string }> {
  requireAdmin(actor);
  const user = userId > 0 ? await ctx.prisma.user.findUnique({ where: { id: userId }, select: { id: true, username: true } }) : null;
  if (!user) throw notFound('User');
  if (input.scopes.length === 0) throw apiError(422, "Scopes can't be blank");
  if (input.name.trim() === '') throw apiError(422, "Name can't be blank");
  const token = newPersonalAccessToken();
  const today = new Date(new Date().toISOString().slice(0, 10));
  const expiresAt = input.expires_at ?? new Date(today.getTime() + DEFAULT_PAT_LIFETIME_DAYS * 86_400_000);
  const pat = await ctx.prisma.$transaction(async (tx) => {
    const created = await tx.personalAccessToken.create({
      data: { user_id: user.id, name: input.name, token_digest: ctx.secrets.digest(token), scopes: [...new Set(input.scopes)], expires_at: expiresAt },
    });
    await recordAuditEvent(tx, {
      eventName: AUDIT_EVENTS.patCreated,
      message: `Created personal access token with id ${created.id}`,
      entity: { type: 'User', id: user.id, path: user.username },
      target: { type: 'PersonalAccessToken', id: created.id, details: created.name },
      details: { scopes: created.scopes, expires_at: expiresAt.toISOString().slice(0, 10) },
    });
    return created;
  }, INTERACTIVE_TX);
  return { pat, token };
}
