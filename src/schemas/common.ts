import { z } from 'zod';
import { paramError } from '../lib/errors.js';

// Grape-compatible coercions. Every helper takes the *last* value when a
// scalar parameter is repeated (Rack semantics), rejects what Grape rejects
// with the messages Grape uses, and never lets a value through that
// PostgreSQL would refuse (NUL bytes, integers beyond int4).

// dry-types `params.bool` (GitLab's lib/api/validations/types): exactly these spellings, so
// `TRUE` and `True` pass but `tRuE` or " true" are invalid, as in GitLab.
const TRUE_WORDS = new Set(['true', 'True', 'TRUE', '1', 't', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE', '0', 'f', 'F', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
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
      if (TRUE_WORDS.has(v)) return true;
      if (FALSE_WORDS.has(v)) return false;
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

/**
 * Ruby's `str.split(',')`: empty segments are kept except trailing ones, so
 * "" → [], "a,,b" → ["a","","b"], "a,b," → ["a","b"], ",a" → ["","a"].
 */
function rubySplitComma(str: string): string[] {
  const parts = str.split(',');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * API::Validations::Types::CommaSeparatedToArray (GitLab's lib/api/validations/types):
 * a String → split(',').map(&:strip); an Array → each element `to_s`, split
 * and stripped, flattened (["a,b","c"] → [a,b,c]); null → []; anything else
 * (a number, an object) → []. Nested arrays or objects inside the array have
 * no sensible tag spelling and are "is invalid".
 */
export const glStringArray = () =>
  z.preprocess(
    (raw) => {
      const splitStrip = (s: string) => rubySplitComma(s).map((p) => p.trim());
      if (raw === undefined) return undefined;
      if (typeof raw === 'string') return splitStrip(raw);
      if (Array.isArray(raw)) {
        const out: unknown[] = [];
        for (const v of raw) {
          if (v === null || v === undefined) continue; // nil.to_s → "" → no segments
          if (typeof v === 'object') out.push(v); // rejected by the string check below
          else out.push(...splitStrip(String(v)));
        }
        return out;
      }
      return [];
    },
    z.array(z.string({ error: INVALID }).refine((s) => !s.includes('\u0000'), { error: INVALID }), { error: INVALID }),
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

/** Grape's parameter names: `info[name]`; a bad element of a scalar array is reported as the array (`tag_list`). */
function paramName(path: PropertyKey[]): string {
  const trimmed = [...path];
  while (trimmed.length > 1 && typeof trimmed[trimmed.length - 1] === 'number') trimmed.pop();
  return trimmed.map((p, i) => (i === 0 ? String(p) : `[${String(p)}]`)).join('');
}

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
    const badValue = issue.message === 'does not have a valid value' || issue.code === 'invalid_value';
    // Grape runs presence and then `values:` on a missing required param, so
    // GitLab answers "runner_type is missing, runner_type does not have a valid value".
    if (!present && (issue.code === 'invalid_type' || badValue)) messages.push(`${name} is missing`);
    if (badValue) messages.push(`${name} does not have a valid value`);
    else if (present || issue.code !== 'invalid_type') messages.push(`${name} is invalid`);
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

/**
 * Grape runs a route's validators in declaration order and reports every
 * failure in one 400 (e.g. "email is missing, password, reset_password are
 * missing, at least one parameter must be provided, name is missing").
 * Each step is a parseInput / atLeastOneOf / mutuallyExclusive call; their
 * messages are joined in step order.
 */
export function validateInOrder(...steps: (() => void)[]): void {
  const messages: string[] = [];
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      const body = (err as { body?: { error?: unknown } }).body;
      if (typeof body?.error !== 'string') throw err;
      messages.push(body.error);
    }
  }
  if (messages.length) throw paramError(messages.join(', '));
}

/** Grape `type: Date`: "YYYY-MM-DD" (a time part is ignored) → that UTC day; anything else "is invalid". */
export const glDate = () =>
  z.preprocess((raw) => last(raw), z.string({ error: INVALID })).transform((s, ctx) => {
    const m = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][^\u0000]*)?\s*$/.exec(s);
    const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
    if (!m || !d || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
      ctx.addIssue({ code: 'custom', message: INVALID });
      return z.NEVER;
    }
    return d;
  });
