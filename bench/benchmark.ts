/**
 * The scale benchmark of issue 5, as a library: `runBenchmark` measures every figure of the
 * issue's table, each with its baseline in the same run, for each number of accounts asked for.
 * `bench/run.ts` is the command line; `test/bench/bench-smoke.test.ts` runs a tiny plan of it.
 *
 * The simulator (with injected latency) and the baselines run in this process; the exporter is
 * `node dist/main.js` in a child process, so its RSS and event-loop delay are its own. Every
 * request-side figure comes from the simulator's own request records, the same way for the
 * exporter and for its baseline.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountStore } from '../src/state/account-store.js';
import { ExporterMetrics } from '../src/metrics/exporter-metrics.js';
import {
  generateAccounts,
  startSimulator,
  type SimAccountSpec,
  type SimRequestRecord,
  type ZexaSimulator,
} from '../src/simulator/index.js';
import { bareUndiciRound, equivalentRegistry, timeRegistryMetrics } from './baselines.js';
import {
  healthcheckPeak,
  startExporterChild,
  writeConfigFile,
  writeKeyDirectory,
  type AccountsForm,
  type ExporterChild,
} from './exporter-process.js';
import { measureHistoryCost, measureKeyIndexCost } from './history-cost.js';
import { spawnScraper } from './scraper-process.js';
import { measureStatusPage } from './status-page-figures.js';
import { median } from './stats.js';

export interface SizePlan {
  accounts: number;
  /** How the config file names the accounts (default `directory`: one `fromDirectory` entry). */
  form?: AccountsForm;
  /** The exporter's poll interval for this size (5 s at least: the configuration's floor). */
  intervalMs: number;
  /** How long the steady state (scrapes, request rate, RSS, event loop) is observed. */
  steadyWindowMs: number;
}

export interface BenchOptions {
  plans: readonly SizePlan[];
  /** Added by the simulator to every response. */
  latencyMs: number;
  /** ZEXA_MAX_CONCURRENCY of the exporter, and the bare loop's concurrency. */
  concurrency: number;
  /** Repeats of the poll-cycle measurement (exporter and bare loop), for medians. */
  repeats: number;
  /** Gap between scrapes in the steady window (in turn plain, gzip, plain with undici, OpenMetrics, OpenMetrics gzip). */
  scrapeEveryMs: number;
  /** Calls of plain `registry.metrics()` for its median. */
  registryRuns: number;
  /** How long the request-rate cap is observed while demand exceeds it. */
  rateWindowMs: number;
  /** The `node` binary the exporter runs on (default: the bench's own). */
  node?: string | undefined;
  log: (line: string) => void;
}

export interface SizeFigures {
  accounts: number;
  form: AccountsForm;
  intervalMs: number;
  steadyWindowMs: number;
  /** Gauge and counter series of the zexa_ families, as rebuilt in the prom-client baseline. */
  series: number;
  textBytes: number;
  gzipBytes: number;
  /**
   * Median /metrics latency over HTTP during polls, to the last byte of the body, plain and gzip,
   * from a scraper process of its own with a minimal HTTP client (bench/scrape-client.ts).
   */
  metricsMs: number;
  metricsGzipMs: number;
  /** The same plain scrapes made with undici's request(), whose own parsing adds to the time. */
  metricsUndiciMs: number;
  /** The same scrapes asked with Prometheus' Accept header (OpenMetrics), plain and gzip; and their ratio to plain text. */
  metricsOpenMetricsMs: number;
  metricsOpenMetricsGzipMs: number;
  openMetricsRatio: number;
  openMetricsServed: boolean;
  openMetricsBytes: number;
  scrapes: number;
  /** Median of plain prom-client `registry.metrics()` on the same series, in process. */
  baselineMs: number;
  speedup: number;
  /** Every gzip scrape answered with `Content-Encoding: gzip` and a body that gunzips to the text. */
  gzipServed: boolean;
  /** In process, same series: the second render with no change returns the very same gzip Buffer. */
  gzipReused: boolean;
  gzipFirstMs: number;
  gzipAgainMs: number;
  /** Start-up poll round: first to last request, median over repeats; and the bare loop's. */
  cycleMs: number;
  bareCycleMs: number;
  cycleRatio: number;
  /** Busiest 1 s of the steady window over the mean per second. */
  busiestRatio: number;
  rateCap: number;
  rateMeasured: number;
  rateErrorPct: number;
  /** Peak RSS of the exporter process over its whole life (config load and start-up round included): VmHWM, and the 250 ms samples. */
  rssMb: number;
  /** `zexa-exporter healthcheck` against the running exporter: exit code and its own peak RSS (VmHWM). */
  healthcheckExitCode: number;
  healthcheckPeakMb: number;
  /** Median RSS over the steady window (polls and scrapes going on, start-up over). */
  rssSteadyMb: number;
  /** Event-loop delay p99 of each scrape window (from nodejs_eventloop_lag_p99_seconds): the worst and the median. */
  eventLoopP99MaxMs: number;
  eventLoopP99MedianMs: number;
  callsPerAccountHour: number;
  expectedCallsPerAccountHour: number;
  /** The balance history full (24 h) for this many accounts: heap + typed arrays, and RSS growth. */
  historyBytes: number;
  historyRssBytes: number;
  historyHours: number;
  /** The key-fingerprint index (issue 13) for this many accounts: heap + typed arrays, and RSS growth. */
  keyIndexBytes: number;
  keyIndexRssBytes: number;
  /** The first page of `/` during the steady state, and Chromium's load time for it (NaN without chromium). */
  pageBytes: number;
  pageChromiumMs: number;
}

/**
 * prom-client samples the event loop every 10 ms (its `eventLoopMonitoringPrecision`), and Node's
 * histogram records the whole time between two samples, so an idle process reads 10 ms: the
 * delay is what exceeds it (see nodejs/node#34661 on how the histogram is sampled).
 */
const EVENT_LOOP_RESOLUTION_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with each account's first request once every account has had one. */
async function firstRound(
  sim: ZexaSimulator,
  count: number,
  timeoutMs: number,
): Promise<{ firstAt: number; lastAt: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (sim.requestCount() >= count) {
      const firsts = new Map<string, number>();
      for (const r of sim.requests())
        if (r.account !== undefined && !firsts.has(r.account)) firsts.set(r.account, r.at);
      if (firsts.size >= count) {
        const times = [...firsts.values()];
        return { firstAt: Math.min(...times), lastAt: Math.max(...times) };
      }
    }
    if (Date.now() > deadline)
      throw new Error(`the first poll round of ${count} accounts did not finish within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function zexaPart(text: string): string {
  return text
    .split('\n')
    .filter((line) => /^(# (HELP|TYPE) )?zexa_/.test(line))
    .join('\n');
}

/** Busiest 1 s window over the mean, over the whole seconds of [start, end). */
export function busiestSecondRatio(times: readonly number[], start: number, end: number): number {
  const bins = new Array<number>(Math.max(1, Math.floor((end - start) / 1000))).fill(0);
  let counted = 0;
  for (const t of times) {
    const bin = Math.floor((t - start) / 1000);
    if (bin >= 0 && bin < bins.length) {
      bins[bin] = (bins[bin] as number) + 1;
      counted++;
    }
  }
  const mean = counted / bins.length;
  return mean === 0 ? Number.NaN : Math.max(...bins) / mean;
}

/** Requests per second from the spacing of the starts: (k − 1) gaps over the time they span. */
export function paceOf(times: readonly number[]): number {
  if (times.length < 2) return Number.NaN;
  const sorted = [...times].sort((a, b) => a - b);
  return (sorted.length - 1) / (((sorted.at(-1) as number) - (sorted[0] as number)) / 1000);
}

/** The render-once-per-change check, in process on the same series: is the gzip reused as is? */
function gzipReuse(accounts: readonly SimAccountSpec[]): { reused: boolean; firstMs: number; againMs: number } {
  const store = new AccountStore();
  store.configure(accounts.map((a) => ({ name: a.name, thresholds: { warning: 1000, critical: 100 } })));
  const now = Date.now();
  for (const a of accounts) store.recordSuccess(a.name, { credits: a.credits, currency: 'USD', atMs: now });
  const metrics = new ExporterMetrics(store, { version: 'bench', nodeVersion: process.version, processMetrics: false });
  let started = performance.now();
  const first = metrics.renderZexa().gzip();
  const firstMs = performance.now() - started;
  started = performance.now();
  const again = metrics.renderZexa().gzip();
  const againMs = performance.now() - started;
  return { reused: first === again, firstMs, againMs };
}

async function measureSize(plan: SizePlan, options: BenchOptions): Promise<SizeFigures> {
  const { log, concurrency } = options;
  const n = plan.accounts;
  const accounts = generateAccounts(n);
  const sim = await startSimulator({ latencyMs: options.latencyMs, accounts });
  const dir = mkdtempSync(join(tmpdir(), 'zexa-bench-'));
  const keyDir = join(dir, 'keys');
  writeKeyDirectory(keyDir, accounts);
  const configFile = join(dir, 'config.yml');
  const roundTimeout = Math.max(60_000, ((n * (options.latencyMs + 20)) / concurrency) * 3);
  const children: ExporterChild[] = [];
  try {
    // 1. The bare loop, on a quiet machine.
    const bareCycles: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      sim.resetRecords();
      await bareUndiciRound(sim.url, accounts, concurrency);
      const round = await firstRound(sim, n, roundTimeout);
      bareCycles.push(round.lastAt - round.firstAt);
    }
    log(`  ${n} accounts: bare undici round ${median(bareCycles).toFixed(0)} ms`);

    // 2. The exporter's start-up round, repeated; the last run goes on into the steady state.
    const form = plan.form ?? 'directory';
    const names = accounts.map((a) => a.name);
    const exporterConfig = {
      apiUrl: sim.url,
      keyDir,
      form,
      names,
      intervalMs: plan.intervalMs,
      maxConcurrency: concurrency,
    };
    writeConfigFile(configFile, exporterConfig);
    const cycles: number[] = [];
    let child: ExporterChild | undefined;
    let startedAt = 0;
    let rssMax = 0;
    let inSteadyWindow = false;
    const rssSteady: number[] = [];
    let rssTimer: NodeJS.Timeout | undefined;
    for (let r = 0; r < options.repeats; r++) {
      if (child !== undefined) await child.stop();
      sim.resetRecords();
      startedAt = Date.now();
      child = await startExporterChild(configFile, { node: options.node });
      children.push(child);
      const current = child;
      if (r === options.repeats - 1) {
        rssTimer = setInterval(() => {
          const rss = current.rssBytes();
          if (!Number.isFinite(rss)) return;
          rssMax = Math.max(rssMax, rss);
          if (inSteadyWindow) rssSteady.push(rss);
        }, 250);
      }
      const round = await firstRound(sim, n, roundTimeout);
      cycles.push(round.lastAt - round.firstAt);
    }
    if (child === undefined) throw new Error('repeats must be at least 1');
    log(`  ${n} accounts: exporter start-up round ${median(cycles).toFixed(0)} ms`);

    // 3. Steady state: every account on its phase, scraped while polls keep changing the store.
    // After the compressed first round, accounts rejoin their phase within one interval.
    const steadyFrom = startedAt + plan.intervalMs + 1000;
    const textFile = join(dir, 'last-scrape.prom');
    const scraper = spawnScraper({
      url: child.url,
      startAt: steadyFrom,
      windowMs: plan.steadyWindowMs,
      everyMs: options.scrapeEveryMs,
      textFile,
    });
    await sleep(Math.max(0, steadyFrom - Date.now()));
    sim.resetRecords();
    inSteadyWindow = true;
    const windowStart = Date.now();
    const report = await scraper;
    const windowEnd = Date.now();
    inSteadyWindow = false;
    const statusPage = await measureStatusPage(child.url);
    const healthcheck = await healthcheckPeak(configFile, child.url, options.node);
    const lastText = readFileSync(textFile, 'utf8');
    const records = sim.requests().filter((r: SimRequestRecord) => r.at >= windowStart && r.at < windowEnd);
    if (rssTimer !== undefined) clearInterval(rssTimer);
    const hwm = child.peakRssBytes();
    if (Number.isFinite(hwm)) rssMax = Math.max(rssMax, hwm);
    await child.stop();
    // The first scrape (before the window) reset the event-loop histogram; each p99 covers the time since the last scrape.
    const p99s = report.eventLoopP99Ms.map((p99) => Math.max(0, p99 - EVENT_LOOP_RESOLUTION_MS));
    const busiestRatio = busiestSecondRatio(
      records.map((r) => r.at),
      windowStart,
      windowEnd,
    );
    const callsPerAccountHour = (records.length / n) * (3_600_000 / (windowEnd - windowStart));
    const scrapes =
      report.plainMs.length +
      report.gzipMs.length +
      report.plainUndiciMs.length +
      report.openMetricsMs.length +
      report.openMetricsGzipMs.length;
    log(
      `  ${n} accounts: steady window ${windowEnd - windowStart} ms, ${scrapes} scrapes, ${records.length} API requests`,
    );

    // 4. ZEXA_MAX_REQUESTS_PER_SECOND, set below what the start-up round asks for.
    const rateCap = Math.max(1, Math.min(100, Math.round(n / 10)));
    writeConfigFile(configFile, { ...exporterConfig, maxRequestsPerSecond: rateCap });
    sim.resetRecords();
    const capped = await startExporterChild(configFile, { node: options.node });
    children.push(capped);
    const capStart = Date.now();
    await sleep(options.rateWindowMs + 1000);
    await capped.stop();
    const capTimes = sim
      .requests()
      .map((r) => r.at)
      .filter((t) => t >= capStart && t < capStart + options.rateWindowMs + 1000);
    const rateMeasured = paceOf(capTimes);
    log(`  ${n} accounts: rate cap ${rateCap}/s → ${rateMeasured.toFixed(2)}/s`);

    // 5. The prom-client baseline, on the series the exporter served, with nothing else running.
    const { registry, series } = equivalentRegistry(zexaPart(lastText));
    const baselineMs = median(await timeRegistryMetrics(registry, options.registryRuns));
    const reuse = gzipReuse(accounts);
    const metricsMs = median(report.plainMs);
    const history = await measureHistoryCost(n);
    const keyIndex = await measureKeyIndexCost(n);
    log(
      `  ${n} accounts: history ${(history.bytes / 1e6).toFixed(1)} MB (RSS +${(history.rssBytes / 1e6).toFixed(1)} MB), ` +
        `key index ${(keyIndex.bytes / 1e6).toFixed(2)} MB, first page ${statusPage.bytes} bytes`,
    );

    return {
      accounts: n,
      form,
      intervalMs: plan.intervalMs,
      steadyWindowMs: windowEnd - windowStart,
      series,
      textBytes: Buffer.byteLength(lastText),
      gzipBytes: report.gzipBytes,
      metricsMs,
      metricsGzipMs: median(report.gzipMs),
      metricsUndiciMs: median(report.plainUndiciMs),
      metricsOpenMetricsMs: median(report.openMetricsMs),
      metricsOpenMetricsGzipMs: median(report.openMetricsGzipMs),
      openMetricsRatio: median(report.openMetricsMs) / metricsMs,
      openMetricsServed: report.openMetricsServed,
      openMetricsBytes: report.openMetricsBytes,
      scrapes,
      baselineMs,
      speedup: baselineMs / metricsMs,
      gzipServed: report.gzipServed,
      gzipReused: reuse.reused,
      gzipFirstMs: reuse.firstMs,
      gzipAgainMs: reuse.againMs,
      cycleMs: median(cycles),
      bareCycleMs: median(bareCycles),
      cycleRatio: median(cycles) / median(bareCycles),
      busiestRatio,
      rateCap,
      rateMeasured,
      rateErrorPct: (Math.abs(rateMeasured - rateCap) / rateCap) * 100,
      rssMb: rssMax / (1024 * 1024),
      rssSteadyMb: median(rssSteady) / (1024 * 1024),
      healthcheckExitCode: healthcheck.exitCode,
      healthcheckPeakMb: healthcheck.peakMb,
      eventLoopP99MaxMs: Math.max(...p99s),
      eventLoopP99MedianMs: median(p99s),
      callsPerAccountHour,
      expectedCallsPerAccountHour: 3_600_000 / plan.intervalMs,
      historyBytes: history.bytes,
      historyRssBytes: history.rssBytes,
      historyHours: history.hoursKept,
      keyIndexBytes: keyIndex.bytes,
      keyIndexRssBytes: keyIndex.rssBytes,
      pageBytes: statusPage.bytes,
      pageChromiumMs: statusPage.chromiumLoadMs,
    };
  } finally {
    for (const c of children) await c.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBenchmark(options: BenchOptions): Promise<SizeFigures[]> {
  if (options.repeats < 1) throw new RangeError(`repeats must be at least 1, got ${options.repeats}`);
  const out: SizeFigures[] = [];
  for (const plan of options.plans) {
    if (plan.intervalMs < 5000)
      throw new RangeError(`intervalMs must be at least 5000 (the exporter's floor), got ${plan.intervalMs}`);
    options.log(
      `measuring ${plan.accounts} accounts, ${plan.form ?? 'directory'} form (interval ${plan.intervalMs / 1000} s)…`,
    );
    out.push(await measureSize(plan, options));
  }
  return out;
}
