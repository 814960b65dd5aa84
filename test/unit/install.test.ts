import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// `npm ci` on a supported Node prints no EBADENGINE warning
// (docs/troubleshooting.md, "npm ci warnings"): every package the lock file
// installs accepts the oldest Node the project supports, and the newest
// 20.x it is run on.

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));

describe('the install', () => {
  it('supports Node 20.19 and later, as documented', () => {
    expect(pkg.engines.node).toBe('>=20.19');
  });

  it.each(['20.19.0', '20.20.2', '22.12.0'])('every package in package-lock.json accepts Node %s', (node) => {
    const refused: string[] = [];
    for (const [where, entry] of Object.entries<{ engines?: { node?: string }; version?: string; optional?: boolean }>(lock.packages)) {
      const wanted = entry.engines?.node;
      // Platform packages npm skips (esbuild's other platforms) are never checked against the engine.
      if (!wanted || entry.optional) continue;
      if (!semver.satisfies(node, wanted)) refused.push(`${where}@${entry.version}: node ${wanted}`);
    }
    expect(refused).toEqual([]);
  });

});
