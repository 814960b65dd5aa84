import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianPackages } from '../helpers/debian-packages.js';
import { extractExamples, outputDifferences, type DocExample } from '../helpers/doctest.js';
import { createListeningApp } from '../helpers/listen.js';
import type { TestApp } from '../helpers/app.js';

// The doc test (docs/testing.md): the shell examples of README.md and
// docs/*.md marked `<!-- doctest -->` run in order, file by file, each file
// against a fresh server, with $GITLAB (base URL ending in /api/v4) and
// $TOKEN (root's token) set as the README tells the reader to set them.
// Variables an example sets are seen by the later examples of its file.
// Each shown response is compared with the real one, ignoring ids, tokens
// and timestamps as a reader would (test/helpers/doctest.ts).

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs');
const files = [
  path.join(ROOT, 'README.md'),
  ...(fs.existsSync(DOCS) ? fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(DOCS, f)) : []),
];
const examplesByFile = files.map((file) => ({ file, examples: extractExamples(file) })).filter((f) => f.examples.length > 0);
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

it('the README and the API guide have runnable examples', () => {
  const count = (name: string) => examplesByFile.find((f) => path.relative(ROOT, f.file) === name)?.examples.length ?? 0;
  expect(count('README.md')).toBeGreaterThanOrEqual(3);
  expect(count('docs/api.md')).toBeGreaterThanOrEqual(10);
});

it('docs/api.md lists every route the server serves', async () => {
  const table = fs.readFileSync(path.join(DOCS, 'api.md'), 'utf8');
  const listed = new Set([...table.matchAll(/^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`));
  const t = await createListeningApp();
  try {
    // `/users/:id(^\d+$)` is documented as `/users/:id`
    const served = t.app.routeTable.map((r) => `${r.method} ${r.url.replace(/\([^)]*\)/g, '')}`);
    expect(served.filter((r) => !listed.has(r))).toEqual([]);
  } finally {
    await t.close();
  }
});

for (const { file, examples } of examplesByFile) {
  describe(path.relative(ROOT, file), { timeout: 60_000 }, () => {
    let t: TestApp & { url: string };
    let work: string;
    let state: string;

    beforeAll(async () => {
      ensureDebianPackages(['curl', 'jq'], () => has('curl') && has('jq'), 'The doc test');
      t = await createListeningApp();
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'doctest-'));
      state = path.join(work, '.doctest-env');
      fs.writeFileSync(state, `export GITLAB=${t.url}/api/v4\nexport TOKEN=${t.rootToken}\n`);
    });
    afterAll(async () => {
      await t?.close();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const run = (example: DocExample) => {
      const host = new URL(t.url).host;
      // The docs address the server as localhost:3000, the way a reader runs it.
      const code = example.code.replaceAll('http://localhost:3000', t.url).replaceAll('localhost:3000', host);
      const script = ['set -euo pipefail', 'set -a', `. '${state}'`, code, `export -p > '${state}'`].join('\n');
      return new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        execFile('bash', ['-c', script], { cwd: work, timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
          resolve({
            stdout: stdout.replaceAll(t.url, 'http://localhost:3000').replaceAll(host, 'localhost:3000'),
            stderr,
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
          }),
        );
      });
    };

    for (const example of examples) {
      it(`the example at line ${example.line} runs${example.expected === undefined ? '' : ' and answers as shown'}`, async () => {
        const result = await run(example);
        expect(result.code, `exit status; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`).toBe(0);
        if (example.expected !== undefined) expect(outputDifferences(example.expected, result.stdout)).toEqual([]);
      });
    }
  });
}
