import { describe, expect, it } from 'vitest';
import { extractExamples, outputDifferences } from '../helpers/doctest.js';

// How the doc test reads the docs and compares a shown response with the real one.

const doc = [
  'Intro',
  '<!-- doctest -->',
  '```sh',
  'curl "$GITLAB/version"',
  '```',
  '',
  '```json',
  '{"version":"17.0.0"}',
  '```',
  '',
  '```sh',
  'echo not marked',
  '```',
  '<!-- doctest -->',
  '```shell',
  'ID=$(echo 1)',
  '```',
  'text',
  '```json',
  '{"shown": "but not right after the block"}',
  '```',
].join('\n');

describe('extractExamples', () => {
  it('takes marked shell blocks and the block right after each as the shown response', () => {
    expect(extractExamples('x.md', doc)).toEqual([
      { file: 'x.md', line: 3, code: 'curl "$GITLAB/version"', expected: '{"version":"17.0.0"}' },
      { file: 'x.md', line: 15, code: 'ID=$(echo 1)', expected: undefined },
    ]);
  });

  it('refuses a mark that is not right before a shell block', () => {
    expect(() => extractExamples('y.md', '<!-- doctest -->\nplain text\n')).toThrow(/y\.md:1/);
  });
});

describe('outputDifferences', () => {
  it.each([
    ['ids may differ', '{"id":1,"project_id":4}', '{"id":17,"project_id":9}'],
    ['timestamps may differ', '{"created_at":"2026-01-01T00:00:00.000Z"}', '{"created_at":"2026-12-03T13:40:00.123Z"}'],
    ['… stands for any text', '{"token":"glrt-t3_…"}', '{"token":"glrt-t3_abcdefghijkl"}'],
    ['keys not shown are ignored', '{"id":1}', '{"id":1,"description":"x"}'],
    ['several JSON values one after another', '{"a":1}\n{"b":2}', '{"a":1}{"b":2}'],
    ['shown lines in order, others in between', 'HTTP/1.1 201 Created\nx-total: 2\n{"id":1}', 'HTTP/1.1 201 Created\ndate: x\nX-Total: 2\n\n{"id":5}'],
    ['plain text', 'GitLab OK', 'GitLab OK'],
  ])('matches: %s', (_, shown, real) => {
    expect(outputDifferences(shown, real)).toEqual([]);
  });

  it.each([
    ['a different value', '{"status":"online"}', '{"status":"offline"}'],
    ['a shown key that is missing', '{"id":1,"paused":false}', '{"id":1}'],
    ['an id that is not a number', '{"id":1}', '{"id":null}'],
    ['a different array length', '{"tag_list":["a"]}', '{"tag_list":["a","b"]}'],
    ['a different token prefix', '{"token":"glrt-t3_…"}', '{"token":"glrt-t1_abc"}'],
    ['an error instead of the object', '{"id":1}', '{"message":"404 Not Found"}'],
    ['fewer JSON values', '{"a":1}\n{"b":2}', '{"a":1}'],
    ['a missing line', 'HTTP/1.1 201 Created', 'HTTP/1.1 403 Forbidden'],
    ['lines out of order', 'b\na', 'a\nb'],
  ])('tells apart: %s', (_, shown, real) => {
    expect(outputDifferences(shown, real)).not.toEqual([]);
  });
});
