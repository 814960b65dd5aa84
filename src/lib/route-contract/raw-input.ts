import qs from 'qs';
import { badRequest } from '../errors.js';

// How request text becomes raw parameter values, before any declared type
// is applied, keeping what the declared types need to know about the source:
//
// - a key repeated without brackets (`page=1&page=x`) is a RepeatedValue:
//   a scalar parameter takes its last element (Rack's `parse_nested_query`),
//   an array parameter keeps them all (`tag_list=a&tag_list=b`);
// - `key[]=…` and JSON arrays are plain arrays, which a scalar parameter
//   rejects as "<p> is invalid" (Grape);
// - text that is not valid UTF-8, or a malformed `%` escape, marks the parsed
//   object as badly encoded; the compat plugin answers 400 before any handler.

export const QS_OPTIONS: qs.IParseOptions = { depth: 3, arrayLimit: 1000, parameterLimit: 2000, allowDots: false };

const REPEATED = Symbol('repeated plain key');
const BAD_ENCODING = Symbol('invalid UTF-8 or percent-encoding');

/** The values of a query or form key sent more than once without `[]`. */
export type RepeatedValue = unknown[] & { [REPEATED]: true };

export const isRepeated = (v: unknown): v is RepeatedValue => Array.isArray(v) && (v as Partial<RepeatedValue>)[REPEATED] === true;

/** A scalar parameter's value: the last of a repeated key, otherwise the value as sent. */
export const lastOfRepeated = (v: unknown): unknown => (isRepeated(v) ? v[v.length - 1] : v);

/** True when the parsed query or body came from text with invalid UTF-8 or a malformed `%` escape. */
export const isBadlyEncoded = (parsed: unknown): boolean =>
  parsed !== null && typeof parsed === 'object' && (parsed as Record<symbol, unknown>)[BAD_ENCODING] === true;

export function markBadlyEncoded<T extends object>(parsed: T): T {
  Object.defineProperty(parsed, BAD_ENCODING, { value: true, enumerable: false });
  return parsed;
}

/** `+` is a space, then strict percent-decoding: a bad escape or invalid UTF-8 throws. */
const strictDecode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));

/** The key of one `k=v` pair as sent, decoded leniently (only to tell plain keys from bracketed ones). */
function pairKey(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = eq === -1 ? pair : pair.slice(0, eq);
  try {
    return strictDecode(raw);
  } catch {
    return raw;
  }
}

/** Set by the decoder below when a value does not decode; qs.parse is synchronous, so one flag serves every call. */
let badlyEncoded = false;

/** One options object for every parse (the router calls the query parser on every request). */
const PARSE_OPTIONS: qs.IParseOptions = {
  ...QS_OPTIONS,
  decoder(text) {
    try {
      return strictDecode(text);
    } catch {
      badlyEncoded = true;
      return text;
    }
  },
};

/** A query string or url-encoded body → raw parameters (see the module comment). */
export function parseUrlEncoded(str: string): Record<string, unknown> {
  // No query at all (most requests): what qs.parse('') returns, without its option checks.
  if (str === '') return {};
  badlyEncoded = false;
  const parsed = qs.parse(str, PARSE_OPTIONS) as Record<string, unknown>;
  const bad = badlyEncoded;
  // Keys sent more than once without brackets: qs combines them into an
  // array just like `key[]`; remember which ones they were.
  const counts = new Map<string, number>();
  let bracketed: Set<string> | undefined;
  for (const pair of str.split('&')) {
    if (pair === '') continue;
    const key = pairKey(pair);
    const bracket = key.indexOf('[');
    if (bracket > 0) (bracketed ??= new Set()).add(key.slice(0, bracket));
    else counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of counts) {
    const v = parsed[key];
    if (n > 1 && Array.isArray(v) && !bracketed?.has(key)) Object.defineProperty(v, REPEATED, { value: true, enumerable: false });
  }
  return bad ? markBadlyEncoded(parsed) : parsed;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function strictUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** 400 for text that is not UTF-8 or has a malformed `%` escape; `where` names the part of the request. */
export const invalidEncoding = (where: string) => badRequest(`invalid UTF-8 or percent-encoding in the ${where}`);

/** A JSON body's bytes as text; invalid UTF-8 anywhere in it is a 400. */
export function jsonText(bytes: Buffer): string {
  const text = strictUtf8(bytes);
  if (text === undefined) throw invalidEncoding('JSON body');
  return text;
}

/**
 * A JSON body as the server reads it: empty is `{}`, lone surrogates become
 * U+FFFD, anything unparsable is a 400 "Invalid JSON body".
 */
export function parseJsonBody(body: string): unknown {
  const text = body.trim();
  if (text === '') return {};
  try {
    const parsed = JSON.parse(text);
    return LONE_SURROGATE_ESCAPE.test(text) ? wellFormed(parsed) : parsed;
  } catch {
    throw Object.assign(new Error('Invalid JSON body'), { statusCode: 400, code: 'GL_INVALID_JSON' });
  }
}

/** A `\uD800`-`\uDFFF` escape: JSON may spell a lone surrogate, which no UTF-8 text can hold. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const toWellFormed = (s: string) => s.replace(LONE_SURROGATE, '\uFFFD');

/**
 * Lone surrogates in keys and strings become U+FFFD, as invalid UTF-8 bytes
 * in a body already do: the database driver and Prisma's engine would choke
 * on them (a 500). Only bodies that spell a surrogate escape are walked.
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toWellFormed(k), wellFormed(v)]));
  }
  return value;
}

