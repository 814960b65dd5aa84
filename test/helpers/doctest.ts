import fs from 'node:fs';

// The documentation's runnable examples (docs/testing.md, "Doc test"). A shell
// block runs when the line right before its opening fence is
// `<!-- doctest -->`. The fenced block that follows it (only blank lines in
// between, any language or none) is the response the reader is shown; the
// real output must match it the way a reader would compare them.

export interface DocExample {
  file: string;
  /** 1-based line of the opening fence of the shell block. */
  line: number;
  code: string;
  /** The shown response, if the block is followed by one. */
  expected?: string;
}

const MARK = '<!-- doctest -->';
const FENCE = /^(`{3,}|~{3,})\s*([\w-]*)\s*$/;
const SHELL = new Set(['sh', 'shell', 'bash', 'console']);

export function extractExamples(file: string, text = fs.readFileSync(file, 'utf8')): DocExample[] {
  const lines = text.split('\n');
  const examples: DocExample[] = [];
  const readBlock = (start: number): { body: string; end: number; lang: string } | undefined => {
    const open = FENCE.exec(lines[start] ?? '');
    if (!open) return undefined;
    const close = lines.findIndex((l, i) => i > start && l.trim() === open[1]);
    if (close < 0) throw new Error(`${file}:${start + 1}: unclosed code block`);
    return { body: lines.slice(start + 1, close).join('\n'), end: close, lang: open[2] ?? '' };
  };
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== MARK) continue;
    const block = readBlock(i + 1);
    if (!block || !SHELL.has(block.lang)) throw new Error(`${file}:${i + 1}: ${MARK} must come right before a sh/shell/bash block`);
    let next = block.end + 1;
    while (next < lines.length && lines[next]!.trim() === '') next++;
    const shown = lines[next]?.trim() === MARK ? undefined : readBlock(next);
    examples.push({ file, line: i + 2, code: block.body, expected: shown?.body });
    i = shown ? shown.end : block.end;
  }
  return examples;
}

/** Splits text made of JSON values written one after another (curl adds no newline); undefined if it is not that. */
export function splitJsonValues(text: string): unknown[] | undefined {
  const values: unknown[] = [];
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    if (s[i] !== '{' && s[i] !== '[') return undefined;
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < s.length; j++) {
      const c = s[j]!;
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    try {
      values.push(JSON.parse(s.slice(i, j + 1)));
    } catch {
      return undefined;
    }
    i = j + 1;
  }
  return values.length > 0 ? values : undefined;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const ELLIPSIS = /…|\.\.\./;

/** `…` (or `...`) in a shown string stands for any text. */
export function textMatches(shown: string, real: string): boolean {
  if (!ELLIPSIS.test(shown)) return shown === real;
  const parts = shown.split(/…|\.\.\./).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[\\s\\S]*')}$`).test(real);
}

const isIdKey = (key: string | undefined) => key !== undefined && (key === 'id' || key.endsWith('_id') || key === 'iid');

/**
 * Differences between a shown JSON value and the real one, as a reader
 * compares them: ids (`id`, `*_id`) may be any number, timestamps any
 * timestamp, `…` in a string any text; an object shows a subset of the real
 * keys (each shown key must be there and match); arrays match element by
 * element and have the same length.
 */
export function jsonDifferences(shown: unknown, real: unknown, where = '$', key?: string): string[] {
  if (typeof shown === 'number' && isIdKey(key)) return typeof real === 'number' ? [] : [`${where}: an id, got ${JSON.stringify(real)}`];
  if (typeof shown === 'string') {
    if (typeof real !== 'string') return [`${where}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(real)}`];
    if (TIMESTAMP.test(shown) && TIMESTAMP.test(real)) return [];
    return textMatches(shown, real) ? [] : [`${where}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(real)}`];
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(real)) return [`${where}: shown an array, got ${JSON.stringify(real)}`];
    if (shown.length !== real.length) return [`${where}: shown ${shown.length} items, got ${real.length}: ${JSON.stringify(real)}`];
    return shown.flatMap((item, i) => jsonDifferences(item, real[i], `${where}[${i}]`, key));
  }
  if (shown !== null && typeof shown === 'object') {
    if (real === null || typeof real !== 'object' || Array.isArray(real)) return [`${where}: shown an object, got ${JSON.stringify(real)}`];
    return Object.entries(shown).flatMap(([k, v]) =>
      k in real ? jsonDifferences(v, (real as Record<string, unknown>)[k], `${where}.${k}`, k) : [`${where}.${k}: shown, but missing`],
    );
  }
  return Object.is(shown, real) ? [] : [`${where}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(real)}`];
}

/**
 * Differences between a shown response and the real output. JSON values are
 * compared with jsonDifferences; other text line by line: each shown line
 * (a header, a status line, `…` for any text) must appear in the real output,
 * in order, where other lines (more headers) may come in between.
 */
export function outputDifferences(shown: string, real: string): string[] {
  const shownValues = splitJsonValues(shown);
  if (shownValues) {
    const realValues = splitJsonValues(real);
    if (!realValues) return [`shown JSON, got: ${real.slice(0, 500)}`];
    if (realValues.length !== shownValues.length) return [`shown ${shownValues.length} JSON values, got ${realValues.length}: ${real.slice(0, 500)}`];
    return shownValues.flatMap((v, i) => jsonDifferences(v, realValues[i], `$${shownValues.length > 1 ? `[${i}]` : ''}`));
  }
  const realLines = real.split(/\r?\n/).map((l) => l.trimEnd());
  let at = 0;
  const problems: string[] = [];
  for (const line of shown.split('\n').map((l) => l.trimEnd())) {
    if (line === '') continue;
    const json = splitJsonValues(line);
    const found = realLines.findIndex((r, i) => {
      if (i < at) return false;
      if (json) {
        const realJson = splitJsonValues(r);
        return realJson !== undefined && realJson.length === json.length && json.every((v, k) => jsonDifferences(v, realJson[k]).length === 0);
      }
      return textMatches(line, r) || textMatches(line.toLowerCase(), r.toLowerCase());
    });
    if (found < 0) {
      problems.push(`shown line not in the output (in order): ${line}`);
      continue;
    }
    at = found + 1;
  }
  if (problems.length > 0) problems.push(`output was:\n${real}`);
  return problems;
}
