/**
 * A parser for a monitoring plugin's output, written from the monitoring-plugins development
 * guidelines ("Plugin Output", "Performance data"), independent of the code that prints it:
 * the first line is `SERVICE STATUS - text`, optionally `| perfdata`; perfdata is a space
 * separated list of `'label'=value[UOM];[warn];[crit];[min];[max]`, the quotes optional unless
 * the label holds a space, a quote inside written as two. The lines after the first are the
 * long output.
 */
export interface PerfDatum {
  label: string;
  value: number;
  uom: string;
  warn: string;
  crit: string;
  min: string;
  max: string;
}

export interface PluginOutput {
  service: string;
  status: 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  text: string;
  perfdata: PerfDatum[];
  longOutput: string[];
}

const NUMBER = String.raw`-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?`;
const RANGE = String.raw`@?(?:~|${NUMBER})?:?(?:${NUMBER})?`;
const DATUM = new RegExp(
  String.raw`^('(?:[^']|'')+'|[^'=\s]+)=(${NUMBER})([a-zA-Z%]*)(?:;(${RANGE})?(?:;(${RANGE})?(?:;(${NUMBER})?(?:;(${NUMBER})?)?)?)?)?(?: |$)`,
);

function unquote(label: string): string {
  return label.startsWith("'") ? label.slice(1, -1).replace(/''/g, "'") : label;
}

export function parsePerfdata(text: string): PerfDatum[] {
  const out: PerfDatum[] = [];
  let rest = text.trim();
  while (rest !== '') {
    const match = DATUM.exec(rest);
    if (match === null) throw new Error(`performance data does not parse at: ${rest}`);
    out.push({
      label: unquote(match[1] as string),
      value: Number(match[2]),
      uom: match[3] ?? '',
      warn: match[4] ?? '',
      crit: match[5] ?? '',
      min: match[6] ?? '',
      max: match[7] ?? '',
    });
    rest = rest.slice(match[0].length);
  }
  return out;
}

/** Splits the first line at the first `|` outside a quoted label (a label may hold a `|`; the text may not). */
export function parsePluginOutput(output: string): PluginOutput {
  const [first = '', ...longOutput] = output.replace(/\n$/, '').split('\n');
  const bar = first.indexOf('|');
  const head = bar === -1 ? first : first.slice(0, bar).trimEnd();
  const match = /^([A-Z][A-Z0-9_]*) (OK|WARNING|CRITICAL|UNKNOWN) - (\S.*)$/.exec(head);
  if (match === null) throw new Error(`not a plugin status line: ${first}`);
  return {
    service: match[1] as string,
    status: match[2] as PluginOutput['status'],
    text: match[3] as string,
    perfdata: bar === -1 ? [] : parsePerfdata(first.slice(bar + 1)),
    longOutput,
  };
}
