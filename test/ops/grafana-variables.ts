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
const NICE_INTERVALS_S = [
  0.001, 0.01, 0.1, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

export interface GrafanaTime {
  /** Dashboard time range, seconds. */
  rangeS: number;
  /** The data source's scrape interval (`jsonData.timeInterval`), seconds. */
  scrapeIntervalS: number;
  /** Max data points of the panel (its pixel width unless set); Grafana's default cap is 1000s of px. */
  maxDataPoints: number;
  /** The panel's "Min interval" (`interval` in its JSON), seconds, if it has one. */
  minIntervalS?: number;
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
  return Math.max(nice, time.scrapeIntervalS, time.minIntervalS ?? 0);
}

/** A panel's `interval` (`5m`, `30s`, `1h`) in seconds, or undefined. */
export function durationSeconds(text: string | undefined): number | undefined {
  const match = /^(\d+)(s|m|h)$/.exec(text ?? '');
  if (match === null) return undefined;
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
}

function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

/** A multi-value variable's text in a regex matcher: `(a|b)`, or the single value; "All" → allValue. */
function regexValue(values: readonly string[] | 'All', allValue: string | undefined): string {
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
  const result = expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const value = all[name];
      if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
      return value;
    },
  );
  return result;
}

/** A template variable's `label_values(metric, label)` as the Prometheus data source asks it: the series of the metric. */
export function labelValuesQuery(query: string): { metric: string; label: string } | undefined {
  const match = /^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$/.exec(query.trim());
  return match === null ? undefined : { metric: match[1]!, label: match[2]! };
}

/** A template variable as the dashboard JSON holds it (the fields the defaults depend on). */
export interface TemplateVariable {
  name: string;
  type: string;
  query?: unknown;
  current?: { text?: unknown; value?: unknown };
  allValue?: string;
  sort?: number;
  multi?: boolean;
  includeAll?: boolean;
}

/** Grafana regex-escapes the value of a multi-value or All variable only; a single value goes in as it is. */
function single(v: TemplateVariable): boolean {
  return v.multi !== true && v.includeAll !== true;
}

/**
 * The text each query and custom variable has when the dashboard opens, as Grafana works it out:
 * the saved current value; "All" as the variable's allValue; a query variable without a current
 * value takes the first value of its (sorted) list. `labelValues` answers `label_values(metric,
 * label)`, as the Prometheus data source asks it.
 */
export async function defaultVariables(
  variables: readonly TemplateVariable[],
  labelValues: (metric: string, label: string) => Promise<string[]>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const v of variables) {
    if (v.type !== 'query' && v.type !== 'custom') continue;
    const current = v.current?.value;
    const values = Array.isArray(current) ? current.map(String) : current === undefined ? [] : [String(current)];
    if (values.includes('$__all')) {
      out[v.name] = regexValue('All', v.allValue);
    } else if (values.length > 0) {
      out[v.name] = single(v) ? values[0]! : regexValue(values, undefined);
    } else if (v.type === 'custom') {
      out[v.name] = String(v.query).split(',')[0]!.trim();
    } else {
      const lv = labelValuesQuery(String(v.query));
      if (lv === undefined)
        throw new Error(
          `variable ${v.name}: only label_values(metric, label) queries are supported, not ${String(v.query)}`,
        );
      const list = await labelValues(lv.metric, lv.label);
      // sort 1: alphabetical ascending, Grafana's order for the list and so for its first value.
      const sorted = v.sort === 1 ? [...list].sort() : list;
      if (sorted[0] === undefined) throw new Error(`variable ${v.name}: ${String(v.query)} has no values`);
      out[v.name] = single(v) ? sorted[0] : regexValue([sorted[0]], undefined);
    }
  }
  return out;
}
