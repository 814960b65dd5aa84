import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// docs/structure.md: `npm test` runs `npm run check` first, and the check
// fails on a type error, a lint error or a forbidden import. Each checker
// runs here with the project's own configuration on a small tree of fixture
// files (in test/tmp-*, git-ignored).

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
let tree: string;

const CLEAN: Record<string, string> = {
  'src/lib/sum.ts': 'export const sum = (a: number, b: number): number => a + b;\n',
  'src/domain/answer.ts': "import { sum } from '../lib/sum.js';\nexport const ANSWER = sum(40, 2);\n",
  'src/services/answer-service.ts': "import { ANSWER } from '../domain/answer.js';\nexport const answer = (): number => ANSWER;\n",
  'src/presenters/answer.ts': 'export const presentAnswer = (n: number) => ({ answer: n });\n',
  'src/routes/answer.ts':
    "import { answer } from '../services/answer-service.js';\nimport { presentAnswer } from '../presenters/answer.js';\nexport const handler = () => presentAnswer(answer());\n",
};

function write(files: Record<string, string>) {
  fs.rmSync(path.join(tree, 'src'), { recursive: true, force: true });
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
    fs.writeFileSync(path.join(tree, file), text);
  }
}

/** Runs one checker on `files`; returns its exit status and the distinct findings it names. */
function check(tool: 'tsc' | 'biome' | 'depcruise', files: Record<string, string>) {
  write(files);
  const args = {
    tsc: ['-p', '.'],
    biome: ['lint', '.'],
    depcruise: ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
  }[tool];
  const res = spawnSync(path.join(BIN, tool), args, { cwd: tree, encoding: 'utf8' });
  const output = `${res.stdout}${res.stderr}`;
  const pattern = {
    tsc: /^(src\/\S+)\(\d+,\d+\): error (TS\d+)/gm,
    biome: /^(src\/\S+):\d+:\d+ (lint\/\S+)/gm,
    depcruise: /^\s*error (\S+): (src\/\S+)/gm,
  }[tool];
  const findings = [...output.matchAll(pattern)].map((m) => (tool === 'depcruise' ? `${m[2]} ${m[1]}` : `${m[1]} ${m[2]}`));
  return { status: res.status, findings: [...new Set(findings)].sort(), output };
}

beforeAll(() => {
  tree = fs.mkdtempSync(path.join(ROOT, 'test', 'tmp-structure-'));
  // The project's own configuration files, as `npm run check` uses them.
  const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
  fs.writeFileSync(path.join(tree, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['src'] }));
  const biome = JSON.parse(fs.readFileSync(path.join(ROOT, 'biome.json'), 'utf8'));
  delete biome.$schema;
  delete biome.vcs; // the fixture tree is no git repository
  fs.writeFileSync(path.join(tree, 'biome.json'), JSON.stringify({ ...biome, root: true }));
  fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(tree, '.dependency-cruiser.cjs'));
});

afterAll(() => {
  fs.rmSync(tree, { recursive: true, force: true });
});

describe('npm run check', { timeout: 60_000 }, () => {
  it('is what npm test runs before the tests, and it type-checks tests, bench and scripts too', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toBe('npm run check && vitest run');
    expect(pkg.scripts.check).toBe('tsc -p . && biome lint . && depcruise src --config .dependency-cruiser.cjs');
    const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.include).toEqual(expect.arrayContaining(['src', 'test', 'scripts', 'bench']));
  });

  // Each defect sits in a file of its own next to a clean tree; the checker
  // must fail and name exactly those files and rules: it fails for them and
  // for nothing else in the tree.
  it('fails on a type error', () => {
    const res = check('tsc', { ...CLEAN, 'src/lib/text.ts': "export const n: number = 'forty-two';\n" });
    expect(res.status).not.toBe(0);
    expect(res.findings).toEqual(['src/lib/text.ts TS2322']);
  });

  it('fails lint on focused and skipped tests, a NaN comparison, a duplicate key and an unused import', () => {
    const res = check('biome', {
      ...CLEAN,
      'src/lib/focused.fixture.ts': "import { it } from 'vitest';\nit.only('x', () => {});\n",
      'src/lib/skipped.fixture.ts': "import { it } from 'vitest';\nit.skip('x', () => {});\n",
      'src/lib/nan.ts': 'export const isMissing = (n: number) => n === Number.NaN;\n',
      'src/lib/dup.ts': 'export const o = { a: 1, a: 2 };\n',
      'src/lib/unused.ts': "import { sum } from './sum.js';\nexport const x = 1;\n",
    });
    expect(res.status).not.toBe(0);
    expect(res.findings).toEqual([
      'src/lib/dup.ts lint/suspicious/noDuplicateObjectKeys',
      'src/lib/focused.fixture.ts lint/suspicious/noFocusedTests',
      'src/lib/nan.ts lint/correctness/useIsNan',
      'src/lib/skipped.fixture.ts lint/suspicious/noSkippedTests',
      'src/lib/unused.ts lint/correctness/noUnusedImports',
    ]);
  });

  it('fails the import-boundary check on each forbidden import (type-only imports count) and on a cycle', () => {
    const res = check('depcruise', {
      ...CLEAN,
      'src/presenters/calls-service.ts': "import { answer } from '../services/answer-service.js';\nexport const p = () => ({ answer: answer() });\n",
      'src/services/uses-presenter.ts': "import type { presentAnswer } from '../presenters/answer.js';\nexport type View = ReturnType<typeof presentAnswer>;\n",
      'src/lib/uses-service.ts': "import type { answer } from '../services/answer-service.js';\nexport type A = typeof answer;\n",
      'src/db/uses-plugin.ts': "import type { hook } from '../plugins/hook.js';\nexport type H = typeof hook;\n",
      'src/plugins/hook.ts': 'export const hook = () => undefined;\n',
      'src/domain/ping.ts': "import { pong } from './pong.js';\nexport const ping = () => pong;\n",
      'src/domain/pong.ts': "import { ping } from './ping.js';\nexport const pong = () => ping;\n",
    });
    expect(res.status).not.toBe(0);
    expect(res.findings).toEqual([
      'src/db/uses-plugin.ts lower-layers-stay-low',
      'src/domain/ping.ts no-circular', // a cycle is reported once
      'src/lib/uses-service.ts lower-layers-stay-low',
      'src/presenters/calls-service.ts presenters-stay-presenters',
      'src/services/uses-presenter.ts services-below-the-http-layer',
    ]);
  });
});
