import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../../src/lib/errors.js';
import { parseUrlEncoded } from '../../src/lib/route-contract/raw-input.js';
import {
  atLeastOneOf,
  glBoolean,
  glEnum,
  glInteger,
  glNamespacedId,
  glString,
  glStringArray,
  mutuallyExclusive,
  paginationParams,
  parseInput,
} from '../../src/schemas/common.js';

/** The 400 body parseInput (or a Grape-style check) throws. */
function errorBody(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).statusCode).toBe(400);
    return (err as ApiError).body;
  }
  throw new Error('expected a 400 parameter error');
}

describe('glBoolean', () => {
  const schema = z.object({ paused: glBoolean().optional() });
  const parse = (paused: unknown) => parseInput(schema, { paused }).paused;

  it.each(['true', '1', 't', 'T', 'True', 'TRUE', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'])('%s is true', (word) => {
    expect(parse(word)).toBe(true);
  });

  it.each(['false', '0', 'f', 'F', 'False', 'FALSE', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'])('%s is false', (word) => {
    expect(parse(word)).toBe(false);
  });

  it('takes JSON booleans and the numbers 1 and 0', () => {
    expect(parse(true)).toBe(true);
    expect(parse(false)).toBe(false);
    expect(parse(1)).toBe(true);
    expect(parse(0)).toBe(false);
  });

  it.each(['tRuE', 'yES', ' true', 'true ', 'maybe', '2', '', 'nil'])('%j is "paused is invalid"', (word) => {
    expect(errorBody(() => parse(word))).toEqual({ error: 'paused is invalid' });
  });

  it.each([[2], [{}], [null]])('JSON %j is "paused is invalid"', (value) => {
    expect(errorBody(() => parse(value))).toEqual({ error: 'paused is invalid' });
  });

  it('a repeated query key takes the last value, as Rack does', () => {
    expect(parse(parseUrlEncoded('paused=true&paused=False').paused)).toBe(false);
  });

  it.each([[[true]], [['true']], [{ a: 'true' }]])('a JSON array or object (%j) is "paused is invalid", as Grape', (value) => {
    expect(errorBody(() => parse(value))).toEqual({ error: 'paused is invalid' });
  });

  it('a `paused[]=` form array is "paused is invalid"', () => {
    expect(errorBody(() => parse(parseUrlEncoded('paused[]=true').paused))).toEqual({ error: 'paused is invalid' });
  });

  it('is absent when not given', () => {
    expect(parseInput(schema, {})).toEqual({});
  });
});

describe('glInteger', () => {
  const schema = z.object({ id: glInteger() });

  it('coerces integer strings, signs and surrounding blanks like Ruby Integer()', () => {
    expect(parseInput(schema, { id: '42' }).id).toBe(42);
    expect(parseInput(schema, { id: ' 7 ' }).id).toBe(7);
    expect(parseInput(schema, { id: '+5' }).id).toBe(5);
    expect(parseInput(schema, { id: '-3' }).id).toBe(-3);
    expect(parseInput(schema, { id: 12 }).id).toBe(12);
  });

  it.each(['abc', '1.5', '1e3', '0x10', '', '12abc', 1.5, true, {}])('%j is "id is invalid"', (value) => {
    expect(errorBody(() => parseInput(schema, { id: value }))).toEqual({ error: 'id is invalid' });
  });

  it('refuses values PostgreSQL int4 cannot hold', () => {
    expect(parseInput(schema, { id: '2147483647' }).id).toBe(2147483647);
    expect(errorBody(() => parseInput(schema, { id: '2147483648' }))).toEqual({ error: 'id is invalid' });
    expect(errorBody(() => parseInput(schema, { id: '99999999999999999999999' }))).toEqual({ error: 'id is invalid' });
  });

  it('honours a minimum', () => {
    const positive = z.object({ n: glInteger({ min: 1 }) });
    expect(parseInput(positive, { n: '1' }).n).toBe(1);
    expect(errorBody(() => parseInput(positive, { n: '0' }))).toEqual({ error: 'n is invalid' });
  });

  it('a missing required integer is "id is missing"', () => {
    expect(errorBody(() => parseInput(schema, {}))).toEqual({ error: 'id is missing' });
  });
});

describe('glString and glEnum', () => {
  it('glString turns JSON numbers and booleans into strings and refuses NUL bytes and objects', () => {
    const schema = z.object({ description: glString() });
    expect(parseInput(schema, { description: 5 }).description).toBe('5');
    expect(parseInput(schema, { description: false }).description).toBe('false');
    expect(errorBody(() => parseInput(schema, { description: 'a\u0000b' }))).toEqual({ error: 'description is invalid' });
    expect(errorBody(() => parseInput(schema, { description: { a: 1 } }))).toEqual({ error: 'description is invalid' });
  });

  it('glString enforces a maximum length', () => {
    const schema = z.object({ s: glString({ max: 3 }) });
    expect(parseInput(schema, { s: 'abc' }).s).toBe('abc');
    expect(errorBody(() => parseInput(schema, { s: 'abcd' }))).toEqual({ error: 's is invalid' });
  });

  it('glEnum answers "does not have a valid value"', () => {
    const schema = z.object({ type: glEnum(['instance_type', 'group_type', 'project_type']).optional() });
    expect(parseInput(schema, { type: 'group_type' }).type).toBe('group_type');
    expect(errorBody(() => parseInput(schema, { type: 'nope' }))).toEqual({ error: 'type does not have a valid value' });
  });
});

describe('glStringArray: CommaSeparatedToArray', () => {
  const schema = z.object({ tag_list: glStringArray().optional() });
  const parse = (tag_list: unknown) => parseInput(schema, { tag_list }).tag_list;

  it.each([
    ['a,b', ['a', 'b']],
    ['a, b c ,d', ['a', 'b c', 'd']],
    ['a,,b', ['a', '', 'b']],
    [',a', ['', 'a']],
    ['a,b,', ['a', 'b']],
    ['a, ', ['a', '']],
    ['', []],
    ['single', ['single']],
  ])('the string %j becomes %j (Ruby split, then strip)', (input, expected) => {
    expect(parse(input)).toEqual(expected);
  });

  it.each([
    [['a', 'b'], ['a', 'b']],
    [['a,b', 'c'], ['a', 'b', 'c']],
    [[' x ', 'y, z'], ['x', 'y', 'z']],
    [[''], []],
    [['a', null], ['a']],
    [[1, true], ['1', 'true']],
    [[], []],
  ])('the array %j becomes %j (each element to_s, split, flattened)', (input, expected) => {
    expect(parse(input)).toEqual(expected);
  });

  it('an explicit null becomes []', () => {
    expect(parse(null)).toEqual([]);
  });

  it.each([[5], [true], [{ a: 1 }]])('anything else (%j) becomes []', (input) => {
    expect(parse(input)).toEqual([]);
  });

  it('is undefined when absent', () => {
    expect(parseInput(schema, {})).toEqual({});
  });

  it('refuses NUL bytes and nested objects as "tag_list is invalid"', () => {
    expect(errorBody(() => parse(['ok', 'bad\u0000']))).toEqual({ error: 'tag_list is invalid' });
    expect(errorBody(() => parse([{ a: 1 }]))).toEqual({ error: 'tag_list is invalid' });
  });
});

describe('glNamespacedId', () => {
  const schema = z.object({ id: glNamespacedId() });

  it('integer-looking ids are ids, anything else a full path', () => {
    expect(parseInput(schema, { id: '12' }).id).toEqual({ id: 12 });
    expect(parseInput(schema, { id: 'grp/proj' }).id).toEqual({ fullPath: 'grp/proj' });
    expect(parseInput(schema, { id: '12abc' }).id).toEqual({ fullPath: '12abc' });
  });

  it('out-of-range ids look up nothing instead of failing', () => {
    expect(parseInput(schema, { id: '99999999999' }).id).toEqual({ id: 0 });
  });

  it('refuses NUL bytes', () => {
    expect(errorBody(() => parseInput(schema, { id: 'a\u0000' }))).toEqual({ error: 'id is invalid' });
  });
});

describe('paginationParams', () => {
  const schema = z.object(paginationParams);
  const parse = (input: Record<string, unknown>) => parseInput(schema, input);

  it('defaults to page 1 of 20', () => {
    expect(parse({})).toEqual({ page: 1, per_page: 20 });
  });

  it('clamps per_page above 100 to 100 and keeps 0', () => {
    expect(parse({ per_page: '100' }).per_page).toBe(100);
    expect(parse({ per_page: '101' }).per_page).toBe(100);
    expect(parse({ per_page: '5000' }).per_page).toBe(100);
    expect(parse({ per_page: '0' }).per_page).toBe(0);
  });

  it('a negative per_page falls back to the default, as Kaminari does', () => {
    expect(parse({ per_page: '-1' }).per_page).toBe(20);
  });

  it('treats a page number of 0 or below as 1', () => {
    expect(parse({ page: '0' }).page).toBe(1);
    expect(parse({ page: '-4' }).page).toBe(1);
    expect(parse({ page: '3' }).page).toBe(3);
  });

  it('non-integers are "page is invalid" / "per_page is invalid"', () => {
    expect(errorBody(() => parse({ page: 'x' }))).toEqual({ error: 'page is invalid' });
    expect(errorBody(() => parse({ page: 'x', per_page: 'y' }))).toEqual({ error: 'page is invalid, per_page is invalid' });
  });
});

describe('parseInput error messages', () => {
  const schema = z.object({
    runner_type: glEnum(['instance_type', 'group_type', 'project_type']),
    id: glInteger(),
    paused: glBoolean().optional(),
    info: z.object({ name: glString() }).optional(),
  });

  it('joins every message with ", " in declaration order', () => {
    expect(errorBody(() => parseInput(schema, { runner_type: 'group_type', paused: 'x' }))).toEqual({
      error: 'id is missing, paused is invalid',
    });
  });

  it('a missing required enum is both missing and without a valid value (user_runners_spec)', () => {
    expect(errorBody(() => parseInput(z.object({ runner_type: schema.shape.runner_type }), {}))).toEqual({
      error: 'runner_type is missing, runner_type does not have a valid value',
    });
    expect(errorBody(() => parseInput(schema, { paused: 'x' }))).toEqual({
      error: 'runner_type is missing, runner_type does not have a valid value, id is missing, paused is invalid',
    });
  });

  it('names nested parameters Grape-style', () => {
    expect(errorBody(() => parseInput(schema, { runner_type: 'group_type', id: '1', info: { name: { x: 1 } } }))).toEqual({
      error: 'info[name] is invalid',
    });
  });

  it('reports a bad value of an enum as "does not have a valid value"', () => {
    expect(errorBody(() => parseInput(schema, { runner_type: 'bogus', id: '1' }))).toEqual({
      error: 'runner_type does not have a valid value',
    });
  });

  it('reports each message once', () => {
    const dup = z.object({ a: glInteger() }).superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', path: ['a'], message: 'is invalid' }));
    expect(errorBody(() => parseInput(dup, { a: 'x' }))).toEqual({ error: 'a is invalid' });
  });

  it('passes object-level rules through with their full message', () => {
    const rule = z.object({ a: glInteger().optional() }).superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', message: 'a, b are missing, at least one parameter must be provided' }));
    expect(errorBody(() => parseInput(rule, {}))).toEqual({ error: 'a, b are missing, at least one parameter must be provided' });
  });

  it('treats a missing body as an empty object', () => {
    expect(parseInput(z.object({ a: glInteger().optional() }), undefined)).toEqual({});
  });

  it('drops keys the schema does not declare', () => {
    expect(parseInput(z.object({ a: glInteger().optional() }), { a: '1', evil: 'x' })).toEqual({ a: 1 });
  });
});

describe('Grape parameter groups', () => {
  it('mutuallyExclusive names the conflicting parameters', () => {
    expect(errorBody(() => mutuallyExclusive({ a: 1, b: 2, c: undefined }, ['a', 'b', 'c']))).toEqual({ error: 'a, b are mutually exclusive' });
    expect(() => mutuallyExclusive({ a: 1 }, ['a', 'b'])).not.toThrow();
  });

  it('atLeastOneOf lists every candidate', () => {
    expect(errorBody(() => atLeastOneOf({}, ['token', 'id']))).toEqual({ error: 'token, id are missing, at least one parameter must be provided' });
    expect(() => atLeastOneOf({ id: 1 }, ['token', 'id'])).not.toThrow();
  });
});
