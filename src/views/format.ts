/** Numbers, durations and times as the status page writes them. Pure; the caller escapes. */

/** Digits grouped by three with commas, as en-US writes them. */
function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+$)/g, ',');
}

/** The digits of a non-negative number without an exponent (String() writes 1e+21 and up with one). */
function plainDigits(abs: number): string {
  const text = String(abs);
  const exponent = /^(\d)(?:\.(\d+))?e\+(\d+)$/.exec(text);
  if (exponent === null) return text;
  const digits = `${exponent[1] as string}${exponent[2] ?? ''}`;
  return digits.padEnd(Number(exponent[3]) + 1, '0');
}

/**
 * `1,234,567` and `1,234.57`: what `Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })`
 * writes, written by hand. Intl makes V8 load ICU's locale data, ~4 MB of RSS that nothing else in
 * the exporter touches (measured at 10 accounts, see BENCHMARKS.md). Like ICU, it rounds the shortest
 * decimal form of the number half away from zero; -0 and what rounds to it keep the sign.
 */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const abs = Math.abs(value);
  if (abs === Number.POSITIVE_INFINITY) return `${sign}∞`;
  if (Number.isInteger(abs)) return sign + grouped(plainDigits(abs));
  // Not an integer, so below 2^53 and written without an exponent from 1e-6 up.
  if (abs < 1e-6) return `${sign}0`;
  const [whole = '0', fraction = ''] = String(abs).split('.');
  const hundredths = BigInt(whole + fraction.padEnd(2, '0').slice(0, 2)) + ((fraction[2] ?? '0') >= '5' ? 1n : 0n);
  const digits = hundredths.toString().padStart(3, '0');
  const cents = digits.slice(-2).replace(/0+$/, '');
  return sign + grouped(digits.slice(0, -2)) + (cents === '' ? '' : `.${cents}`);
}

/** `2026-11-26T12:00:00Z`: RFC 3339 to the second. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `42s ago`, `10m ago`, `3h ago`. */
export function formatAge(nowMs: number, atMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - atMs) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

/** A coarse duration for people: `3 d 4 h`, `5 h 20 min`, `12 min`, `under 1 min`. */
export function formatDurationSeconds(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return 'under 1 min';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return mins > 0 ? `${hours} h ${mins} min` : `${hours} h`;
  return `${mins} min`;
}

/** Burn rate per hour, or per day when under 10 an hour (so small rates keep their digits). */
export function formatBurn(perHour: number): string {
  if (perHour >= 10) return `${formatNumber(Math.round(perHour))}/h`;
  const perDay = perHour * 24;
  return `${formatNumber(perDay >= 10 ? Math.round(perDay) : Math.round(perDay * 10) / 10)}/day`;
}
