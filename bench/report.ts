/** The benchmark figures as the Markdown table of issue 5: one row per figure, one column per size. */
import type { SizeFigures } from './benchmark.js';

const ms = (v: number): string =>
  v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`;
const x = (v: number): string => `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;
const kb = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} KB`;

interface Row {
  figure: string;
  target: string;
  cell: (f: SizeFigures) => string;
}

const ROWS: readonly Row[] = [
  {
    figure: '`/metrics` latency, median (plain)',
    target: '≤ 20 ms',
    cell: (f) =>
      `${ms(f.metricsMs)} (${kb(f.textBytes)}, ${f.scrapes} scrapes in all); read with undici: ${ms(f.metricsUndiciMs)}`,
  },
  {
    figure: 'baseline: prom-client `registry.metrics()`, same series, median',
    target: '≥ 10× slower',
    cell: (f) => `${ms(f.baselineMs)} (${f.series.toLocaleString('en-US')} series) → exporter ${x(f.speedup)} faster`,
  },
  {
    figure: '`/metrics` with `Accept-Encoding: gzip`, median',
    target: 'served compressed',
    cell: (f) => `${ms(f.metricsGzipMs)}, ${f.gzipServed ? 'gzip served' : '**not gzip**'} (${kb(f.gzipBytes)})`,
  },
  {
    figure: "`/metrics` in OpenMetrics (Prometheus' default `Accept`), median: plain / gzip",
    target: 'plain within 1.2× of text',
    cell: (f) =>
      `${ms(f.metricsOpenMetricsMs)} (${kb(f.openMetricsBytes)}) → ${x(f.openMetricsRatio)} of text / ${ms(f.metricsOpenMetricsGzipMs)}` +
      `${f.openMetricsServed ? '' : ', **not OpenMetrics**'}`,
  },
  {
    figure: 'no re-compression when nothing changed',
    target: 'same gzip reused',
    cell: (f) =>
      `${f.gzipReused ? 'same Buffer' : '**recompressed**'}: ${ms(f.gzipFirstMs)} first, ${ms(f.gzipAgainMs)} again`,
  },
  {
    figure: 'full poll round at start-up (50 ms latency, concurrency 32), median',
    target: 'within one 60 s interval',
    cell: (f) => ms(f.cycleMs),
  },
  {
    figure: 'baseline: bare undici loop, same requests and concurrency',
    target: 'exporter ≤ 1.2×',
    cell: (f) => `${ms(f.bareCycleMs)} → exporter ${x(f.cycleRatio)}`,
  },
  {
    figure: 'request rate: busiest 1 s / mean (steady state)',
    target: '≤ 1.5',
    cell: (f) => f.busiestRatio.toFixed(2),
  },
  {
    figure: '`ZEXA_MAX_REQUESTS_PER_SECOND` honoured',
    target: 'within 5 %',
    cell: (f) => `cap ${f.rateCap}/s → ${f.rateMeasured.toFixed(2)}/s (${f.rateErrorPct.toFixed(1)} %)`,
  },
  {
    figure:
      'RSS of the exporter process: peak (VmHWM: config load and start-up included) / median of the steady window',
    target: '≤ 150 MB (at 10: peak ≤ 90 MB, steady ≤ 70 MB)',
    cell: (f) => `${f.rssMb.toFixed(0)} MB / ${f.rssSteadyMb.toFixed(0)} MB`,
  },
  {
    figure: '`healthcheck` subcommand (every 30 s in the container): its own peak RSS (VmHWM), exit code',
    target: 'small',
    cell: (f) => `${f.healthcheckPeakMb.toFixed(0)} MB, exit ${f.healthcheckExitCode}`,
  },
  {
    figure: 'balance history, 24 h full: heap + typed arrays / RSS growth (own process)',
    target: '≤ 10 MB',
    cell: (f) =>
      `${(f.historyBytes / 1e6).toFixed(2)} MB / ${(f.historyRssBytes / 1e6).toFixed(1)} MB (${f.historyHours.toFixed(1)} h kept)`,
  },
  {
    figure: 'key-fingerprint index (zexa_api_key_info / zexa_api_key_shared): heap / RSS growth (own process)',
    target: 'small',
    cell: (f) => `${(f.keyIndexBytes / 1e6).toFixed(2)} MB / ${(f.keyIndexRssBytes / 1e6).toFixed(1)} MB`,
  },
  {
    figure: 'status page `/`: first page (≤ 500 rows) / load in headless Chromium, median',
    target: '≤ 300 KB, < 1 s',
    cell: (f) =>
      `${kb(f.pageBytes)} / ${Number.isNaN(f.pageChromiumMs) ? 'chromium not installed' : ms(f.pageChromiumMs)}`,
  },
  {
    figure: 'event-loop delay p99 during polls + scrapes (worst window / median window)',
    target: '≤ 20 ms',
    cell: (f) => `${ms(f.eventLoopP99MaxMs)} / ${ms(f.eventLoopP99MedianMs)}`,
  },
  {
    figure: 'API calls per account per hour (3600 / interval)',
    target: '3600 / interval',
    cell: (f) =>
      `${f.callsPerAccountHour.toFixed(1)} (expected ${f.expectedCallsPerAccountHour.toFixed(0)}, interval ${f.intervalMs / 1000} s)`,
  },
];

/** `10,000 accounts`, and for the config-file form `10,000 accounts, each listed in the config file`. */
function columnHead(f: SizeFigures): string {
  const count = `${f.accounts.toLocaleString('en-US')} accounts`;
  return f.form === 'file' ? `${count}, each listed in the config file` : count;
}

/**
 * `nodeVersion`: the Node.js the exporter ran on (the bench starts it with its own
 * process.execPath), first row, since memory and speed figures differ between versions.
 */
export function markdownTable(figures: readonly SizeFigures[], nodeVersion: string = process.version): string {
  const head = ['figure', ...figures.map(columnHead), 'target (at 10,000)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  lines.push(
    `| ${['Node.js of the exporter process', ...figures.map(() => nodeVersion), '20, 22 and 24'].join(' | ')} |`,
  );
  for (const row of ROWS) lines.push(`| ${[row.figure, ...figures.map(row.cell), row.target].join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
