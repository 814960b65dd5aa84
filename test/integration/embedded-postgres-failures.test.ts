import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { packagedBuild } from '../../src/db/embedded/binaries.js';
import { StartupError } from '../../src/lib/startup-error.js';
import { isAlive } from '../helpers/server-process.js';

// docs/embedded-postgres.md, "When it cannot start": every failure to start
// the embedded PostgreSQL is a StartupError with one line that names the
// cause and the fix, leaves nothing running and releases DATA_DIR.

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-failures-'));
const newDataDir = (name: string) => path.join(scratch, name);
const mounts: string[] = [];

function linkOrCopyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isDirectory()) linkOrCopyTree(src, dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, fs.statSync(src).mode);
      }
    }
  }
}

/** The packaged build with some files replaced (unlinked first: the package's own files stay as they are). */
function buildWith(name: string, files: Record<string, string>) {
  const dir = path.join(scratch, `build-${name}`);
  linkOrCopyTree(packagedBuild().nativeDir, dir);
  for (const [file, content] of Object.entries(files)) {
    fs.rmSync(path.join(dir, file), { force: true });
    fs.writeFileSync(path.join(dir, file), content, { mode: 0o755 });
  }
  return { nativeDir: dir, version: `fixture-${name}` };
}

/** Starting must fail with a one-line StartupError; nothing may be left running or locked. */
async function startupFailure(dataDir: string, opts: Parameters<typeof startEmbeddedPostgres>[1] = {}): Promise<string> {
  const err = await startEmbeddedPostgres(dataDir, opts).then(
    (db) => db.stop().then(() => new Error('started')),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StartupError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  expect(message).toMatch(/^Embedded PostgreSQL: .+\. Fix: .+/);
  expect(fs.existsSync(path.join(dataDir, 'server.pid'))).toBe(false);
  expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  return message;
}

const occupied: net.Server[] = [];
async function occupiedPort(): Promise<number> {
  const server = net.createServer();
  occupied.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

let running: EmbeddedDatabase | undefined;

beforeAll(() => {
  fs.chmodSync(scratch, 0o755);
});

afterAll(async () => {
  await running?.stop();
  for (const s of occupied) s.close();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('embedded PostgreSQL start failures', { timeout: 120_000 }, () => {
  it('binaries missing: names the missing file and says to reinstall', async () => {
    const empty = path.join(scratch, 'empty-build');
    fs.mkdirSync(empty);
    const message = await startupFailure(newDataDir('missing'), { build: { nativeDir: empty, version: 'empty' } });
    expect(message).toBe(
      `Embedded PostgreSQL: ${path.join(empty, 'bin/postgres')} is missing. Fix: reinstall the dependencies (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  });

  it('binaries that cannot be executed: names the binary and the reason', async () => {
    const build = buildWith('garbage', { 'bin/postgres': 'not a program\n' });
    const dataDir = newDataDir('garbage');
    const message = await startupFailure(dataDir, { build });
    const copy = path.join(dataDir, 'postgres-runtime', build.version, 'bin', 'postgres');
    expect(message).toBe(
      `Embedded PostgreSQL: ${copy} does not run for the 'postgres' OS user: ${copy}: 1: not: Permission denied. Fix: reinstall the dependencies (\`rm -rf node_modules && npm ci\`), or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  });

  it('initdb fails: repeats what initdb said and removes the half-made cluster', async () => {
    const build = buildWith('initdb-fails', { 'bin/initdb': '#!/bin/sh\necho "initdb: error: could not create directory: Permission denied" >&2\nexit 1\n' });
    const dataDir = newDataDir('initdb-fails');
    const message = await startupFailure(dataDir, { build });
    expect(message).toBe(
      'Embedded PostgreSQL: initdb failed (exit code 1): initdb: error: could not create directory: Permission denied. Fix: correct what PostgreSQL names above, set DATA_DIR to a new folder, or set DATABASE_URL to an existing PostgreSQL server.',
    );
    expect(fs.existsSync(path.join(dataDir, 'postgres'))).toBe(false);
  });

  it('a data directory made by another PostgreSQL major version: says which, and what to do', async () => {
    const dataDir = newDataDir('old-major');
    fs.mkdirSync(path.join(dataDir, 'postgres'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'postgres', 'PG_VERSION'), '15\n');
    const message = await startupFailure(dataDir);
    expect(message).toMatch(/^Embedded PostgreSQL: \S+\/old-major\/postgres holds a PostgreSQL 15 cluster and this server runs PostgreSQL 18\. Fix: set DATA_DIR to a new folder, or dump the data with PostgreSQL 15's pg_dump/);
    expect(fs.readFileSync(path.join(dataDir, 'postgres', 'PG_VERSION'), 'utf8')).toBe('15\n');
  });

  it('DATA_DIR cannot be created: names it and the reason', async () => {
    const file = path.join(scratch, 'a-file');
    fs.writeFileSync(file, '');
    const message = await startupFailure(path.join(file, 'data'));
    expect(message).toMatch(/^Embedded PostgreSQL: failed creating DATA_DIR \S+\/a-file\/data \(ENOTDIR mkdir \S+\)\. Fix: check DATA_DIR/);
  });

  it('disk full: says the disk is full and to free space or move DATA_DIR', async () => {
    // Room for the binaries' copy (another disk: no hard links) and part of the cluster.
    const mount = path.join(scratch, 'small-disk');
    fs.mkdirSync(mount);
    const res = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=75m,mode=0755', 'tmpfs', mount], { encoding: 'utf8' });
    expect(res.status, `mount a small tmpfs (needs root): ${res.stderr}`).toBe(0);
    mounts.push(mount);
    const message = await startupFailure(mount);
    expect(message).toMatch(/^Embedded PostgreSQL: the disk is full: initdb could not write to \S+\/small-disk\/postgres \(No space left on device\)\. Fix: free some space, or set DATA_DIR to a folder on a disk with room/);
  });

  it('every port taken: tries a few, then names them', async () => {
    const dataDir = newDataDir('ports');
    const taken = await occupiedPort();
    const message = await startupFailure(dataDir, { choosePort: async () => taken });
    expect(message).toBe(
      `Embedded PostgreSQL: every port tried was already in use (${Array(5).fill(taken).join(', ')}). Fix: free some ports on 127.0.0.1, or set DATABASE_URL to an existing PostgreSQL server.`,
    );
  });

  it('no port to be had at all: says so', async () => {
    const message = await startupFailure(newDataDir('ports'), {
      choosePort: () => Promise.reject(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })),
    });
    expect(message).toMatch(/^Embedded PostgreSQL: no free TCP port on 127\.0\.0\.1 \(EADDRINUSE\)\. Fix: free some ports/);
  });

  it('reports the postmaster exiting, and restart() brings it back on the same port with the data', async () => {
    running = await startEmbeddedPostgres(newDataDir('ports'));
    const url = running.url('postgres');
    const query = async (sql: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
      }
    };
    await query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
    const first = running.postmaster();
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isAlive(first.pid)).toBe(false);

    await running.restart();
    expect(running.postmaster().pid).not.toBe(first.pid);
    expect(running.url('postgres')).toBe(url);
    expect(await query('SELECT n FROM kept')).toEqual([{ n: 7 }]);
  });
});
