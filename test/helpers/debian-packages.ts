import { spawnSync } from 'node:child_process';

/**
 * Tools the tests need that are not npm packages (python3-gitlab, chromium,
 * pgbouncer, nginx, wrk) come from Debian. Install them on first use when we
 * can (root + apt-get); otherwise fail with the command to run, never skip.
 *
 * Test files run in parallel workers, so two of them may install at once:
 * apt-get waits for the other's dpkg lock (DPkg::Lock::Timeout) instead of
 * failing.
 */
export function ensureDebianPackages(packages: string[], isPresent: () => boolean, purpose: string): void {
  if (isPresent()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (isRoot && apt) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    const install = () =>
      spawnSync('apt-get', [...lock, 'install', '-y', '-q', '--no-install-recommends', ...packages], { stdio: 'ignore', env, timeout: 600_000 })
        .status === 0;
    if (!install()) {
      spawnSync('apt-get', [...lock, 'update', '-q'], { stdio: 'ignore', env, timeout: 300_000 });
      install();
    }
  }
  if (!isPresent()) {
    throw new Error(`${purpose} needs Debian's ${packages.join(', ')}: apt-get install -y ${packages.join(' ')} (as root)`);
  }
}
