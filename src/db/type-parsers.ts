import pg from 'pg';

// Type parsers of the raw `pg` pool (Prisma's adapter brings its own per
// query). timestamptz is the one that matters: a runner list page has two per
// row, and the driver's generic parser (a regular expression, then a Date
// built field by field) took an eighth of a list request's CPU time in the
// server. PostgreSQL's own output format is fixed, so it is read digit by
// digit; anything unusual (BC, infinity, years past 9999, odd offsets) goes to
// the driver's parser.

const defaultTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (value: string) => Date | string;

const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
const two = (s: string, i: number) => digit(s, i) * 10 + digit(s, i + 1);

/** "2026-11-22 09:05:12.123456+00" (ISO DateStyle, any fraction, offset ±HH[:MM[:SS]]) → Date; null when the shape differs. */
export function parseTimestamptzFast(s: string): Date | null {
  if (s.length < 22 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return null;
  }
  const year = two(s, 0) * 100 + two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    let scale = 100;
    while (i < s.length) {
      const d = digit(s, i);
      if (d < 0 || d > 9) break;
      ms += d * scale;
      scale /= 10;
      i++;
    }
    ms = Math.floor(ms + 1e-9);
  }
  const sign = s.charCodeAt(i);
  if (sign !== 43 && sign !== 45) return null;
  const rest = s.length - i - 1;
  if (rest !== 2 && rest !== 5 && rest !== 8) return null;
  let offset = two(s, i + 1) * 3600;
  if (rest >= 5) offset += two(s, i + 4) * 60;
  if (rest === 8) offset += two(s, i + 7);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms) - (sign === 43 ? 1 : -1) * offset * 1000;
  // Date.UTC maps years 0–99 to 1900–1999: leave those to the driver.
  return year >= 100 && Number.isFinite(utc) ? new Date(utc) : null;
}

export const parseTimestamptz = (value: string): Date | string => parseTimestamptzFast(value) ?? defaultTimestamptz(value);

/** `types` for the raw pool: the driver's parsers, with the fast timestamptz one. */
export const poolTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.TIMESTAMPTZ && format !== 'binary' ? parseTimestamptz : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};
