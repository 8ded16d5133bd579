/**
 * The steady-window scraper of the benchmark, run as its own process (`tsx bench/scraper-process.ts
 * '<json>'`): Prometheus is a process of its own, and the bench process is busy answering the
 * exporter's API requests as the simulator. From `startAt` (epoch ms) for `windowMs`, one scrape
 * every `everyMs`, in turn: plain with the minimal client, gzip with the minimal client, plain with
 * undici's `request()`, then OpenMetrics (Prometheus' Accept header) plain and gzip with the
 * minimal client. Prints one JSON line (ScraperReport) and writes the last plain text to
 * `textFile` (for the prom-client baseline).
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { runJsonChild } from './json-child.js';
import { PROMETHEUS_ACCEPT } from '../test/support/prometheus-accept.js';
import { ScrapeClient } from './scrape-client.js';

export interface ScraperSettings {
  url: string;
  startAt: number;
  windowMs: number;
  everyMs: number;
  textFile: string;
}

export interface ScraperReport {
  startedAt: number;
  endedAt: number;
  /** Milliseconds to the last byte of the body, per scrape. */
  plainMs: number[];
  gzipMs: number[];
  plainUndiciMs: number[];
  /** Asked with Prometheus' Accept header: OpenMetrics, plain and gzip. */
  openMetricsMs: number[];
  openMetricsGzipMs: number[];
  /** Every OpenMetrics scrape came as application/openmetrics-text and ended with # EOF. */
  openMetricsServed: boolean;
  openMetricsBytes: number;
  /** nodejs_eventloop_lag_p99_seconds of every scrape, in ms. */
  eventLoopP99Ms: number[];
  /** Every gzip scrape came with Content-Encoding: gzip and gunzipped to exposition text. */
  gzipServed: boolean;
  gzipBytes: number;
  textBytes: number;
}

function sampleValue(text: string, series: string): number | undefined {
  const start = text.indexOf(`\n${series} `);
  if (start < 0) return undefined;
  const end = text.indexOf('\n', start + 1);
  return Number(text.slice(start + series.length + 2, end < 0 ? undefined : end));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runScraper(s: ScraperSettings): Promise<ScraperReport> {
  const url = new URL('/metrics', s.url);
  const client = new ScrapeClient(url.hostname, Number(url.port));
  const agent = new Agent({ connections: 1 });
  const report: ScraperReport = {
    startedAt: 0,
    endedAt: 0,
    plainMs: [],
    gzipMs: [],
    plainUndiciMs: [],
    openMetricsMs: [],
    openMetricsGzipMs: [],
    openMetricsServed: true,
    openMetricsBytes: 0,
    eventLoopP99Ms: [],
    gzipServed: true,
    gzipBytes: 0,
    textBytes: 0,
  };
  let lastText = '';
  // Warm both connections up outside the window.
  await client.get(url.pathname);
  await (await request(url, { dispatcher: agent })).body.arrayBuffer();
  await sleep(Math.max(0, s.startAt - Date.now()));
  report.startedAt = Date.now();
  for (let i = 0; Date.now() - report.startedAt < s.windowMs; i++) {
    const kind = i % 5;
    let text: string;
    const started = performance.now();
    if (kind >= 3) {
      const gzip = kind === 4;
      const response = await client.get(url.pathname, {
        Accept: PROMETHEUS_ACCEPT,
        ...(gzip ? { 'Accept-Encoding': 'gzip' } : {}),
      });
      (gzip ? report.openMetricsGzipMs : report.openMetricsMs).push(performance.now() - started);
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
      text = (
        gzip && response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.body) : response.body
      ).toString('utf8');
      report.openMetricsServed &&=
        (response.headers['content-type'] ?? '').startsWith('application/openmetrics-text') && text.endsWith('# EOF\n');
      if (!gzip) report.openMetricsBytes = response.body.length;
    } else if (kind === 2) {
      const response = await request(url, { dispatcher: agent });
      const body = Buffer.from(await response.body.arrayBuffer());
      report.plainUndiciMs.push(performance.now() - started);
      if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`);
      text = body.toString('utf8');
    } else {
      const response = await client.get(url.pathname, kind === 1 ? { 'Accept-Encoding': 'gzip' } : {});
      (kind === 1 ? report.gzipMs : report.plainMs).push(performance.now() - started);
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
      if (kind === 1) {
        const gzipped = response.headers['content-encoding'] === 'gzip';
        text = gzipped ? gunzipSync(response.body).toString('utf8') : response.body.toString('utf8');
        report.gzipServed &&= gzipped && text.includes('zexa_up{');
        report.gzipBytes = response.body.length;
      } else {
        text = response.body.toString('utf8');
        lastText = text;
        report.textBytes = response.body.length;
      }
    }
    const p99 = sampleValue(text, 'nodejs_eventloop_lag_p99_seconds');
    if (p99 !== undefined) report.eventLoopP99Ms.push(p99 * 1000);
    await sleep(s.everyMs);
  }
  report.endedAt = Date.now();
  client.close();
  await agent.close();
  writeFileSync(s.textFile, lastText);
  return report;
}

function isEntryPoint(): boolean {
  try {
    return (
      process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const settings = JSON.parse(process.argv[2] ?? '{}') as ScraperSettings;
  runScraper(settings).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: unknown) => {
      process.stderr.write(`scraper: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/** Runs the scraper as a child process (TypeScript through tsx) and resolves with its report. */
export async function spawnScraper(settings: ScraperSettings): Promise<ScraperReport> {
  return runJsonChild<ScraperReport>(fileURLToPath(import.meta.url), [JSON.stringify(settings)], 'the scraper process');
}
