import { spawn, spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';

const hasModule = () => spawnSync(PYTHON, ['-c', 'import gitlab; assert gitlab.__version__.startswith("3.12")'], { stdio: 'ignore' }).status === 0;

/**
 * python-gitlab 3.12 comes from Debian (python3-gitlab); PyPI is out of reach.
 * Install it on first use when we can (root + apt-get), otherwise fail with
 * instructions rather than skipping the contract silently.
 */
export function ensurePythonGitlab(): void {
  if (hasModule()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (isRoot && apt) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-q', 'python3-gitlab'], { stdio: 'ignore', env, timeout: 300_000 }).status === 0;
    if (!install()) {
      spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env, timeout: 300_000 });
      install();
    }
  }
  if (!hasModule()) {
    throw new Error('python-gitlab 3.12 is required for the contract tests: apt-get install -y python3-gitlab (Debian bookworm)');
  }
}

/**
 * Runs a python-gitlab script that prints one JSON document on stdout.
 * Asynchronous on purpose: the server under test lives in this process.
 */
export function runPython<T>(script: string, env: Record<string, string>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`python-gitlab script failed (${code}):\n${stderr}\n${stdout}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch (err) {
        reject(err);
      }
    });
  });
}
