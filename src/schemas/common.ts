import { z } from 'zod';
import { paramError } from '../lib/errors.js';

// Grape-compatible coercions. Every helper takes the *last* value when a
// scalar parameter is repeated (Rack semantics), rejects what Grape rejects
// with the messages Grape uses, and never lets a value through that
// PostgreSQL would refuse (NUL bytes, integers beyond int4).

const TRUE_WORDS = new Set(['true', '1', 't', 'y', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'f', 'n', 'no', 'off']);
const INT4_MAX = 2_147_483_647;

const last = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);

/** A marker error message: `parseInput` renders it as "<param> is invalid". */
const INVALID = 'is invalid';

export const glBoolean = () =>
  z.preprocess((raw) => {
    const v = last(raw);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : v;
    if (typeof v === 'string') {
      const w = v.trim().toLowerCase();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
    }
    return v;
  }, z.boolean({ error: INVALID }));

export const glInteger = (opts: { min?: number } = {}) =>
  z.preprocess((raw) => {
    const v = last(raw);
    if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v.trim());
    return v;
  }, z.number({ error: INVALID }).int({ error: INVALID }).min(opts.min ?? -INT4_MAX - 1, { error: INVALID }).max(INT4_MAX, { error: INVALID }));

export const glString = (opts: { max?: number } = {}) =>
  z.preprocess(
    (raw) => {
      const v = last(raw);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return v;
    },
    z
      .string({ error: INVALID })
      .max(opts.max ?? 1_000_000, { error: INVALID })
      .refine((s) => !s.includes('\u0000'), { error: INVALID }),
  );

export const glEnum = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess((raw) => last(raw), z.enum(values, { error: 'does not have a valid value' }));

/** API::Validations::Types::CommaSeparatedToArray: "a, b" | ["a,b","c"] → ["a","b","c"]; null → []. */
export const glStringArray = () =>
  z.preprocess(
    (raw) => {
      if (typeof raw === 'string') return raw.split(',').map((s) => s.trim());
      if (Array.isArray(raw)) return raw.flatMap((v) => (v === null || v === undefined ? [] : String(v).split(',').map((s) => s.trim())));
      if (raw === null) return [];
      if (raw === undefined) return undefined;
      if (typeof raw === 'number' || typeof raw === 'boolean') return [String(raw)];
      return [];
    },
    z.array(z.string().refine((s) => !s.includes('\u0000'), { error: INVALID })),
  );

/** `:id` of /projects/:id and /groups/:id: a numeric id or a (URL-decoded) full path. */
export type NamespacedId = { id: number } | { fullPath: string };
export const glNamespacedId = () =>
  z.preprocess((raw) => last(raw), z.string({ error: INVALID }).min(1, { error: INVALID })).transform((s, ctx): NamespacedId => {
    if (/^-?\d+$/.test(s)) {
      const n = Number(s);
      // Out-of-range ids cannot exist; look them up as an impossible id.
      return { id: Number.isSafeInteger(n) && Math.abs(n) <= INT4_MAX ? n : 0 };
    }
    if (s.includes('\u0000')) {
      ctx.addIssue({ code: 'custom', message: INVALID });
      return z.NEVER;
    }
    return { fullPath: s };
  });

export const paginationParams = {
  page: glInteger().optional().transform((p) => (p === undefined || p < 1 ? 1 : p)),
  per_page: glInteger().optional().transform((p) => (p === undefined ? 20 : p < 0 ? 20 : Math.min(p, 100))),
};
export interface PageParams {
  page: number;
  per_page: number;
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

const paramName = (path: PropertyKey[]) =>
  path.map((p, i) => (i === 0 ? String(p) : `[${String(p)}]`)).join('');

/**
 * Parses request input with a zod schema and throws Grape's
 * 400 {"error":"<p> is missing, <q> is invalid"} on failure.
 */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data ?? {});
  if (result.success) return result.data;
  const messages: string[] = [];
  for (const issue of result.error.issues) {
    const name = paramName(issue.path);
    if (issue.code === 'custom' && issue.message.includes(' ') && issue.path.length === 0) {
      messages.push(issue.message); // object-level rules already carry their full message
      continue;
    }
    const present = valueAt(data, issue.path) !== undefined;
    if (!present && issue.code === 'invalid_type') messages.push(`${name} is missing`);
    else if (issue.message === 'does not have a valid value' || issue.code === 'invalid_value') messages.push(`${name} does not have a valid value`);
    else messages.push(`${name} is invalid`);
  }
  throw paramError([...new Set(messages)].join(', '));
}

/** Grape's `mutually_exclusive`. */
export function mutuallyExclusive(input: Record<string, unknown>, keys: string[]): void {
  const present = keys.filter((k) => input[k] !== undefined);
  if (present.length > 1) throw paramError(`${present.join(', ')} are mutually exclusive`);
}

/** Grape's `at_least_one_of`. */
export function atLeastOneOf(input: Record<string, unknown>, keys: string[]): void {
  if (!keys.some((k) => input[k] !== undefined)) {
    throw paramError(`${keys.join(', ')} are missing, at least one parameter must be provided`);
  }
}
