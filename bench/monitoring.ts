/**
 * `npm run bench:monitoring -- --accounts N [--rules prometheus/alerts.yml] [--dashboard
 * grafana/dashboards/zexa-credits.json]`: what the monitoring kit costs Prometheus at fleet size.
 *
 * 1. The simulator serves N accounts (bench/monitoring-fleet.ts: draining balances, top-ups,
 *    revoked keys) and the real exporter (`node dist/main.js`) polls them every 60 s.
 * 2. Seven hours of history of the same series, at 60 s resolution, are backfilled with
 *    `promtool tsdb create-blocks-from openmetrics`, labelled with the exporter's `instance` and
 *    `job="zexa"`, ending when the live scrapes begin, so the 6 h windows are full.
 * 3. Prometheus starts on those blocks with the shipped prometheus.yml (30 s scrape and
 *    evaluation) and the rules of `--rules`, scraping the live exporter.
 * 4. Reported: each rule group's median evaluation time (`evaluationTime` of /api/v1/rules,
 *    sampled at every new evaluation) until each slower group has run once and each 30 s group
 *    has run `--evaluations` times after that (before it, the alerts had no recorded thresholds
 *    and rates to read, so no active alerts whose annotations cost a query each);
 *    then each target of `--dashboard` at its default variables, as Grafana sends it (6 h range,
 *    20 s step), with its time, series count and response bytes; and how fast this machine runs
 *    PromQL at that size: one instant selector over every account's balance series, the unit
 *    every rule is made of, so that runs on different machines (or at different loads) can be
 *    compared.
 *
 * `--rules` and `--dashboard` take any file, so the kit of another branch (or of an older
 * release) can be measured on the same fleet.
 *
 * `--keep` leaves the exporter and Prometheus running after the report, until SIGINT or SIGTERM,
 * and prints Prometheus's URL and rules file: candidate expressions can then be timed against the
 * same data (`/api/v1/query?stats=all`), alternating, which stays comparable on a busy machine.
 * Edit the rules file and POST `/-/reload` to swap the rules.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { startSimulator } from '../src/simulator/index.js';
import {
  freePort,
  REPO_ROOT,
  startProcess,
  stopProcess,
  waitReady,
  type Managed,
} from '../test/support/prometheus-stack.js';
import {
  defaultVariables,
  durationSeconds,
  intervalSeconds,
  substitute,
  type GrafanaTime,
  type TemplateVariable,
} from '../test/ops/grafana-variables.js';
import { panelQueries, type Dashboard } from '../test/ops/ops-files.js';
import { startExporterChild, writeConfigFile, writeKeyDirectory, type ExporterChild } from './exporter-process.js';
import { fleetAccounts, writeHistory } from './monitoring-fleet.js';
import { creditsAndRecordingPer30s, per30s, slowerGroupsRan, totalPer30s } from './rule-evaluations.js';
import { median } from './stats.js';

const USAGE =
  'Usage: npm run bench:monitoring -- --accounts N [--rules FILE] [--dashboard FILE] [--evaluations 5] [--hours 7] [--keep]';

/** The dashboard's range and step of the measurement: 6 h at 20 s, as a 1,200-pixel-wide panel asks. */
const TIME: GrafanaTime = { rangeS: 6 * 3600, scrapeIntervalS: 30, maxDataPoints: 1200 };
const POLL_INTERVAL_MS = 60_000;
const STEP_SECONDS = 60;
/** promtool's block duration. */
const BLOCK_SECONDS = 2 * 3600;
/** The machine's reference read: one instant selector over every account's balance series. */
const REFERENCE_QUERY = 'zexa_credits_remaining';
const REFERENCE_RUNS = 15;
/** Targets that take longer than this are run once; the others three times, for the median. */
const REPEAT_BELOW_MS = 5_000;

interface Options {
  accounts: number;
  rules: string;
  dashboard: string;
  evaluations: number;
  hours: number;
  keep: boolean;
}

interface GroupFigures {
  name: string;
  intervalS: number;
  evaluations: number[];
  /** Each rule's evaluation times, by its `record` or `alert` name. */
  rules: Map<string, number[]>;
}

interface TargetFigures {
  key: string;
  kind: 'range' | 'instant';
  ms: number;
  series: number;
  bytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

function fromRepo(path: string): string {
  return isAbsolute(path) ? path : join(REPO_ROOT, path);
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      accounts: { type: 'string' },
      rules: { type: 'string', default: 'prometheus/alerts.yml' },
      dashboard: { type: 'string', default: 'grafana/dashboards/zexa-credits.json' },
      evaluations: { type: 'string', default: '5' },
      hours: { type: 'string', default: '7' },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const accounts = Number(values.accounts);
  if (!Number.isInteger(accounts) || accounts < 1)
    throw new Error('--accounts takes a whole number of accounts, e.g. --accounts 1000');
  const evaluations = Number(values.evaluations);
  const hours = Number(values.hours);
  if (!Number.isInteger(evaluations) || evaluations < 1)
    throw new Error('--evaluations takes a whole number, at least 1');
  if (!(hours >= 6.5)) throw new Error('--hours must cover the 6 h windows of the rules: at least 6.5');
  return {
    accounts,
    rules: fromRepo(values.rules),
    dashboard: fromRepo(values.dashboard),
    evaluations,
    hours,
    keep: values.keep,
  };
}

async function api<T>(
  base: string,
  path: string,
  params: Record<string, string> = {},
): Promise<{ data: T; bytes: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const text = await res.text();
  const ms = performance.now() - started;
  const body = JSON.parse(text) as { status: string; error?: string; data: T };
  if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
  return { data: body.data, bytes: Buffer.byteLength(text), ms };
}

/**
 * Samples every group's evaluation time at each new evaluation until all have run often enough,
 * counting a 30 s group only once every slower group has run: what the rules cost in operation.
 */
async function ruleGroups(prometheusUrl: string, evaluations: number): Promise<GroupFigures[]> {
  const groups = new Map<string, GroupFigures & { last: string }>();
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    const { data } = await api<{
      groups: Array<{
        name: string;
        interval: number;
        lastEvaluation: string;
        evaluationTime: number;
        rules: Array<{ name: string; evaluationTime: number }>;
      }>;
    }>(prometheusUrl, '/api/v1/rules');
    for (const g of data.groups) {
      const seen = groups.get(g.name) ?? {
        name: g.name,
        intervalS: g.interval,
        evaluations: [],
        rules: new Map<string, number[]>(),
        last: '',
      };
      groups.set(g.name, seen);
      if (g.lastEvaluation !== seen.last && !g.lastEvaluation.startsWith('0001-')) {
        seen.last = g.lastEvaluation;
        if (g.interval <= 60 && !slowerGroupsRan(data.groups, g.lastEvaluation)) {
          log(
            `  ${g.name}: warm-up evaluation took ${g.evaluationTime.toFixed(3)} s (not every slower group has run yet)`,
          );
          continue;
        }
        seen.evaluations.push(g.evaluationTime);
        for (const r of g.rules) seen.rules.set(r.name, [...(seen.rules.get(r.name) ?? []), r.evaluationTime]);
        log(`  ${g.name}: evaluation ${seen.evaluations.length} took ${g.evaluationTime.toFixed(3)} s`);
      }
    }
    const done = [...groups.values()].every((g) => g.evaluations.length >= (g.intervalS <= 60 ? evaluations : 1));
    if (groups.size > 0 && done) break;
    if (Date.now() > deadline)
      throw new Error(`rule groups did not all evaluate within 20 minutes: ${JSON.stringify([...groups.values()])}`);
    await sleep(2_000);
  }
  return [...groups.values()].map(({ name, intervalS, evaluations: e, rules }) => ({
    name,
    intervalS,
    evaluations: e,
    rules,
  }));
}

/**
 * The median time Prometheus takes to read one instant selector over every account
 * (REFERENCE_QUERY), as Prometheus measures it (`stats=all`, `execTotalTime`): every rule is
 * made of such reads and of joins of the same size, so this says how fast the machine was.
 */
async function referenceRead(prometheusUrl: string): Promise<{ ms: number; fastestMs: number; series: number }> {
  const times: number[] = [];
  let series = 0;
  for (let i = 0; i < REFERENCE_RUNS; i++) {
    const { data } = await api<{ result: unknown[]; stats?: { timings?: { execTotalTime?: number } } }>(
      prometheusUrl,
      '/api/v1/query',
      { query: REFERENCE_QUERY, stats: 'all' },
    );
    const seconds = data.stats?.timings?.execTotalTime;
    if (seconds === undefined) throw new Error('/api/v1/query?stats=all gave no timings.execTotalTime');
    times.push(seconds * 1000);
    series = data.result.length;
  }
  return { ms: median(times), fastestMs: Math.min(...times), series };
}

async function dashboardTargets(
  prometheusUrl: string,
  dashboardPath: string,
): Promise<{ variables: Record<string, string>; targets: TargetFigures[] }> {
  const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
  const variables = await defaultVariables(
    dashboard.templating.list as unknown as TemplateVariable[],
    async (metric, label) => {
      const { data } = await api<string[]>(prometheusUrl, `/api/v1/label/${label}/values`, { 'match[]': metric });
      return data;
    },
  );
  const targets: TargetFigures[] = [];
  for (const query of panelQueries(dashboard)) {
    const minIntervalS = durationSeconds(query.interval);
    const time = minIntervalS === undefined ? TIME : { ...TIME, minIntervalS };
    const promql = substitute(query.expr, variables, time);
    const runs: Array<{ ms: number; series: number; bytes: number }> = [];
    for (let i = 0; i < 3; i++) {
      const end = Date.now() / 1000;
      const { data, bytes, ms } =
        query.kind === 'instant'
          ? await api<{ result: unknown[] }>(prometheusUrl, '/api/v1/query', { query: promql, time: String(end) })
          : await api<{ result: unknown[] }>(prometheusUrl, '/api/v1/query_range', {
              query: promql,
              start: String(end - time.rangeS),
              end: String(end),
              step: String(intervalSeconds(time)),
            });
      runs.push({ ms, series: data.result.length, bytes });
      if (ms > REPEAT_BELOW_MS) break;
    }
    const figures = {
      key: query.key,
      kind: query.kind,
      ms: median(runs.map((r) => r.ms)),
      series: runs[0]!.series,
      bytes: runs[0]!.bytes,
    };
    log(`  ${figures.key}: ${figures.ms.toFixed(0)} ms, ${figures.series} series, ${figures.bytes} bytes`);
    targets.push(figures);
  }
  return { variables, targets };
}

/** The shipped prometheus.yml with the exporter as the `zexa` target, the rules given, and no Alertmanager. */
function prometheusConfig(target: string, rulesPath: string): string {
  const config = parse(readFileSync(join(REPO_ROOT, 'prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    alerting?: unknown;
    scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }>;
  };
  config.rule_files = [rulesPath];
  delete config.alerting;
  const job = config.scrape_configs.find((j) => j.job_name === 'zexa');
  if (job === undefined) throw new Error('prometheus.yml has no scrape job named "zexa"');
  job.static_configs = [{ targets: [target] }];
  config.scrape_configs = [job];
  return stringify(config);
}

function program(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed (Debian: apt-get install prometheus)`);
  }
}

function table(
  options: Options,
  groups: GroupFigures[],
  targets: TargetFigures[],
  variables: Record<string, string>,
  loads: number[][],
  reference: { ms: number; fastestMs: number; series: number },
): string {
  const rel = (p: string): string => (p.startsWith(REPO_ROOT) ? p.slice(REPO_ROOT.length) : p);
  const medians = groups.map((g) => ({ name: g.name, intervalS: g.intervalS, medianS: median(g.evaluations) }));
  const lines = [
    `${options.accounts} accounts; rules ${rel(options.rules)}; dashboard ${rel(options.dashboard)}; variables ${JSON.stringify(variables)}`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GB RAM; load average (1, 5, 15 min) at start ${loads[0]!.map((l) => l.toFixed(2)).join(', ')}, at the end ${loads[1]!.map((l) => l.toFixed(2)).join(', ')}`,
    `PromQL on this machine: one instant selector over every account (\`${REFERENCE_QUERY}\`, ${reference.series} series) takes a median of ${reference.ms.toFixed(1)} ms over ${REFERENCE_RUNS} runs, ${reference.fastestMs.toFixed(1)} ms at the fastest (Prometheus' execTotalTime; a rule group evaluating at the same moment slows a run)`,
    '',
    '| rule group | interval | evaluations | median evaluation time | per 30 s |',
    '|---|---|---|---|---|',
    ...groups.map((g, i) => {
      const m = medians[i]!;
      return `| ${g.name} | ${g.intervalS} s | ${g.evaluations.length} | ${m.medianS.toFixed(3)} s | ${per30s(m).toFixed(3)} s |`;
    }),
    `| zexa-credits and the recording groups (target: at most 1 s at 5,000 accounts) | | | | ${creditsAndRecordingPer30s(medians).toFixed(3)} s |`,
    `| all groups | | | | ${totalPer30s(medians).toFixed(3)} s |`,
    '',
    '| rule (the slowest ten) | group | median evaluation time |',
    '|---|---|---|',
    ...groups
      .flatMap((g) => [...g.rules].map(([rule, times]) => ({ rule, group: g.name, m: median(times) })))
      .sort((a, b) => b.m - a.m)
      .slice(0, 10)
      .map((r) => `| ${r.rule} | ${r.group} | ${r.m.toFixed(3)} s |`),
    '',
    '| dashboard target | query | time | series | response |',
    '|---|---|---|---|---|',
    ...targets.map(
      (t) =>
        `| ${t.key} | ${t.kind} | ${t.ms < 1000 ? `${t.ms.toFixed(0)} ms` : `${(t.ms / 1000).toFixed(2)} s`} | ${t.series} | ${formatBytes(t.bytes)} |`,
    ),
  ];
  return lines.join('\n');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** Resolves at the first SIGINT or SIGTERM, which then no longer end the process by default. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    console.error(`bench:monitoring: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const prometheusBin = program('prometheus');
  const promtoolBin = program('promtool');
  const loads = [loadavg()];
  const dir = mkdtempSync(join(tmpdir(), 'zexa-bench-monitoring-'));
  const fleet = fleetAccounts(options.accounts);
  const sim = await startSimulator({ accounts: fleet.map((a) => a.spec) });
  let exporter: ExporterChild | undefined;
  let prometheus: Managed | undefined;
  try {
    const keyDir = join(dir, 'keys');
    writeKeyDirectory(
      keyDir,
      fleet.map((a) => a.spec),
    );
    const configFile = join(dir, 'config.yml');
    writeConfigFile(configFile, { apiUrl: sim.url, keyDir, intervalMs: POLL_INTERVAL_MS, maxConcurrency: 32 });
    exporter = await startExporterChild(configFile);
    const instance = new URL(exporter.url).host;
    log(`exporter at ${instance}, polling ${options.accounts} accounts every ${POLL_INTERVAL_MS / 1000} s`);

    // One file per 2 h block (promtool's block size, aligned to the epoch), each read twice.
    const endSeconds = Math.floor(Date.now() / 1000) - 60;
    const dataDir = join(dir, 'prometheus-data');
    const started = Date.now();
    let samples = 0;
    let bytes = 0;
    for (
      let from = Math.floor((endSeconds - options.hours * 3600) / BLOCK_SECONDS) * BLOCK_SECONDS;
      from <= endSeconds;
      from += BLOCK_SECONDS
    ) {
      const historyFile = join(dir, `history-${from}.om`);
      const window = { from, to: from + BLOCK_SECONDS };
      samples += await writeHistory(historyFile, fleet, {
        target: { instance, job: 'zexa' },
        endSeconds,
        hours: options.hours,
        stepSeconds: STEP_SECONDS,
        ...window,
      });
      bytes += statSync(historyFile).size;
      execFileSync(promtoolBin, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', historyFile, dataDir], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      rmSync(historyFile);
    }
    log(
      `history: ${samples} samples (${(bytes / 1e6).toFixed(0)} MB of OpenMetrics) backfilled with promtool in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );

    const rulesPath = join(dir, 'rules.yml');
    writeFileSync(rulesPath, readFileSync(options.rules, 'utf8'));
    const configPath = join(dir, 'prometheus.yml');
    writeFileSync(configPath, prometheusConfig(instance, rulesPath));
    execFileSync(promtoolBin, ['check', 'config', configPath], { stdio: 'ignore' });
    const port = await freePort();
    prometheus = startProcess(prometheusBin, [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(options.keep ? ['--web.enable-lifecycle'] : []),
    ]);
    const prometheusUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${prometheusUrl}/-/ready`, prometheus, 'prometheus', 120_000);
    log(`prometheus at ${prometheusUrl}; sampling rule group evaluations`);
    const groups = await ruleGroups(prometheusUrl, options.evaluations);
    log('dashboard targets at their default variables');
    const { variables, targets } = await dashboardTargets(prometheusUrl, options.dashboard);
    const reference = await referenceRead(prometheusUrl);
    loads.push(loadavg());
    console.log(table(options, groups, targets, variables, loads, reference));
    if (options.keep) {
      log(`kept running until SIGINT or SIGTERM: prometheus at ${prometheusUrl}, rules in ${rulesPath}`);
      await untilSignal();
    }
    return 0;
  } finally {
    if (prometheus !== undefined) await stopProcess(prometheus);
    await exporter?.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
