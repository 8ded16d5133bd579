/**
 * The two exposition formats `/metrics` speaks: Prometheus text 0.0.4, and OpenMetrics 1.0.0 for
 * a scraper whose `Accept` asks for it first (Prometheus does, and so do other scrapers; exemplars
 * and `_created` exist only there). The samples are the same bytes in both; only the metadata
 * lines differ: OpenMetrics names a counter family without `_total`, adds `# UNIT` when the name
 * ends in a unit, escapes `"` in HELP, and ends with `# EOF`. Pure functions.
 */

export type ExpositionFormat = 'text' | 'openmetrics';

const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const OPENMETRICS_EOF = '# EOF\n';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  text: TEXT_CONTENT_TYPE,
  openmetrics: OPENMETRICS_CONTENT_TYPE,
};

/** Base units OpenMetrics names by suffix (the ones this exporter and prom-client's defaults use). */
const UNITS = ['seconds', 'bytes', 'ratio'] as const;

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseMediaRange(part: string): MediaRange | undefined {
  const [type, ...rawParams] = part.split(';').map((p) => p.trim());
  if (type === undefined || type === '') return undefined;
  const params = new Map<string, string>();
  for (const raw of rawParams) {
    const eq = raw.indexOf('=');
    if (eq > 0)
      params.set(
        raw.slice(0, eq).trim().toLowerCase(),
        raw
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
  }
  const qText = params.get('q');
  const q = qText === undefined ? 1 : Number(qText);
  return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0 };
}

/** The format a media range asks for, or undefined when it names neither (or another version). */
function formatOf(range: MediaRange): ExpositionFormat | undefined {
  const version = range.params.get('version');
  if (range.type === 'application/openmetrics-text')
    return version === undefined || version === '1.0.0' ? 'openmetrics' : undefined;
  if (range.type === 'text/plain') return version === undefined || version === '0.0.4' ? 'text' : undefined;
  if (range.type === '*/*' || range.type === 'text/*') return 'text';
  return undefined;
}

/**
 * The format for an `Accept` header: the acceptable range (q > 0) with the highest q that names
 * one, the earlier on a tie; text 0.0.4 when none does or there is no header, as before
 * OpenMetrics was served (client_golang's expfmt.Negotiate does the same).
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept.trim() === '') return 'text';
  let best: { format: ExpositionFormat; q: number } | undefined;
  for (const part of accept.split(',')) {
    const range = parseMediaRange(part);
    if (range === undefined || range.q <= 0) continue;
    const format = formatOf(range);
    if (format !== undefined && (best === undefined || range.q > best.q)) best = { format, q: range.q };
  }
  return best?.format ?? 'text';
}

/** Label values per the text exposition format: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Numbers as Prometheus parses them (Go's ParseFloat accepts JS's shortest round-trip form). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The family name OpenMetrics gives a metric: a counter's without its `_total`. */
export function familyName(name: string, type: string, format: ExpositionFormat): string {
  return format === 'openmetrics' && type === 'counter' && name.endsWith('_total')
    ? name.slice(0, -'_total'.length)
    : name;
}

function escapeHelp(text: string, format: ExpositionFormat): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

/** `# HELP`, `# TYPE` and, in OpenMetrics when the family name ends in a unit, `# UNIT`. */
export function metadata(name: string, type: string, help: string, format: ExpositionFormat): string {
  const family = familyName(name, type, format);
  let out = `# HELP ${family} ${escapeHelp(help, format)}\n# TYPE ${family} ${type}\n`;
  if (format === 'openmetrics') {
    const unit = UNITS.find((u) => family.endsWith(`_${u}`));
    if (unit !== undefined) out += `# UNIT ${family} ${unit}\n`;
  }
  return out;
}

/**
 * prom-client's text (the process metrics) as OpenMetrics: each family's HELP and TYPE rewritten
 * by `metadata`, the samples kept as they are. Without the final `# EOF`: the caller ends the body.
 */
export function openMetricsFromText(text: string): string {
  const lines = text.split('\n');
  const help = new Map<string, string>();
  const out: string[] = [];
  for (const line of lines) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta === null) {
      if (line !== '') out.push(line);
      continue;
    }
    const [, kind, name, rest] = meta as unknown as [string, string, string, string];
    // prom-client writes HELP before TYPE; the pair becomes one block once the type is known.
    if (kind === 'HELP')
      help.set(
        name,
        rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')),
      );
    else out.push(metadata(name, rest, help.get(name) ?? '', 'openmetrics').trimEnd());
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
