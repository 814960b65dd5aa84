// `timeout:` values as GitLab reads them with ChronicDuration: a bare number
// is seconds; otherwise a sequence of "<number> <unit>" parts such as
// "1h 30m", "2 hours and 10 minutes" or "90s".

const UNIT_SECONDS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, wk: 604800, wks: 604800, week: 604800, weeks: 604800,
  mo: 2_592_000, month: 2_592_000, months: 2_592_000,
};

const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;

/** Seconds, or undefined when the text is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text));
  // Everything that is not a "<number><unit>" part must be a separator.
  const rest = text.replace(PART, '').replace(/\band\b/g, '').replace(/[\s,]+/g, '');
  if (rest !== '') return undefined;
  let total = 0;
  let parts = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    const factor = UNIT_SECONDS[unit!];
    if (factor === undefined) return undefined;
    total += Number(amount) * factor;
    parts++;
  }
  return parts > 0 && total > 0 ? Math.round(total) : undefined;
}
