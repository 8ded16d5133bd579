/**
 * The `Retry-After` header of a 429 or 503 (RFC 9110 §10.2.3): delay-seconds or an HTTP-date,
 * turned into milliseconds to wait. Pure; the wall-clock time comes in as an argument.
 */
// RFC 9110 §5.6.7 HTTP-date, all three forms.
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC850_DATE = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME_DATE = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

function httpDateMs(value: string, nowMs: number): number | undefined {
  let parts: { day: string; month: string; year: number; h: string; m: string; s: string } | undefined;
  let match = IMF_FIXDATE.exec(value);
  if (match !== null) {
    const [, day = '', month = '', year = '', h = '', m = '', s = ''] = match;
    parts = { day, month, year: Number(year), h, m, s };
  } else if ((match = RFC850_DATE.exec(value)) !== null) {
    const [, day = '', month = '', yy = '', h = '', m = '', s = ''] = match;
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    const thisYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(yy);
    if (year > thisYear + 50) year -= 100;
    parts = { day, month, year, h, m, s };
  } else if ((match = ASCTIME_DATE.exec(value)) !== null) {
    const [, month = '', day = '', h = '', m = '', s = '', year = ''] = match;
    parts = { day: day.trim(), month, year: Number(year), h, m, s };
  }
  if (parts === undefined) return undefined;
  const month = MONTHS.indexOf(parts.month.toLowerCase());
  const day = Number(parts.day);
  const [h, m, s] = [Number(parts.h), Number(parts.m), Number(parts.s)];
  if (month < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(parts.year, month, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; such a date is garbage.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/**
 * `Retry-After` as milliseconds to wait from `nowMs`: delay-seconds or an HTTP-date, negative or
 * past values clamped to 0. Anything else (missing, empty, garbage) → undefined.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  // The RFC allows only digits; a sign or a fraction is tolerated since its meaning is obvious.
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
  }
  const dateMs = httpDateMs(text, nowMs);
  return dateMs === undefined ? undefined : Math.max(0, dateMs - nowMs);
}
