/**
 * `npm run load`: the load test of issue 4 §6. The built exporter runs as its own process
 * (`node dist/main.js`, so the RSS is its own) with 1,000 simulated accounts read from a key
 * directory, and 50 concurrent clients hammer `/metrics` and `/` for 30 s on loopback. Passes
 * when no request failed (error, timeout, non-2xx or an incomplete body) and no account's poll
 * slipped by more than 10 % of the interval, judged from the arrival times the simulator recorded.
 *
 *   npm run load [-- --accounts 1000 --connections 50 --duration 30 --interval 10 --rate 0 --json --no-build]
 *
 * Exit code: 0 pass, 1 a criterion failed, 2 bad arguments.
 * `runLoad` is also what the small version in `npm test` (test/integration/load.test.ts) runs.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DEFAULTS } from '../src/config/defaults.js';
import {
  generateAccounts,
  MAX_REQUEST_RECORDS,
  startSimulator,
  type SimRequestRecord,
} from '../src/simulator/index.js';
import { buildDist, startExporterChild, writeConfigFile, writeKeyDirectory } from './exporter-process.js';
import { attackReport, slowHeadersAttack } from './attack-slow-headers.js';
import { slowReadersAttack } from './attack-slow-readers.js';

// The parts of autocannon's result used here (see its README, "API"); it ships no types.
interface AutocannonHistogram {
  average: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  '2xx': number;
  latency: AutocannonHistogram;
  requests: AutocannonHistogram;
  throughput: AutocannonHistogram;
}

interface HammerJob {
  root: string;
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  /** Every complete answer contains this. */
  mustContain: string;
  /** …and ends with this (after trailing whitespace). */
  mustEndWith: string;
  /** Requests per second this generator may send in all; 0 = as fast as answers come. */
  overallRate: number;
}

/**
 * Each load generator runs autocannon on a worker thread of its own: reading ~40 MB/s of answers
 * on the main thread would starve the simulator that lives there, and the exporter would be
 * blamed for polls the simulator answered late. CommonJS, because eval workers are.
 */
const HAMMER_WORKER = `
const { parentPort, workerData: job } = require('node:worker_threads');
const autocannon = require('node:module').createRequire(job.root)('autocannon');
autocannon(
  {
    url: job.url,
    connections: job.connections,
    duration: job.duration,
    timeout: job.timeout,
    ...(job.overallRate > 0 ? { overallRate: job.overallRate } : {}),
    verifyBody: (body) => body.includes(job.mustContain) && body.trimEnd().endsWith(job.mustEndWith),
  },
  (error, raw) => {
    if (error) return parentPort.postMessage({ error: String(error.stack || error) });
    // Off the main thread autocannon hands back raw histograms, to be aggregated by the caller.
    const result = autocannon.aggregateResult([raw], { url: job.url, connections: job.connections, duration: job.duration });
    parentPort.postMessage({ result: JSON.parse(JSON.stringify(result)) });
  },
);
`;

export interface LoadOptions {
  accounts: number;
  /** Concurrent clients in all, split evenly between `/metrics` and `/`. */
  connections: number;
  durationSeconds: number;
  intervalSeconds: number;
  /** Cap on requests per second, all clients together; 0 (default) = closed loop, as fast as answered. */
  ratePerSecond?: number;
  /** Progress lines (to stderr in the script). */
  log?: (line: string) => void;
}

export interface EndpointFigures {
  path: string;
  connections: number;
  requests: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  megabytesPerSecond: number;
  /** Connection errors, timeouts, non-2xx answers and incomplete bodies, in that order. */
  failures: { errors: number; timeouts: number; non2xx: number; incomplete: number };
}

export interface SlipFigures {
  /** Accounts polled at least three times, i.e. with at least one steady-state gap to measure. */
  accountsMeasured: number;
  accountsTotal: number;
  gaps: number;
  /** Largest |gap between consecutive polls - interval| over every account. */
  maxSlipMs: number;
  maxSlipFraction: number;
  worstAccount: string | undefined;
  /** Polls the simulator answered with anything but 200 (there should be none). */
  failedPolls: number;
}

export interface LoadFigures {
  options: Omit<LoadOptions, 'log'>;
  endpoints: EndpointFigures[];
  totalRequests: number;
  totalRequestsPerSecond: number;
  failedRequests: number;
  rss: { beforeLoadBytes: number; maxDuringLoadBytes: number; peakBytes: number };
  /** Event-loop delay of the simulator's thread during the load: high means the slip figure blames the wrong process. */
  simulatorDelayP99Ms: number;
  slip: SlipFigures;
}

const SLIP_LIMIT = 0.1;
const REQUEST_TIMEOUT_SECONDS = 10;
const RSS_SAMPLE_MS = 250;

function checkOptions(o: LoadOptions): void {
  const integer = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  };
  integer('accounts', o.accounts, 1, 50_000);
  integer('connections', o.connections, 2, 1_000);
  integer('duration', o.durationSeconds, 1, 3_600);
  integer('interval', o.intervalSeconds, 5, 3_600);
  integer('rate', o.ratePerSecond ?? 0, 0, 1_000_000);
}

/** A /proc/<pid>/status field in bytes (VmRSS now, VmHWM the peak), or NaN where there is no /proc. */
function procBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? Number.NaN : Number(match[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * How late (or early) each account's polls came, from the simulator's arrival records: for every
 * pair of consecutive polls of an account, how far the gap is from the interval. Each account's
 * first gap is left out: the poller compresses the first round into about a second so the exporter
 * is ready quickly, then moves every account onto its own phase of the interval (src/poll/poller.ts),
 * so that gap is meant to be shorter or longer than the interval.
 */
export function pollSlip(
  records: readonly SimRequestRecord[],
  accountNames: readonly string[],
  intervalMs: number,
): SlipFigures {
  const arrivals = new Map<string, number[]>(accountNames.map((name) => [name, []]));
  let failedPolls = 0;
  for (const record of records) {
    if (record.account === undefined) continue;
    arrivals.get(record.account)?.push(record.at);
    if (record.status !== 200) failedPolls += 1;
  }
  let gaps = 0;
  let measured = 0;
  let maxSlipMs = 0;
  let worstAccount: string | undefined;
  for (const [name, times] of arrivals) {
    if (times.length < 3) continue;
    measured += 1;
    for (let i = 2; i < times.length; i += 1) {
      const slip = Math.abs((times[i] as number) - (times[i - 1] as number) - intervalMs);
      gaps += 1;
      if (worstAccount === undefined || slip > maxSlipMs) {
        maxSlipMs = slip;
        worstAccount = name;
      }
    }
  }
  return {
    accountsMeasured: measured,
    accountsTotal: accountNames.length,
    gaps,
    maxSlipMs,
    maxSlipFraction: maxSlipMs / intervalMs,
    worstAccount,
    failedPolls,
  };
}

function hammer(job: Omit<HammerJob, 'root' | 'timeout'>): Promise<AutocannonResult> {
  const workerData: HammerJob = {
    ...job,
    root: fileURLToPath(new URL('../package.json', import.meta.url)),
    timeout: REQUEST_TIMEOUT_SECONDS,
  };
  const worker = new Worker(HAMMER_WORKER, { eval: true, workerData });
  return new Promise<AutocannonResult>((resolve, reject) => {
    worker.once('message', (message: { result?: AutocannonResult; error?: string }) => {
      if (message.result !== undefined) resolve(message.result);
      else reject(new Error(`autocannon on ${job.url} failed: ${message.error ?? 'no result'}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the load generator for ${job.url} exited (${code}) without a result`)),
    );
  }).finally(() => void worker.terminate());
}

function figures(path: string, connections: number, r: AutocannonResult): EndpointFigures {
  return {
    path,
    connections,
    requests: r.requests.total,
    requestsPerSecond: r.requests.total / r.duration,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyMaxMs: r.latency.max,
    megabytesPerSecond: r.throughput.total / r.duration / 1e6,
    failures: { errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, incomplete: r.mismatches },
  };
}

async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/readyz`).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the exporter was not ready (first poll of every account) within ${timeoutMs} ms`);
}

export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  checkOptions(options);
  const log = options.log ?? (() => undefined);
  const intervalMs = options.intervalSeconds * 1000;
  const rate = options.ratePerSecond ?? 0;
  const accounts = generateAccounts(options.accounts);
  const lastName = accounts[accounts.length - 1]?.name ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'zexa-load-'));
  const sim = await startSimulator({ accounts });
  try {
    writeKeyDirectory(join(dir, 'keys'), accounts);
    writeConfigFile(join(dir, 'config.yml'), {
      apiUrl: sim.url,
      keyDir: join(dir, 'keys'),
      intervalMs,
      maxConcurrency: DEFAULTS.poll.maxConcurrency,
    });
    const exporter = await startExporterChild(join(dir, 'config.yml'));
    try {
      log(`exporter pid ${exporter.pid} at ${exporter.url}; waiting for the first poll of ${accounts.length} accounts`);
      await waitUntilReady(exporter.url, intervalMs * 2 + 30_000);
      const beforeLoadBytes = exporter.rssBytes();
      let maxDuringLoadBytes = beforeLoadBytes;
      const sampler = setInterval(() => {
        const rss = exporter.rssBytes();
        if (rss > maxDuringLoadBytes) maxDuringLoadBytes = rss;
      }, RSS_SAMPLE_MS);
      const metricsConnections = Math.ceil(options.connections / 2);
      const pageConnections = options.connections - metricsConnections;
      log(
        `load: ${metricsConnections} clients on /metrics and ${pageConnections} on / for ${options.durationSeconds} s${rate > 0 ? `, ${rate} requests/s in all` : ', closed loop'}`,
      );
      const simulatorDelay = monitorEventLoopDelay({ resolution: 10 });
      simulatorDelay.enable();
      // A complete answer names the last account: a truncated body counts as a failure.
      const [metrics, page] = await Promise.all([
        hammer({
          url: `${exporter.url}/metrics`,
          connections: metricsConnections,
          duration: options.durationSeconds,
          mustContain: `zexa_up{account="${lastName}"}`,
          mustEndWith: '',
          overallRate: Math.ceil(rate / 2),
        }),
        hammer({
          url: `${exporter.url}/`,
          connections: pageConnections,
          duration: options.durationSeconds,
          mustContain: `>${lastName}<`,
          mustEndWith: '</html>',
          overallRate: Math.floor(rate / 2),
        }),
      ]).finally(() => {
        clearInterval(sampler);
        simulatorDelay.disable();
      });
      const peakBytes = procBytes(exporter.pid, 'VmHWM');
      if (sim.requestCount() > MAX_REQUEST_RECORDS) {
        throw new Error(
          `the simulator kept only the last ${MAX_REQUEST_RECORDS} of ${sim.requestCount()} records; use fewer accounts or a longer interval`,
        );
      }
      const endpoints = [figures('/metrics', metricsConnections, metrics), figures('/', pageConnections, page)];
      const failedRequests = endpoints.reduce(
        (sum, e) => sum + e.failures.errors + e.failures.timeouts + e.failures.non2xx + e.failures.incomplete,
        0,
      );
      const totalRequests = endpoints.reduce((sum, e) => sum + e.requests, 0);
      return {
        options: {
          accounts: options.accounts,
          connections: options.connections,
          durationSeconds: options.durationSeconds,
          intervalSeconds: options.intervalSeconds,
          ratePerSecond: rate,
        },
        endpoints,
        totalRequests,
        totalRequestsPerSecond: endpoints.reduce((sum, e) => sum + e.requestsPerSecond, 0),
        failedRequests,
        rss: { beforeLoadBytes, maxDuringLoadBytes, peakBytes },
        simulatorDelayP99Ms: simulatorDelay.percentile(99) / 1e6,
        slip: pollSlip(
          sim.requests(),
          accounts.map((a) => a.name),
          intervalMs,
        ),
      };
    } finally {
      await exporter.stop();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Which criteria failed; empty when the run passes. */
export function verdict(f: LoadFigures): string[] {
  const problems: string[] = [];
  if (f.failedRequests > 0) problems.push(`${f.failedRequests} failed request(s)`);
  if (f.endpoints.some((e) => e.requests === 0)) problems.push('an endpoint got no request at all');
  if (f.slip.accountsMeasured < f.slip.accountsTotal)
    problems.push(`only ${f.slip.accountsMeasured} of ${f.slip.accountsTotal} accounts were polled three times`);
  if (f.slip.maxSlipFraction > SLIP_LIMIT)
    problems.push(
      `a poll slipped by ${(f.slip.maxSlipFraction * 100).toFixed(1)} % of the interval (limit ${SLIP_LIMIT * 100} %)`,
    );
  if (f.slip.failedPolls > 0) problems.push(`${f.slip.failedPolls} poll(s) failed`);
  return problems;
}

const mib = (bytes: number): string => (Number.isNaN(bytes) ? 'n/a' : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

export function report(f: LoadFigures): string {
  const lines = [
    `${f.options.accounts} accounts, interval ${f.options.intervalSeconds} s, ${f.options.connections} clients for ${f.options.durationSeconds} s, ` +
      (f.options.ratePerSecond
        ? `at most ${f.options.ratePerSecond} requests/s in all`
        : 'closed loop (each client sends its next request as soon as the last is answered)'),
    '',
    '| endpoint | clients | requests | requests/s | p50 | p99 | max | MB/s | failed |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...f.endpoints.map((e) => {
      const failed = e.failures.errors + e.failures.timeouts + e.failures.non2xx + e.failures.incomplete;
      return `| \`${e.path}\` | ${e.connections} | ${e.requests} | ${e.requestsPerSecond.toFixed(1)} | ${e.latencyP50Ms} ms | ${e.latencyP99Ms} ms | ${e.latencyMaxMs} ms | ${e.megabytesPerSecond.toFixed(1)} | ${failed} |`;
    }),
    `| all | ${f.options.connections} | ${f.totalRequests} | ${f.totalRequestsPerSecond.toFixed(1)} | | | | | ${f.failedRequests} |`,
    '',
    `RSS of the exporter: ${mib(f.rss.beforeLoadBytes)} before the load, at most ${mib(f.rss.maxDuringLoadBytes)} during it, peak (VmHWM) ${mib(f.rss.peakBytes)}`,
    `Poll slip: at most ${Math.round(f.slip.maxSlipMs)} ms = ${(f.slip.maxSlipFraction * 100).toFixed(2)} % of the interval ` +
      `(${f.slip.gaps} gaps over ${f.slip.accountsMeasured}/${f.slip.accountsTotal} accounts; worst ${f.slip.worstAccount ?? 'none'}); failed polls: ${f.slip.failedPolls}`,
    `Simulator event-loop delay p99 during the load: ${f.simulatorDelayP99Ms.toFixed(1)} ms`,
  ];
  return lines.join('\n');
}

const USAGE =
  'Usage: npm run load [-- --accounts 1000 --connections 50 --duration 30 --interval 10 --rate 0 --json --no-build] [-- --scenario slow-headers|slow-readers --duration 20 --accounts 10000 --profile DIR]';

/**
 * An attack scenario instead of the load: the exporter with `accounts` accounts, an idle
 * baseline, then the attack, each `seconds` long; /healthz p99 and RSS of both.
 */
const SCENARIOS = {
  'slow-headers': slowHeadersAttack,
  'slow-readers': slowReadersAttack,
} as const;

/** `profileDir`: the exporter writes a CPU profile (`--cpu-prof`) there when it stops. */
async function runScenario(
  scenario: keyof typeof SCENARIOS,
  accounts: number,
  seconds: number,
  profileDir?: string,
): Promise<string> {
  const specs = generateAccounts(accounts);
  const dir = mkdtempSync(join(tmpdir(), 'zexa-attack-'));
  const sim = await startSimulator({ accounts: specs });
  try {
    writeKeyDirectory(join(dir, 'keys'), specs);
    writeConfigFile(join(dir, 'config.yml'), {
      apiUrl: sim.url,
      keyDir: join(dir, 'keys'),
      intervalMs: 60_000,
      maxConcurrency: DEFAULTS.poll.maxConcurrency,
    });
    const exporter = await startExporterChild(join(dir, 'config.yml'), {
      execArgv: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    try {
      await waitUntilReady(exporter.url, 180_000);
      // The machine may be shared: its load average goes with the figures.
      const load = `load average before: ${loadavg()
        .map((n) => n.toFixed(2))
        .join(', ')}`;
      const report = attackReport(await SCENARIOS[scenario](exporter, seconds));
      return `${report}\n\n${load}; after: ${loadavg()
        .map((n) => n.toFixed(2))
        .join(', ')}`;
    } finally {
      await exporter.stop();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let options: LoadOptions;
  let json: boolean;
  let noBuild: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        accounts: { type: 'string', default: '1000' },
        connections: { type: 'string', default: '50' },
        duration: { type: 'string', default: '30' },
        interval: { type: 'string', default: '10' },
        rate: { type: 'string', default: '0' },
        json: { type: 'boolean', default: false },
        'no-build': { type: 'boolean', default: false },
        scenario: { type: 'string' },
        profile: { type: 'string' },
      },
    });
    if (values.scenario !== undefined) {
      const scenario = values.scenario;
      if (!Object.hasOwn(SCENARIOS, scenario))
        throw new Error(`unknown scenario "${scenario}" (expected ${Object.keys(SCENARIOS).join(' or ')})`);
      if (!values['no-build']) buildDist();
      console.log(
        await runScenario(
          scenario as keyof typeof SCENARIOS,
          Number(values.accounts),
          Number(values.duration),
          values.profile,
        ),
      );
      return 0;
    }
    options = {
      accounts: Number(values.accounts),
      connections: Number(values.connections),
      durationSeconds: Number(values.duration),
      intervalSeconds: Number(values.interval),
      ratePerSecond: Number(values.rate),
      log: (line) => console.error(`load: ${line}`),
    };
    checkOptions(options);
    json = values.json;
    noBuild = values['no-build'];
  } catch (error) {
    console.error(`load: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (!noBuild) buildDist();
  const result = await runLoad(options);
  const problems = verdict(result);
  console.log(json ? JSON.stringify(result, null, 2) : report(result));
  console.log(problems.length === 0 ? '\nPASS' : `\nFAIL: ${problems.join('; ')}`);
  return problems.length === 0 ? 0 : 1;
}

const invoked = process.argv[1];
if (invoked !== undefined && import.meta.url === pathToFileURL(realpathSync(invoked)).href) {
  process.exitCode = await main(process.argv.slice(2));
}
