import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz, parseTimestamptzFast } from '../../src/db/type-parsers.js';

const driver = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (value: string) => Date | string;
const same = (value: string) => {
  const ours = parseTimestamptz(value);
  const theirs = driver(value);
  return [ours instanceof Date ? ours.getTime() : ours, theirs instanceof Date ? theirs.getTime() : theirs];
};

describe('the raw pool reads timestamptz', () => {
  it.each([
    '2026-11-22 09:05:12+00',
    '2026-11-22 09:05:12.1+00',
    '2026-11-22 09:05:12.12+00',
    '2026-11-22 09:05:12.123+00',
    '2026-11-22 09:05:12.123456+00',
    '2026-11-22 09:05:12.999999+00',
    '2024-02-29 23:59:59.5-03',
    '2024-02-29 23:59:59.5+05:30',
    '1970-01-01 00:00:00+00',
    '1969-12-31 23:59:59.999+00',
    '2000-06-15 12:00:00.000001+05:45:30',
  ])('%s exactly as the driver does', (value) => {
    const [ours, theirs] = same(value);
    expect(ours).toBe(theirs);
    expect(parseTimestamptzFast(value)).not.toBeNull();
  });

  it.each(['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '0099-01-01 00:00:00+00', '12026-01-01 00:00:00+00'])(
    'leaves %s to the driver',
    (value) => {
      expect(parseTimestamptzFast(value)).toBeNull();
      const [ours, theirs] = same(value);
      expect(ours).toEqual(theirs);
    },
  );
});
