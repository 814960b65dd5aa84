import crypto from 'node:crypto';
import type { z } from 'zod';

// Hostile values for the hostile-input suite: what a confused client, a fuzzer
// or an attacker sends. The suite sends them for every parameter a route's
// contract declares (route-contract `describe()`), so a parameter added later
// is attacked without editing this file. Values of the wrong *type* are not
// here: grape-type-cases.ts has them, with the exact answer each must get.

// ---------------------------------------------------------------------------
// Schema walk

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
  out?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}
const defOf = (s: unknown): ZodDef | undefined => (s as { _zod?: { def?: ZodDef } })?._zod?.def;

/** What a parameter's schema says about the objects it takes. */
export interface ParamInfo {
  name: string;
  /** Keys of the object it takes, if it is an object (or an array of objects). */
  objectKeys: string[];
  /** The object is wrapped in an array (e.g. `variables: [{key, value}]`). */
  arrayOfObjects: boolean;
}

function walk(schema: z.ZodType | undefined, visit: (def: ZodDef, inArray: boolean) => void, inArray = false, depth = 0): void {
  const def = defOf(schema);
  if (!def || depth > 12) return;
  visit(def, inArray);
  if (def.type === 'pipe') {
    walk(def.in, visit, inArray, depth + 1);
    walk(def.out, visit, inArray, depth + 1);
  } else if (def.innerType) walk(def.innerType, visit, inArray, depth + 1);
  else if (def.type === 'array') walk(def.element, visit, true, depth + 1);
  else if (def.type === 'union') for (const o of def.options ?? []) walk(o, visit, inArray, depth + 1);
}

/** The object keys a declared parameter takes (top level of the object only). */
export function paramInfo(name: string, schema: z.ZodType): ParamInfo {
  const info: ParamInfo = { name, objectKeys: [], arrayOfObjects: false };
  let found = false;
  walk(schema, (def, inArray) => {
    if (def.type === 'object' && def.shape && !found) {
      found = true;
      info.objectKeys.push(...Object.keys(def.shape));
      if (inArray) info.arrayOfObjects = true;
    }
  });
  return info;
}

// ---------------------------------------------------------------------------
// Values

export interface HostileValue {
  label: string;
  value: unknown;
}

const TEN_THOUSAND_TAGS = Array.from({ length: 10_000 }, (_, i) => `tag-${i}`);

/** JSON values sent for any one parameter. */
export const HOSTILE_VALUES: readonly HostileValue[] = [
  { label: 'empty string', value: '' },
  { label: 'blank string', value: '   ' },
  { label: 'unknown enum value', value: 'no_such_value' },
  { label: 'NUL byte', value: 'a\u0000b' },
  { label: 'lone surrogate (invalid UTF-8 once encoded)', value: 'x\ud800y' },
  { label: '300 kB string', value: 'x'.repeat(300_000) },
  { label: 'int4 max + 1', value: 2_147_483_648 },
  { label: 'int4 min - 1', value: -2_147_483_649 },
  { label: 'int8 max + 1 (number)', value: 9_223_372_036_854_775_808 },
  { label: 'int8 max + 1 (string)', value: '9223372036854775808' },
  { label: '30-digit string', value: '999999999999999999999999999999' },
  { label: 'negative', value: -1 },
  { label: 'zero', value: 0 },
  { label: 'fraction', value: 1.5 },
  { label: 'huge float', value: 1e308 },
  { label: 'exponent string', value: '1e3' },
  { label: 'true', value: true },
  { label: 'null', value: null },
  { label: 'empty object', value: {} },
  { label: 'operator object', value: { $gt: '', __proto__x: 1 } },
  { label: 'empty array', value: [] },
  { label: 'nested array', value: [['a', ['b']]] },
  { label: 'array with object and null', value: ['a', { b: 1 }, null] },
  { label: 'array of NUL strings', value: ['\u0000', 'ok\u0000'] },
  { label: '10,000 tags (array)', value: TEN_THOUSAND_TAGS },
  { label: '10,000 tags (comma string)', value: TEN_THOUSAND_TAGS.join(',') },
  { label: 'path traversal', value: '../../../../etc/passwd' },
  { label: 'SQL-ish', value: "1' OR '1'='1'; --" },
  { label: 'impossible date', value: '2030-02-30' },
  { label: 'year 275760+', value: '999999-01-01' },
  { label: 'date with NUL', value: '2030-01-01\u0000' },
];

/** Object-shaped attacks for a parameter that takes an object: each key NUL, an object, a NUL-keyed hash. */
export function shapedHostileValues(info: ParamInfo): HostileValue[] {
  if (info.objectKeys.length === 0) return [];
  const each = (v: unknown) => Object.fromEntries(info.objectKeys.map((k) => [k, v]));
  const wrap = (v: Record<string, unknown>) => (info.arrayOfObjects ? [v] : v);
  return [
    { label: 'every sub-key a NUL string', value: wrap(each('\u0000')) },
    { label: 'every sub-key a NUL-keyed hash', value: wrap(each({ 'k\u0000': 'v\u0000', nested: { deeper: '\u0000' } })) },
    { label: 'every sub-key an int8 overflow', value: wrap(each(9_223_372_036_854_775_808)) },
    { label: 'every sub-key a 300 kB string', value: wrap(each('y'.repeat(300_000))) },
    { label: 'every sub-key an array', value: wrap(each(['\u0000'])) },
  ];
}

/**
 * Query-string spellings (raw, already encoded) for one parameter; `brief`
 * keeps the two that differ most (for routes that take a body, where the
 * query is secondary). Arrays, hashes, repeated keys and invalid UTF-8 are
 * judged exactly by grape-type-cases.ts.
 */
export function hostileQueryValues(name: string, brief = false): { label: string; query: string }[] {
  const k = encodeURIComponent(name);
  const all = [
    { label: 'NUL (%00)', query: `${k}=a%00b` },
    { label: 'overlong UTF-8 (%C0%AF)', query: `${k}=%C0%AF` },
    { label: 'empty', query: `${k}=` },
    { label: 'bare key', query: k },
    { label: 'array form with NUL', query: `${k}[]=a&${k}[]=%00` },
    { label: 'nested object form', query: `${k}[a][b]=c` },
    { label: 'deep brackets', query: `${k}${'[a]'.repeat(50)}=1` },
    { label: 'int8 overflow', query: `${k}=9223372036854775808` },
    { label: '10,000 repeats', query: Array.from({ length: 10_000 }, (_, i) => `${k}=t${i}`).join('&') },
    { label: '10,000 tags comma', query: `${k}=${TEN_THOUSAND_TAGS.join('%2C')}` },
  ];
  return brief ? all.filter((q) => ['NUL (%00)', 'nested object form'].includes(q.label)) : all;
}

/**
 * Values for a path parameter (already URL-encoded). None may resolve to a
 * real object. Encoded dot segments (`%2e%2e`) are not here: the inject URL
 * parser resolves them like a browser would; the suite sends them over real
 * HTTP instead (DOT_SEGMENT_PATH_VALUES).
 */
export const HOSTILE_PATH_VALUES: readonly { label: string; value: string }[] = [
  { label: 'word', value: 'abc' },
  { label: 'negative', value: '-1' },
  { label: 'zero', value: '0' },
  { label: 'int4 max + 1', value: '2147483648' },
  { label: 'int4 min - 1', value: '-2147483649' },
  { label: 'int8 max + 1', value: '9223372036854775808' },
  { label: '30 digits', value: '999999999999999999999999999999' },
  { label: '2,000 digits', value: '9'.repeat(2000) },
  { label: 'fraction', value: '1.5' },
  { label: 'exponent', value: '1e3' },
  { label: 'hex', value: '0x10' },
  { label: 'encoded traversal', value: '..%2F..' },
  { label: 'deep encoded traversal', value: '..%2F..%2F..%2F..%2Fetc%2Fpasswd' },
  { label: 'encoded slash', value: '%2F' },
  { label: 'NUL', value: '%00' },
  { label: 'digits then NUL', value: '1%00' },
  { label: 'invalid UTF-8', value: '%FF%FE' },
  { label: 'overlong UTF-8 slash', value: '%C0%AF' },
  { label: 'broken escape', value: '%E0%A4%A' },
  { label: 'encoded space', value: '%20' },
  { label: 'null word', value: 'null' },
];

/** Sent over a real socket, byte for byte, in place of a path parameter. */
export const DOT_SEGMENT_PATH_VALUES: readonly string[] = ['%2e%2e', '%2E%2E', '%2e%2e%2f%2e%2e', '.%2e', '%2e%2e%5c%2e%2e'];

// ---------------------------------------------------------------------------
// Bodies

/** `[[[…]]]` nested `depth` levels. */
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** `{"a":{"a":…}}` nested `depth` levels. */
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
/** The same for form bodies: `a[a][a]…=1`. */
export const deepForm = (depth: number) => `a${'[a]'.repeat(depth)}=1`;

let tenMegabytes: string | undefined;
/** A 10 MB JSON document (one long string value). */
export function tenMegabyteJson(): string {
  tenMegabytes ??= JSON.stringify({ description: 'z'.repeat(10 * 1024 * 1024) });
  return tenMegabytes;
}

/** A multipart/form-data body from raw field values (Buffers may hold any bytes). */
export function multipartBody(fields: Record<string, string | Buffer>): { payload: Buffer; contentType: string } {
  const boundary = `----hostile${crypto.randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`));
    parts.push(Buffer.isBuffer(value) ? value : Buffer.from(value));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Bytes that are not valid UTF-8: a lone continuation byte, an overlong slash, 0xFF. */
export const INVALID_UTF8 = Buffer.from([0x61, 0x80, 0xc0, 0xaf, 0xff, 0xfe, 0x62]);
/** A NUL byte inside otherwise plain text. */
export const NUL_BYTES = Buffer.from([0x61, 0x00, 0x62]);
