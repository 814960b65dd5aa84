import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { cleanupServers, ROOT, startServer, type ServerProcess } from '../helpers/server-process.js';

// The admin CLI (docs/fleet-management.md), run as a child process the way
// an operator runs it.

const DAY = 86_400_000;

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const key of ['NODE_OPTIONS', ...(env.DATABASE_URL ? [] : ['DATABASE_URL'])]) delete fullEnv[key];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('against DATABASE_URL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('token create prints a working token for root (audited), cleanup and stats use the same rules as the API, bad usage exits 2', async () => {
    const env = { DATABASE_URL: t.dbUrl };
    const old = await t.fx.runner({ type: 'instance_type', description: 'ancient', contactedAt: new Date(Date.now() - 30 * DAY), createdAt: new Date(Date.now() - 60 * DAY) });
    const fresh = await t.fx.runner({ type: 'instance_type', contactedAt: new Date() });
    const [created, dry, noFilter, help] = await Promise.all([
      cli(['token', 'create', '--user', 'root', '--scopes', 'api,sudo', '--name', 'recovery'], env),
      cli(['runners', 'cleanup', '--stale', '--dry-run', '--json'], env),
      cli(['runners', 'cleanup'], env),
      cli(['--help'], env),
    ]);
    expect(created.code).toBe(0);
    const token = created.stdout.split('\n')[0]!;
    expect(token).toMatch(/^glpat-[A-Za-z0-9_-]{20}$/);
    const me = await t.api({ method: 'GET', url: '/api/v4/user', token });
    expect([me.statusCode, me.json().username]).toEqual([200, 'root']);
    const event = await t.ctx.prisma.auditEvent.findFirstOrThrow({ where: { event_name: 'personal_access_token_created' } });
    expect(event).toMatchObject({ author_name: 'Admin CLI', entity_type: 'User', target_details: 'recovery' });

    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({
      dry_run: true, matched: 1, deleted: 0,
      runners: [{ id: old.runner.id, description: 'ancient', runner_type: 'instance_type', contacted_at: old.runner.contacted_at!.toISOString() }],
    });
    expect([noFilter.code, noFilter.stderr.trim()]).toEqual([2, 'error: type, status, paused, tag_list, version_prefix, contacted_before are missing, at least one parameter must be provided']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('token create --user USER --scopes');

    const [deleted, stats] = await Promise.all([cli(['runners', 'cleanup', '--stale'], env), cli(['runners', 'stats', '--json'], env)]);
    expect([deleted.code, deleted.stdout.split('\n')[0]]).toEqual([0, '1 runner(s) matched; deleted 1']);
    expect(await t.ctx.prisma.runner.count({ where: { id: { in: [old.runner.id, fresh.runner.id] } } })).toBe(1);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).total).toBeGreaterThanOrEqual(1);
  }, 180_000);
});

describe('against the embedded database in DATA_DIR', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cli-'));
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await cleanupServers(dataDir, server ? [server.proc] : []);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts the embedded PostgreSQL when no server runs, and uses the running server’s when one does', async () => {
    const migrated = await cli(['migrate'], { DATA_DIR: dataDir });
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/^applied \d+ migration\(s\):\n/);
    server = await startServer(dataDir);
    const created = await cli(['token', 'create', '--user', 'root', '--scopes', 'api'], { DATA_DIR: dataDir });
    expect(created.code).toBe(0);
    const res = await fetch(`${server.url}/api/v4/user`, { headers: { 'private-token': created.stdout.split('\n')[0]! } });
    expect(res.status).toBe(200);
    const status = await cli(['status', '--json'], { DATA_DIR: dataDir });
    expect(JSON.parse(status.stdout)).toMatchObject({ database: { reachable: true, source: 'running embedded PostgreSQL' }, migrations: { pending: [] } });
  }, 180_000);
});
