import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/db/embedded.js';
import { ensureDebianPackages } from './debian-packages.js';
import { cleanupServers, spawnServer, type ServerProcess } from './server-process.js';

// The topology of docs/scaling.md, on this machine: Debian's PostgreSQL 15,
// PgBouncer in transaction mode in front of it, N server instances with
// WORKERS each (DATABASE_URL through PgBouncer marked ?pgbouncer=true,
// DATABASE_DIRECT_URL straight to PostgreSQL), and nginx balancing across
// them. The configuration files written here are the ones the doc shows.

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PGBOUNCER = '/usr/sbin/pgbouncer';
const NGINX = '/usr/sbin/nginx';
/** Generous: on a busy machine every worker compiles the TypeScript sources on boot. */
const BOOT_MS = 120_000;
const isRoot = () => process.getuid?.() === 0;

/** Debian's PostgreSQL 15 and PgBouncer (installed with apt-get when root, else a message naming the command). */
export function ensurePgBouncerTools(purpose: string): void {
  ensureDebianPackages(['postgresql-15'], () => fs.existsSync(path.join(PG_BIN, 'initdb')), purpose);
  ensureDebianPackages(['pgbouncer'], () => fs.existsSync(PGBOUNCER), purpose);
}

export function ensureScaleTools(): void {
  ensurePgBouncerTools('The scale-out test');
  ensureDebianPackages(['nginx'], () => fs.existsSync(NGINX), 'The scale-out test');
}

/** initdb, PostgreSQL and PgBouncer refuse to run as root: run them as the `postgres` user then. */
const asPostgres = (cmd: string, args: string[]): [string, string[]] => (isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

function run(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}):\n${res.stderr}\n${res.stdout}`);
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch((err: Error) => (err.message.includes('exited') ? Promise.reject(err) : false))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${ms} ms`);
}

/**
 * `database` is one database's name, or `*`: every database name a client
 * asks for leads to the database of that name (what the test suite uses,
 * with a database per test file).
 */
export const pgbouncerIni = (o: { listenPort: number; pgPort: number; dir: string; database: string; adminUser: string }) => `[databases]
${o.database === '*' ? `* = host=127.0.0.1 port=${o.pgPort}` : `${o.database} = host=127.0.0.1 port=${o.pgPort} dbname=${o.database}`}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${o.listenPort}
unix_socket_dir =
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
auth_type = trust
auth_file = ${o.dir}/userlist.txt
admin_users = ${o.adminUser}
logfile = ${o.dir}/pgbouncer.log
pidfile = ${o.dir}/pgbouncer.pid
`;

export const nginxConf = (o: { listenPort: number; upstreams: number[]; dir: string }) => `daemon off;
worker_processes 1;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${o.dir}/nginx-body;
  proxy_temp_path ${o.dir}/nginx-proxy;
  fastcgi_temp_path ${o.dir}/nginx-fastcgi;
  uwsgi_temp_path ${o.dir}/nginx-uwsgi;
  scgi_temp_path ${o.dir}/nginx-scgi;
  upstream runners_api {
${o.upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${o.listenPort};
    client_max_body_size 10m;
    location / {
      proxy_pass http://runners_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 90s;
    }
  }
}
`;

export interface ScaleStack {
  /** nginx, the public entry: http://127.0.0.1:port */
  url: string;
  instances: ServerProcess[];
  directUrl: string;
  pooledUrl: string;
  /** PgBouncer's admin console (SHOW STATS, SHOW POOLS). */
  pgbouncerAdminUrl: string;
  rootToken: string;
  stop: () => Promise<void>;
}

/** PostgreSQL with PgBouncer in transaction mode in front of it, in a temporary folder. */
export interface PooledPostgres {
  dir: string;
  pgPort: number;
  bouncerPort: number;
  /** The last lines of PostgreSQL's and PgBouncer's logs (for an error message). */
  logs: () => string;
  /** Stops PgBouncer and PostgreSQL and removes the folder. */
  stop: () => Promise<void>;
}

/**
 * initdb (trust auth for local TCP), PostgreSQL on a free port, `setup` run
 * as the superuser `postgres`, then PgBouncer in transaction mode on another
 * free port with `database` (a name or `*`) and `user` (no password, trust)
 * let in. Whatever fails on the way stops what was started.
 */
export async function startPooledPostgres(opts: {
  prefix: string;
  database: string;
  user: string;
  maxConnections: number;
  setup?: (admin: pg.Client, pgPort: number) => Promise<void>;
}): Promise<PooledPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix));
  fs.chmodSync(dir, 0o755);
  const pgData = path.join(dir, 'pgdata');
  let bouncer: ChildProcess | undefined;
  const logs = () =>
    ['postgres.log', 'pgbouncer.log', 'nginx-error.log']
      .map((f) => path.join(dir, f))
      .filter((f) => fs.existsSync(f))
      .map((f) => `--- ${path.basename(f)}\n${fs.readFileSync(f, 'utf8').slice(-2000)}`)
      .join('\n');
  const stop = async () => {
    if (bouncer && bouncer.exitCode === null) {
      bouncer.kill('SIGTERM');
      await new Promise((r) => bouncer!.once('exit', r));
    }
    if (fs.existsSync(path.join(pgData, 'postmaster.pid'))) {
      const [cmd, args] = asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', pgData, '-m', 'fast', '-w', 'stop']);
      spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (isRoot()) run('chown', ['postgres:postgres', dir]);
    const pgPort = await freePort();
    run(...asPostgres(path.join(PG_BIN, 'initdb'), ['-D', pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']));
    run(
      ...asPostgres(path.join(PG_BIN, 'pg_ctl'), [
        '-D', pgData, '-l', path.join(dir, 'postgres.log'), '-w',
        '-o', `-p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${opts.maxConnections} -c fsync=off`,
        'start',
      ]),
    );
    const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${pgPort}/postgres` });
    await admin.connect();
    try {
      await opts.setup?.(admin, pgPort);
    } finally {
      await admin.end();
    }

    const bouncerPort = await freePort();
    fs.writeFileSync(path.join(dir, 'userlist.txt'), `"${opts.user}" ""\n`);
    fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), pgbouncerIni({ listenPort: bouncerPort, pgPort, dir, database: opts.database, adminUser: opts.user }));
    if (isRoot()) run('chown', ['postgres:postgres', path.join(dir, 'userlist.txt'), path.join(dir, 'pgbouncer.ini')]);
    bouncer = spawn(...asPostgres(PGBOUNCER, [path.join(dir, 'pgbouncer.ini')]), { stdio: 'ignore' });
    const probeDb = opts.database === '*' ? 'postgres' : opts.database;
    await waitFor('PgBouncer', async () => {
      if (bouncer!.exitCode !== null) throw new Error(`PgBouncer exited (${bouncer!.exitCode})`);
      const c = new pg.Client({ connectionString: `postgresql://${opts.user}@127.0.0.1:${bouncerPort}/${probeDb}` });
      await c.connect();
      await c.end();
      return true;
    });
    return { dir, pgPort, bouncerPort, logs, stop };
  } catch (err) {
    const message = `${err instanceof Error ? err.message : String(err)}\n${logs()}`;
    await stop().catch(() => undefined);
    throw new Error(message);
  }
}

export async function startScaleStack(opts: { instances: number; workers: number; rootToken: string }): Promise<ScaleStack> {
  const db = await startPooledPostgres({
    prefix: 'scale-stack-',
    database: 'gitlab_runners',
    user: 'gitlab',
    maxConnections: 200,
    setup: async (admin) => {
      await admin.query('CREATE ROLE gitlab LOGIN');
      await admin.query('CREATE DATABASE gitlab_runners OWNER gitlab');
      // Behind a pooler the server sets no session settings: they go on the database (docs/scaling.md).
      await admin.query('ALTER DATABASE gitlab_runners SET random_page_cost = 1.1');
    },
  });
  const { dir } = db;
  const children: ChildProcess[] = [];
  const instances: ServerProcess[] = [];
  const dataDirs: string[] = [];
  const stop = async () => {
    for (const s of instances) s.proc.kill('SIGTERM');
    await Promise.all(instances.map((s) => Promise.race([s.exit, new Promise((r) => setTimeout(r, 20_000))])));
    for (const d of dataDirs) await cleanupServers(d, instances.map((s) => s.proc));
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await db.stop();
  };
  try {
    const pooledUrl = `postgresql://gitlab@127.0.0.1:${db.bouncerPort}/gitlab_runners?pgbouncer=true`;
    const directUrl = `postgresql://gitlab@127.0.0.1:${db.pgPort}/gitlab_runners`;

    const ports = await Promise.all(Array.from({ length: opts.instances }, () => freePort()));
    const nginxPort = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConf({ listenPort: nginxPort, upstreams: ports, dir }));
    const nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'nginx-error.log')], { stdio: 'ignore' });
    children.push(nginx);
    // All instances boot at the same moment on one empty database.
    for (const port of ports) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scale-instance-'));
      dataDirs.push(dataDir);
      instances.push(
        spawnServer(dataDir, port, {
          WORKERS: String(opts.workers),
          DATABASE_URL: pooledUrl,
          DATABASE_DIRECT_URL: directUrl,
          DATABASE_POOL_SIZE: '5',
          INITIAL_ROOT_TOKEN: opts.rootToken,
        }),
      );
    }
    await Promise.all(
      instances.map((s) =>
        waitFor(
          `instance on ${s.port}`,
          async () => {
            if (s.proc.exitCode !== null) throw new Error(`instance on ${s.port} exited:\n${s.stderr()}`);
            return s.stdout().includes('all workers ready');
          },
          BOOT_MS,
        ).catch((err) => {
          throw new Error(`${err.message}\nstdout:\n${s.stdout().slice(-3000)}\nstderr:\n${s.stderr()}`);
        }),
      ),
    );
    const url = `http://127.0.0.1:${nginxPort}`;
    await waitFor('nginx', async () => (await fetch(`${url}/-/readiness`)).status === 200);
    return {
      url,
      instances,
      directUrl,
      pooledUrl,
      pgbouncerAdminUrl: `postgresql://gitlab@127.0.0.1:${db.bouncerPort}/pgbouncer`,
      rootToken: opts.rootToken,
      stop,
    };
  } catch (err) {
    const logs = db.logs();
    await stop().catch(() => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
}
