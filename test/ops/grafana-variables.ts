/**
 * Grafana's variable substitution for Prometheus queries, as Grafana 10/11 does it, so the
 * dashboard's queries can be run against a real Prometheus exactly as a browser would send them.
 *
 * - A multi-value variable in a regex matcher becomes `(a|b|c)` with each value regex-escaped
 *   (Grafana's `regex` format); "All" becomes the variable's `allValue` when it has one.
 * - `$__interval` is the time range divided by the panel's max data points, rounded to a nice
 *   value and never below the data source's scrape interval (`timeInterval`).
 * - `$__rate_interval` is max($__interval + scrape interval, 4 × scrape interval).
 * - `$__range` is the time range in whole seconds, `$__range_s` / `$__range_ms` the bare number.
 */

/** Grafana's nice intervals (its `rangeutil` table), in seconds. */
const NICE_INTERVALS_S = [0.001, 0.01, 0.1, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

export interface GrafanaTime {
  /** Dashboard time range, seconds. */
  rangeS: number;
  /** The data source's scrape interval (`jsonData.timeInterval`), seconds. */
  scrapeIntervalS: number;
  /** Max data points of the panel (its pixel width unless set); Grafana's default cap is 1000s of px. */
  maxDataPoints: number;
}

/** Duration text as Grafana writes it in a query: `1s`, `15s`, `2m`, `1h`; sub-second as `ms`. */
function grafanaDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** `$__interval` in seconds: range / max data points, rounded to a nice interval, at least the scrape interval. */
export function intervalSeconds(time: GrafanaTime): number {
  const raw = time.rangeS / time.maxDataPoints;
  const nice = NICE_INTERVALS_S.find((n) => n >= raw) ?? NICE_INTERVALS_S.at(-1)!;
  return Math.max(nice, time.scrapeIntervalS);
}

function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

/** A multi-value variable's text in a regex matcher: `(a|b)`, or the single value; "All" → allValue. */
export function regexValue(values: readonly string[] | 'All', allValue: string | undefined): string {
  if (values === 'All') {
    if (allValue !== undefined) return allValue;
    throw new Error('"All" without an allValue: Grafana would send every value, pass them instead');
  }
  return values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`;
}

/**
 * `expr` with `variables` (name → text) and Grafana's built-ins substituted. Throws when a `$`
 * variable is left over: Prometheus would reject it or, worse, match it literally.
 */
export function substitute(expr: string, variables: Record<string, string>, time: GrafanaTime): string {
  const interval = intervalSeconds(time);
  const builtins: Record<string, string> = {
    __rate_interval: grafanaDuration(Math.max(interval + time.scrapeIntervalS, 4 * time.scrapeIntervalS)),
    __interval_ms: String(interval * 1000),
    __interval: grafanaDuration(interval),
    __range_ms: String(time.rangeS * 1000),
    __range_s: String(time.rangeS),
    __range: `${time.rangeS}s`,
  };
  const all = { ...builtins, ...variables };
  const result = expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    const value = all[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
    return value;
  });
  return result;
}

/** A template variable's `label_values(metric, label)` as the Prometheus data source asks it: the series of the metric. */
export function labelValuesQuery(query: string): { metric: string; label: string } | undefined {
  const match = /^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$/.exec(query.trim());
  return match === null ? undefined : { metric: match[1]!, label: match[2]! };
}
