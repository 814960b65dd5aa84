import { z } from 'zod';
import { lastOfRepeated } from '../lib/route-contract/raw-input.js';
import { INVALID, NOT_VALID_VALUE } from '../lib/route-contract/validate.js';

export { atLeastOneOf, mutuallyExclusive, parseInput } from '../lib/route-contract/validate.js';

// Grape-compatible types for route contracts (src/lib/route-contract). The
// source matters (raw-input.ts): a query or form key repeated without `[]`
// gives its last value to a scalar (Rack), while a JSON array or object, or a
// `key[]` form array, given for a scalar is "<p> is invalid" (Grape). They
// reject what Grape rejects with its messages, and never let through a value
// PostgreSQL would refuse (NUL bytes, integers beyond int4). Each carries
// its Grape type as metadata for the OpenAPI document and the hostile suite.

// dry-types `params.bool` (GitLab's lib/api/validations/types): exactly these spellings, so
// `TRUE` and `True` pass but `tRuE` or " true" are invalid, as in GitLab.
const TRUE_WORDS = new Set(['true', 'True', 'TRUE', '1', 't', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE', '0', 'f', 'F', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const INT4_MAX = 2_147_483_647;

const last = lastOfRepeated;
/** An array or object given for a String: Grape cannot coerce it, so it is invalid before `values:` is checked. */
const NOT_A_STRING = Symbol('not a string');

/** The Grape type of a declared parameter (metadata read by the OpenAPI generator and the hostile suite). */
export type GrapeType = 'Integer' | 'String' | 'Boolean' | 'Array[String]' | 'Array[Integer]' | 'Array[Hash]' | 'Hash' | 'Date' | 'DateTime' | 'Enum' | 'NamespacedId';
export interface GrapeMeta {
  grape: GrapeType;
  values?: readonly (string | number)[];
  /** Array[String] given as a comma-separated string (CommaSeparatedToArray). */
  commaSeparated?: boolean;
  /** A value that is neither a list nor a text is "is invalid" instead of an empty list. */
  strict?: boolean;
}
const typed = <S extends z.ZodType>(schema: S, meta: GrapeMeta): S => schema.meta(meta as unknown as Record<string, unknown>) as S;
/**
 * The Grape metadata of a parameter schema, looking through optional/default/nullable/pipe wrappers
 * and `null | T` unions. A nested parameter block (`optional :info, type: Hash do … end`) is a Hash,
 * a list of such blocks (`type: Array do … end`) an Array[Hash].
 */
export function grapeMeta(schema: z.ZodType): GrapeMeta | undefined {
  let cur: z.ZodType | undefined = schema;
  for (let depth = 0; cur && depth < 10; depth++) {
    const meta = z.globalRegistry.get(cur) as Partial<GrapeMeta> | undefined;
    if (meta?.grape) return meta as GrapeMeta;
    const def: Record<string, unknown> = (cur as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') return { grape: 'Hash' };
    if (def.type === 'array') return grapeMeta(def.element as z.ZodType)?.grape === 'Hash' ? { grape: 'Array[Hash]' } : undefined;
    if (def.type === 'union') {
      cur = (def.options as z.ZodType[]).find((o: z.ZodType) => grapeMeta(o) !== undefined);
      continue;
    }
    cur = (def.innerType ?? def.in ?? def.schema) as z.ZodType | undefined;
    // A preprocess step (a pipe from a transform) describes nothing: follow its output.
    if (def.type === 'pipe' && (def.in as { _zod: { def: { type: string } } })._zod.def.type === 'transform') cur = def.out as z.ZodType;
  }
  return undefined;
}

export const glBoolean = () =>
  typed(z.preprocess((raw) => {
    const v = last(raw);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : v;
    if (typeof v === 'string') {
      if (TRUE_WORDS.has(v)) return true;
      if (FALSE_WORDS.has(v)) return false;
    }
    return v;
  }, z.boolean({ error: INVALID })), { grape: 'Boolean' });

export const glInteger = (opts: { min?: number } = {}) =>
  typed(
    z.preprocess((raw) => {
      const v = last(raw);
      if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v.trim());
      return v;
    }, z.number({ error: INVALID }).int({ error: INVALID }).min(opts.min ?? -INT4_MAX - 1, { error: INVALID }).max(INT4_MAX, { error: INVALID })),
    { grape: 'Integer' },
  );

export const glString = (opts: { max?: number } = {}) =>
  typed(z.preprocess(
    (raw) => {
      const v = last(raw);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return v;
    },
    z
      .string({ error: INVALID })
      .max(opts.max ?? 1_000_000, { error: INVALID })
      .refine((s) => !s.includes('\u0000'), { error: INVALID }),
  ), { grape: 'String' });

/** `type: String, values: [...]`: a value Grape cannot read as a String is "is invalid", any other string outside the list "does not have a valid value". */
export const glEnum = <const T extends readonly [string, ...string[]]>(values: T) =>
  typed(
    z.preprocess((raw) => {
      const v = last(raw);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return v !== null && typeof v === 'object' ? NOT_A_STRING : v;
    }, z.enum(values, { error: (issue) => (issue.input === NOT_A_STRING ? INVALID : NOT_VALID_VALUE) })),
    { grape: 'Enum', values },
  );

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
 * (a number, an object) → []; with `strict`, anything else is "is invalid"
 * instead. Nested arrays or objects inside the array have no sensible tag
 * spelling and are "is invalid".
 */
export const glStringArray = (opts: { values?: readonly string[]; strict?: boolean } = {}) =>
  typed(z.preprocess(
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
      return opts.strict && raw !== null ? raw : [];
    },
    z
      .array(z.string({ error: INVALID }).refine((s) => !s.includes('\u0000'), { error: INVALID }), { error: INVALID })
      .refine((list) => !opts.values || list.every((v) => opts.values!.includes(v)), { error: NOT_VALID_VALUE }),
  ), { grape: 'Array[String]', commaSeparated: true, ...(opts.values ? { values: opts.values } : {}), ...(opts.strict ? { strict: true } : {}) });

/** Grape `type: Array[Integer]`, also given as "1,2,3" (GitLab's comma-separated integer lists). */
export const glIntegerArray = () =>
  typed(
    z.preprocess(
      (raw) => (raw === undefined ? undefined : Array.isArray(raw) ? [...raw] : typeof raw === 'string' ? raw.split(',') : raw),
      z.array(glInteger(), { error: INVALID }),
    ),
    { grape: 'Array[Integer]' },
  );

/** Grape `type: Hash`: a JSON object (or nested form fields `k[x]=`); anything else is invalid. */
export const glHash = () =>
  typed(
    z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: INVALID }),
    { grape: 'Hash' },
  );

/** `:id` of /projects/:id and /groups/:id: a numeric id or a (URL-decoded) full path. */
export type NamespacedId = { id: number } | { fullPath: string };
/** The `:id` as GitLab repeats it in Link URLs: the number or the full path. */
export const namespacedIdText = (id: NamespacedId): string => ('id' in id ? String(id.id) : id.fullPath);
export const glNamespacedId = () =>
  typed(z.preprocess((raw) => last(raw), z.string({ error: INVALID }).min(1, { error: INVALID })), { grape: 'NamespacedId' }).transform((s, ctx): NamespacedId => {
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
export type { PageParams } from '../domain/pagination.js';

/** Grape `type: Date`: "YYYY-MM-DD" (a time part is ignored) → that UTC day; anything else "is invalid". */
export const glDate = () =>
  typed(z.preprocess((raw) => last(raw), z.string({ error: INVALID })), { grape: 'Date' }).transform((s, ctx) => {
    const m = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][^\u0000]*)?\s*$/.exec(s);
    const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
    if (!m || !d || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
      ctx.addIssue({ code: 'custom', message: INVALID });
      return z.NEVER;
    }
    return d;
  });

/** Grape `type: DateTime`: an ISO 8601 date or date-time ("2026-12-01", "2026-12-01T10:00:00Z"); anything else "is invalid". */
export const glDateTime = () =>
  typed(z.preprocess((raw) => last(raw), z.string({ error: INVALID })), { grape: 'DateTime' }).transform((s, ctx) => {
    const trimmed = s.trim();
    const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.test(trimmed);
    const d = iso ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed.replace(' ', 'T')) : undefined;
    if (!d || Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: INVALID });
      return z.NEVER;
    }
    return d;
  });
