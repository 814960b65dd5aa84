import type { AppContext } from '../context.js';
import { connectDatabase, type Database } from '../db/client.js';
import { bootstrap } from '../db/bootstrap.js';
import { migrate, readMigrations } from '../db/migrate.js';
import type { Config } from '../config.js';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { SecretBox } from '../lib/tokens.js';
import { atLeastOneOf, parseInput } from '../schemas/common.js';
import { CLEANUP_FILTER_KEYS, runnerCleanupBody } from '../schemas/runner-cleanup.js';
import { createPersonalAccessTokenParams } from '../schemas/users.js';
import { DatabaseAvailability } from '../db/availability.js';
import { paramError } from '../lib/errors.js';
import { UNAUTHENTICATED_AUTHOR_ID, withAuditOrigin } from '../services/audit/audit-context.js';
import { cleanupRunners, type CleanupResult } from '../services/runners/runner-cleanup-service.js';
import { RUNNER_TYPE_NAMES, runnerStatus } from '../services/runners/runner-core.js';
import { createPersonalAccessToken } from '../services/users/user-service.js';
import { openCliDatabase, redactUrl, type CliDatabase } from './database.js';

// What each admin CLI command does, on the same services as the API.
// Every command returns a result for --json and the lines printed otherwise.

export class UsageError extends Error {}

export interface CommandResult {
  json: unknown;
  human: string[];
}

/** Audit author of everything the CLI changes: not a user, but a person at the server's console. */
const CLI_AUTHOR = { id: UNAUTHENTICATED_AUTHOR_ID, name: 'Admin CLI' };

async function withContext<T>(config: Config, fn: (ctx: AppContext, db: Database, where: CliDatabase) => Promise<T>): Promise<T> {
  const where = await openCliDatabase(config);
  let db: Database | undefined;
  try {
    await migrate(where.url);
    db = connectDatabase(where.url, { max: 3 });
    const boot = await bootstrap(db, config);
    const ctx: AppContext = {
      config,
      prisma: db.prisma,
      pool: db.pool,
      preparedPool: db.preparedPool,
      session: db.session,
      probe: db.probe,
      secrets: new SecretBox(boot.secretKey),
      log: pino({ level: 'silent' }) as unknown as FastifyBaseLogger,
      availability: new DatabaseAvailability(db.pool),
    };
    try {
      return await withAuditOrigin({ author: CLI_AUTHOR, ipAddress: null }, () => fn(ctx, db!, where));
    } finally {
      ctx.availability.close();
    }
  } finally {
    await db?.close().catch(() => undefined);
    await where.close();
  }
}

export async function tokenCreate(config: Config, opts: { user?: string; scopes?: string; expiresAt?: string; name?: string }): Promise<CommandResult> {
  if (!opts.user) throw new UsageError('--user is required');
  if (!opts.scopes) throw new UsageError('--scopes is required (e.g. --scopes api,sudo)');
  const parsed = createPersonalAccessTokenParams.run({ name: opts.name ?? 'admin CLI token', scopes: opts.scopes, expires_at: opts.expiresAt });
  // The endpoint's messages, in its words.
  if (!parsed.ok) throw paramError(parsed.messages.join(', '));
  const input = parsed.value;
  return withContext(config, async (ctx) => {
    const user = await ctx.prisma.user.findFirst({ where: /^\d+$/.test(opts.user!) ? { id: Number(opts.user) } : { username: opts.user! } });
    if (!user) throw new UsageError(`no user "${opts.user}"`);
    // The service requires an admin; the console is one.
    const { pat, token } = await createPersonalAccessToken(ctx, { ...user, admin: true }, user.id, input);
    const expires = pat.expires_at ? pat.expires_at.toISOString().slice(0, 10) : null;
    return {
      json: { id: pat.id, user: user.username, name: pat.name, scopes: pat.scopes, expires_at: expires, token },
      human: [token, `(personal access token ${pat.id} for ${user.username}, scopes ${pat.scopes.join(',')}, expires ${expires ?? 'never'}; shown once)`],
    };
  });
}

export async function runnersStats(config: Config): Promise<CommandResult> {
  return withContext(config, async (ctx) => {
    const now = Date.now();
    const rows = await ctx.pool.query<{ runner_type: number; active: boolean; contacted_at: Date | null; created_at: Date }>(
      'SELECT runner_type, active, contacted_at, created_at FROM runners',
    );
    const byType: Record<string, number> = { instance_type: 0, group_type: 0, project_type: 0 };
    const byStatus: Record<string, number> = { online: 0, offline: 0, stale: 0, never_contacted: 0, paused: 0 };
    for (const r of rows.rows) {
      byType[RUNNER_TYPE_NAMES[r.runner_type]!]! += 1;
      byStatus[runnerStatus(r, now)]! += 1;
    }
    const versions = await ctx.pool.query<{ version: string; runners: number }>(
      `SELECT COALESCE(version, 'unknown') AS version, count(DISTINCT runner_id)::int AS runners FROM runner_managers GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
    );
    const total = rows.rowCount ?? 0;
    const json = { total, by_type: byType, by_status: byStatus, versions: versions.rows };
    const human = [
      `runners: ${total}`,
      `by type:   ${Object.entries(byType).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `by status: ${Object.entries(byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `versions:  ${versions.rows.length ? versions.rows.map((v) => `${v.version} ${v.runners}`).join(', ') : '(no runner has reported one)'}`,
    ];
    return { json, human };
  });
}

export async function runnersCleanup(
  config: Config,
  opts: { stale?: boolean; contactedBefore?: string; dryRun?: boolean; limit?: string; type?: string; status?: string; tagList?: string; versionPrefix?: string },
): Promise<CommandResult> {
  const input = parseInput(runnerCleanupBody, {
    status: opts.stale ? 'stale' : opts.status,
    type: opts.type,
    tag_list: opts.tagList,
    version_prefix: opts.versionPrefix,
    contacted_before: opts.contactedBefore,
    limit: opts.limit,
    dry_run: opts.dryRun === true,
  });
  // Refused before any database is opened, in the endpoint's words.
  atLeastOneOf(input as Record<string, unknown>, [...CLEANUP_FILTER_KEYS]);
  return withContext(config, async (ctx) => {
    const result: CleanupResult = await cleanupRunners(ctx, { kind: 'instance' }, input);
    const verb = result.dry_run ? 'would delete' : 'deleted';
    const human = [
      `${result.matched} runner(s) matched; ${verb} ${result.dry_run ? result.runners.length : result.deleted}${result.dry_run ? ' (dry run: nothing deleted)' : ''}`,
      ...result.runners.map((r) => `  #${r.id}  ${r.runner_type.padEnd(13)}  last contact ${r.contacted_at ?? 'never'}  ${r.description ?? ''}`.trimEnd()),
    ];
    return { json: result, human };
  });
}

export async function migrateCommand(config: Config): Promise<CommandResult> {
  const where = await openCliDatabase(config);
  try {
    const applied = await migrate(where.url);
    return {
      json: { applied },
      human: applied.length ? [`applied ${applied.length} migration(s):`, ...applied.map((m) => `  ${m}`)] : ['database is up to date; nothing to apply'],
    };
  } finally {
    await where.close();
  }
}

export async function statusCommand(config: Config): Promise<CommandResult> {
  const where = await openCliDatabase(config);
  const db = connectDatabase(where.url, { max: 1 });
  try {
    await db.pool.query('SELECT 1');
    const known = readMigrations().map((m) => m.name);
    const ledger = await db.pool
      .query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL')
      .catch(() => ({ rows: [] as { migration_name: string }[] }));
    const applied = new Set(ledger.rows.map((r) => r.migration_name));
    const pending = known.filter((m) => !applied.has(m));
    const counts: Record<string, number | null> = {};
    for (const [key, table] of [['users', 'users'], ['groups', "namespaces WHERE kind = 'group'"], ['projects', 'projects'], ['runners', 'runners'], ['audit_events', 'audit_events']] as const) {
      counts[key] = pending.length && !applied.size ? null : await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`).then((r) => r.rows[0]!.n, () => null);
    }
    return {
      json: { database: { reachable: true, url: redactUrl(where.url), source: where.source }, migrations: { applied: applied.size, pending }, counts },
      human: [
        `database:   reachable (${where.source}, ${redactUrl(where.url)})`,
        `migrations: ${applied.size} applied, ${pending.length ? `${pending.length} pending: ${pending.join(', ')}` : 'none pending'}`,
        `counts:     ${Object.entries(counts).map(([k, v]) => `${k} ${v ?? '-'}`).join(', ')}`,
      ],
    };
  } finally {
    await db.close();
    await where.close();
  }
}
