/** Numbers, durations and times as the status page writes them. Pure; the caller escapes. */

// One formatter each: `toLocaleString` builds a new one per call, ~0.1 ms, and a page of 500
// rows formats thousands of numbers.
const WHOLE = new Intl.NumberFormat('en-US');
const FRACTION = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function formatNumber(value: number): string {
  return Number.isInteger(value) ? WHOLE.format(value) : FRACTION.format(value);
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
export function formatDuration(seconds: number): string {
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
