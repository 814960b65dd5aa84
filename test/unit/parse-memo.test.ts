import { describe, expect, it } from 'vitest';
import { ParseMemo } from '../../src/lib/parse-memo.js';

describe('ParseMemo', () => {
  it('returns the remembered value for the exact same text only', () => {
    const memo = new ParseMemo<{ a: number }>(10, 100);
    memo.remember('{"a":1}', { a: 1 });
    expect(memo.get('{"a":1}')).toEqual({ a: 1 });
    expect(memo.get('{"a": 1}')).toBeUndefined();
  });

  it('freezes what it hands out, nested objects included, so no request can change it for the next', () => {
    const memo = new ParseMemo<{ info: { tags: string[] } }>(10, 100);
    memo.remember('x', { info: { tags: ['a'] } });
    const value = memo.get('x')!;
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.info)).toBe(true);
    expect(() => value.info.tags.push('b')).toThrow(TypeError);
  });

  it('ignores texts over the length limit and starts over when full', () => {
    const memo = new ParseMemo<number>(2, 5);
    memo.remember('123456', 1);
    expect(memo.get('123456')).toBeUndefined();
    memo.remember('a', 1);
    memo.remember('b', 2);
    expect(memo.size).toBe(2);
    memo.remember('c', 3);
    expect(memo.size).toBe(1);
    expect(memo.get('c')).toBe(3);
    expect(memo.get('a')).toBeUndefined();
  });
});
