import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import * as sp from '../helpers/server-process.js';

// A newcomer's first boots (README "First steps", docs/troubleshooting.md):
// the generated root token is shown only once the server listens, so a first
// boot that fails before that (port in use) leaves it for the next boot; and
// `.env` in the working directory is read, with real environment variables
// winning. The tests build on each other and run in order on one DATA_DIR.

const BANNER = /Initial root personal access token \(shown once, save it now\): (\S+)/g;

let dataDir: string;
let workDir: string;
const started: ChildProcess[] = [];
const track = (s: sp.ServerProcess) => (started.push(s.proc), s);

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-boot-'));
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-boot-cwd-'));
});

afterAll(async () => {
  await sp.cleanupServers(dataDir, started);
  fs.rmSync(workDir, { recursive: true, force: true });
});

async function stop(server: sp.ServerProcess) {
  server.proc.kill('SIGTERM');
  expect(await server.exit).toEqual({ code: 0, signal: null });
}

async function waitReady(url: string, server: sp.ServerProcess) {
  let exited = false;
  void server.exit.then(() => (exited = true));
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline && !exited) {
    try {
      if ((await fetch(`${url}/-/readiness`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready.\nstdout:\n${server.stdout()}\nstderr:\n${server.stderr()}`);
}

describe('the root token is never lost', { timeout: 60_000 }, () => {
  let token: string;

  it('a first boot that cannot listen (port in use) exits 1 and shows no token', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const server = track(sp.spawnServer(dataDir, port));
      expect((await server.exit).code).toBe(1);
      expect(server.stderr()).toContain(`Failed to listen on 127.0.0.1:${port}`);
      expect(server.stdout()).not.toMatch(BANNER);
      expect(server.stdout() + server.stderr()).not.toContain('glpat-');
    } finally {
      blocker.close();
    }
    // the database was initialised on that boot all the same
    expect(fs.existsSync(path.join(dataDir, 'postgres'))).toBe(true);
  });

  it('the next boot that listens shows the generated token, once, and it signs in as root', async () => {
    const server = track(await sp.startServer(dataDir));
    const banners = [...server.stdout().matchAll(BANNER)];
    expect(banners).toHaveLength(1);
    token = banners[0]![1]!;
    expect(token).toMatch(/^glpat-[A-Za-z0-9_-]{20}$/);
    const res = await fetch(`${server.url}/api/v4/user`, { headers: { 'PRIVATE-TOKEN': token } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'root', is_admin: true });
    await stop(server);
  });

  it('reads .env from the working directory; variables set in the environment win; no token is shown again', async () => {
    const port = await freePort();
    fs.writeFileSync(
      path.join(workDir, '.env'),
      [
        '# as in .env.example',
        `PORT=${port}`,
        `DATA_DIR=${dataDir}`,
        'HOST=127.0.0.1',
        'LOG_LEVEL=warn',
        'EXTERNAL_URL=http://from-dotenv.example',
        'INITIAL_ROOT_TOKEN=glpat-from-the-dotenv-file-0001',
        '',
      ].join('\n'),
    );
    // PORT, DATA_DIR, HOST and LOG_LEVEL only in .env; EXTERNAL_URL in both.
    const server = track(
      sp.spawnServer(dataDir, 0, { EXTERNAL_URL: 'http://from-environment.example' }, 'node', {
        cwd: workDir,
        unset: ['PORT', 'DATA_DIR', 'HOST', 'LOG_LEVEL'],
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, server);

    const res = await fetch(`${url}/api/v4/users?per_page=1`, { headers: { 'PRIVATE-TOKEN': token } });
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toContain('http://from-environment.example/api/v4/users?');
    expect(res.headers.get('link')).not.toContain('from-dotenv');
    // root already exists: the token in .env creates nothing
    const chosen = await fetch(`${url}/api/v4/user`, { headers: { 'PRIVATE-TOKEN': 'glpat-from-the-dotenv-file-0001' } });
    expect(chosen.status).toBe(401);
    await stop(server);
    // LOG_LEVEL=warn from .env: no info lines (pino level 30) such as request logs
    expect(server.stdout()).not.toContain('"level":30');
    expect(server.stdout()).not.toMatch(BANNER);
  });
});
