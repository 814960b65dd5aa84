// `npm run test:production-install`: a production install of this checkout
// serves. The tracked files are copied to a temporary folder, installed with
// `npm ci --omit=dev` (what the Dockerfile's build stage runs: the Prisma
// CLI and tsx are dependencies, so the postinstall generates the client and
// `npm start` runs), then `npm start` (embedded PostgreSQL, DATA_DIR in the
// temporary folder) must answer /-/readiness and GET /api/v4/version.
// Not part of `npm test`: the install alone takes minutes on a busy machine.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './generated-stamp.mjs';

const TOKEN = 'glpat-production-install-check0';
const started = Date.now();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'production-install-'));
// As root the embedded PostgreSQL runs as the `postgres` user, who must reach DATA_DIR inside.
fs.chmodSync(dir, 0o755);
const app = path.join(dir, 'app');
let server;

function fail(message) {
  throw new Error(message);
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function main() {
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const file of files) {
    const from = path.join(ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    fs.cpSync(from, path.join(app, file), { verbatimSymlinks: true });
  }
  const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: app, encoding: 'utf8', timeout: 900_000 });
  if (install.status !== 0) fail(`npm ci --omit=dev failed (${install.status}):\n${install.stderr.slice(-3000)}`);
  for (const dev of ['vitest', '@biomejs/biome', 'dependency-cruiser']) {
    if (fs.existsSync(path.join(app, 'node_modules', dev))) fail(`${dev} (a devDependency) was installed: not a production install`);
  }
  console.log(`test:production-install: npm ci --omit=dev took ${Math.round((Date.now() - started) / 1000)} s`);

  const port = await freePort();
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data'), INITIAL_ROOT_TOKEN: TOKEN, LOG_LEVEL: 'warn' };
  for (const key of ['DATABASE_URL', 'DATABASE_DIRECT_URL', 'NODE_OPTIONS', 'EXTERNAL_URL', 'SECRET_KEY']) delete env[key];
  server = spawn('npm', ['start'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout.on('data', (d) => (output += d));
  server.stderr.on('data', (d) => (output += d));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (server.exitCode !== null) fail(`npm start exited ${server.exitCode}:\n${output.slice(-3000)}`);
    if (Date.now() > deadline) fail(`npm start not ready after 120 s:\n${output.slice(-3000)}`);
    const ready = await fetch(`http://127.0.0.1:${port}/-/readiness`).then((r) => r.status === 200, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const res = await fetch(`http://127.0.0.1:${port}/api/v4/version`, { headers: { 'PRIVATE-TOKEN': TOKEN } });
  const body = await res.json();
  if (res.status !== 200 || typeof body.version !== 'string') fail(`GET /api/v4/version answered ${res.status}: ${JSON.stringify(body)}`);
  console.log(`test:production-install: npm start serves (GET /api/v4/version → ${res.status}, version ${body.version}); ${Math.round((Date.now() - started) / 1000)} s in all`);
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`test:production-install: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  if (server && server.exitCode === null) {
    // npm start execs node: the signal reaches the server, which stops its embedded PostgreSQL.
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
