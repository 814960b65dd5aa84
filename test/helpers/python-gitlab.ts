import { spawn, spawnSync } from 'node:child_process';
import { ensureDebianPackages } from './debian-packages.js';

const PYTHON = '/usr/bin/python3';

const hasModule = () => spawnSync(PYTHON, ['-c', 'import gitlab; assert gitlab.__version__.startswith("3.12")'], { stdio: 'ignore' }).status === 0;

/** python-gitlab 3.12 comes from Debian (python3-gitlab); PyPI is out of reach. */
export function ensurePythonGitlab(): void {
  ensureDebianPackages(['python3-gitlab'], hasModule, 'The python-gitlab contract tests');
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
