import type { z } from 'zod';
import { paramError } from '../errors.js';

// Grape's validation messages and order. A route's parameters are a list of
// steps in declaration order: typed parameter blocks (zod objects), rules
// (mutually_exclusive, exactly_one_of, at_least_one_of) and `given` blocks.
// Every failing step adds its messages; all are reported in one 400
// {"error":"<p> is missing, <q> is invalid, …"} (Grape's ValidationErrors).

/** The marker message of a value Grape cannot coerce: rendered "<p> is invalid". */
export const INVALID = 'is invalid';
/** The marker message of a value outside `values:`: rendered "<p> does not have a valid value". */
export const NOT_VALID_VALUE = 'does not have a valid value';

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

/** The Grape messages for a failed zod parse of `data`. */
export function issueMessages(issues: readonly z.core.$ZodIssue[], data: unknown): string[] {
  const messages: string[] = [];
  for (const issue of issues) {
    const name = paramName(issue.path as PropertyKey[]);
    if (issue.code === 'custom' && issue.message.includes(' ') && issue.path.length === 0) {
      messages.push(issue.message); // object-level rules already carry their full message
      continue;
    }
    const present = valueAt(data, issue.path as PropertyKey[]) !== undefined;
    const badValue = issue.message === NOT_VALID_VALUE || (issue.code === 'invalid_value' && issue.message !== INVALID);
    // Grape runs presence and then `values:` on a missing required param, so
    // GitLab answers "runner_type is missing, runner_type does not have a valid value".
    if (!present && (issue.code === 'invalid_type' || badValue)) messages.push(`${name} is missing`);
    if (badValue) messages.push(`${name} ${NOT_VALID_VALUE}`);
    else if (present || issue.code !== 'invalid_type') messages.push(`${name} ${INVALID}`);
  }
  return [...new Set(messages)];
}

/**
 * Parses request input with a zod schema and throws Grape's
 * 400 {"error":"<p> is missing, <q> is invalid"} on failure.
 */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data ?? {});
  if (result.success) return result.data;
  throw paramError(issueMessages(result.error.issues, data ?? {}).join(', '));
}

const isPresent = (input: Record<string, unknown>, k: string) => input[k] !== undefined;

/** Grape's `mutually_exclusive`: the message, or undefined when the rule holds. */
export function mutuallyExclusiveMessage(input: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const present = keys.filter((k) => isPresent(input, k));
  return present.length > 1 ? `${present.join(', ')} are mutually exclusive` : undefined;
}

/** Grape's `at_least_one_of`. */
export function atLeastOneOfMessage(input: Record<string, unknown>, keys: readonly string[]): string | undefined {
  return keys.some((k) => isPresent(input, k)) ? undefined : `${keys.join(', ')} are missing, at least one parameter must be provided`;
}

/** Grape's `exactly_one_of`. */
export function exactlyOneOfMessage(input: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const present = keys.filter((k) => isPresent(input, k));
  if (present.length === 0) return `${keys.join(', ')} are missing, exactly one parameter must be provided`;
  return present.length > 1 ? `${present.join(', ')} are mutually exclusive` : undefined;
}

/** Grape's `mutually_exclusive`, as a throwing check. */
export function mutuallyExclusive(input: Record<string, unknown>, keys: string[]): void {
  const msg = mutuallyExclusiveMessage(input, keys);
  if (msg) throw paramError(msg);
}

/** Grape's `at_least_one_of`, as a throwing check. */
export function atLeastOneOf(input: Record<string, unknown>, keys: string[]): void {
  const msg = atLeastOneOfMessage(input, keys);
  if (msg) throw paramError(msg);
}
