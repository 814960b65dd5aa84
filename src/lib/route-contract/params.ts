import { z } from 'zod';
import { atLeastOneOfMessage, exactlyOneOfMessage, issueMessages, mutuallyExclusiveMessage } from './validate.js';

// A route's parameters, declared as Grape declares them: typed blocks,
// rules and `given` blocks, in order. `declareParams(...)` gives the one
// parser of a route's input and the description the OpenAPI document and
// the hostile suite read.
//
//   declareParams(
//     { runner_type: glEnum(RUNNER_TYPES) },
//     given('runner_type', 'group_type', { group_id: glInteger() }),
//     { description: glString().optional(), paused: glBoolean().optional() },
//     mutuallyExclusive('active', 'paused'),
//   )

export type Shape = Record<string, z.ZodType>;

const STEP = Symbol('params step');

export type RuleKind = 'mutually_exclusive' | 'exactly_one_of' | 'at_least_one_of';
export interface Rule {
  [STEP]: 'rule';
  kind: RuleKind;
  keys: readonly string[];
}
export interface Given<S extends Shape = Shape> {
  [STEP]: 'given';
  key: string;
  values: readonly unknown[];
  shape: S;
}
type Item = Shape | Rule | Given;

export const mutuallyExclusive = (...keys: string[]): Rule => ({ [STEP]: 'rule', kind: 'mutually_exclusive', keys });
export const exactlyOneOf = (...keys: string[]): Rule => ({ [STEP]: 'rule', kind: 'exactly_one_of', keys });
export const atLeastOneOf = (...keys: string[]): Rule => ({ [STEP]: 'rule', kind: 'at_least_one_of', keys });
/**
 * Grape's `given key: value do requires … end`: the block's parameters are
 * required only when `key` (as coerced) is one of `values`; when present
 * they are type-checked either way, as Grape coerces every declared param.
 */
export const given = <S extends Shape>(key: string, values: unknown | readonly unknown[], shape: S): Given<S> => ({
  [STEP]: 'given',
  key,
  values: Array.isArray(values) ? values : [values],
  shape,
});

const isRule = (item: Item): item is Rule => (item as Rule)[STEP] === 'rule';
const isGiven = (item: Item): item is Given => (item as Given)[STEP] === 'given';

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type ItemOutput<I> = I extends Rule ? {} : I extends Given<infer S> ? Partial<z.output<z.ZodObject<S>>> : I extends Shape ? z.output<z.ZodObject<I>> : {};
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ParamsOutput<T extends readonly Item[]> = Simplify<UnionToIntersection<ItemOutput<T[number]>>>;

/** One declared parameter, for documentation and generated tests. */
export interface ParamDescription {
  name: string;
  schema: z.ZodType;
  required: boolean;
  /** Set for parameters of a `given` block: required only when this holds. */
  requiredWhen?: { key: string; values: readonly unknown[] };
}

export interface ParamsDeclaration<Out> {
  readonly items: readonly Item[];
  readonly rules: readonly Rule[];
  /** Every declared parameter, in order. */
  describe(): ParamDescription[];
  /** Validates raw input in declaration order: the typed input, or every Grape message. */
  run(raw: Record<string, unknown>): { ok: true; value: Out } | { ok: false; messages: string[] };
}

const optionalShape = (shape: Shape): Shape => Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, s.optional()]));

export function declareParams<const T extends readonly Item[]>(...items: T): ParamsDeclaration<ParamsOutput<T>> {
  const compiled = items.map((item) => {
    if (isRule(item)) return { item };
    if (isGiven(item)) return { item, when: z.object(item.shape), otherwise: z.object(optionalShape(item.shape)) };
    return { item, schema: z.object(item) };
  });
  return {
    items,
    rules: items.filter(isRule),
    describe() {
      const out: ParamDescription[] = [];
      for (const item of items) {
        if (isRule(item)) continue;
        const shape = isGiven(item) ? item.shape : item;
        for (const [name, schema] of Object.entries(shape)) {
          const required = !schema.safeParse(undefined).success;
          out.push(isGiven(item) ? { name, schema, required: false, requiredWhen: { key: item.key, values: item.values } } : { name, schema, required });
        }
      }
      return out;
    },
    run(raw) {
      const messages: string[] = [];
      const value: Record<string, unknown> = {};
      for (const step of compiled) {
        const { item } = step;
        if (isRule(item)) {
          const check = item.kind === 'mutually_exclusive' ? mutuallyExclusiveMessage : item.kind === 'exactly_one_of' ? exactlyOneOfMessage : atLeastOneOfMessage;
          const msg = check(raw, item.keys);
          if (msg) messages.push(msg);
          continue;
        }
        const active = isGiven(item) ? item.values.includes(value[item.key]) : true;
        const schema = 'schema' in step ? step.schema! : active ? step.when! : step.otherwise!;
        const result = schema.safeParse(raw);
        if (!result.success) messages.push(...issueMessages(result.error.issues, raw));
        else if (active) Object.assign(value, result.data);
      }
      return messages.length ? { ok: false, messages: [...new Set(messages)] } : { ok: true, value: value as ParamsOutput<T> };
    },
  };
}
