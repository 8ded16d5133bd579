/**
 * A real Prometheus and Alertmanager on loopback for end-to-end tests of the monitoring kit.
 *
 * Prometheus runs the SHIPPED prometheus.yml (job `zexa` pointed at the test's targets, scrape
 * and evaluation every second) with the SHIPPED prometheus/alerts.yml. Only the rules' `for:`
 * durations are shortened (see `shortenRuleDurations`): they are minutes in production, and a
 * test must finish in seconds. Expressions, labels and annotations stay exactly as shipped.
 *
 * Alertmanager runs the SHIPPED alertmanager/alertmanager.yml (routes, grouping, inhibition)
 * with every receiver's webhook pointed at an HTTP server in the test (`/<receiver name>`) and
 * the grouping timers at one second.
 *
 * Everything runs in its own process group and temporary directory; `close()` kills the groups
 * and removes the directories. Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { until } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One alert as Alertmanager's webhook (payload version 4) reports it. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** One webhook notification, with the receiver it was routed to. */
export interface WebhookNotification {
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: WebhookAlert[];
}

interface WebhookRecorder {
  readonly url: string;
  readonly notifications: readonly WebhookNotification[];
  /**
   * Resolves with the first notification (already received or arriving later) that satisfies
   * `predicate`; rejects after `timeoutMs` with everything received so far, to show what did come.
   */
  waitFor(predicate: (n: WebhookNotification) => boolean, timeoutMs: number): Promise<WebhookNotification>;
  close(): Promise<void>;
}

/** A notification that carries `alertname` for `account` in the given status. */
export function hasAlert(alertname: string, account: string, status: 'firing' | 'resolved') {
  return (n: WebhookNotification): boolean =>
    n.alerts.some((a) => a.status === status && a.labels.alertname === alertname && a.labels.account === account);
}

async function startWebhookRecorder(): Promise<WebhookRecorder> {
  const notifications: WebhookNotification[] = [];
  const waiters = new Set<{
    predicate: (n: WebhookNotification) => boolean;
    resolve: (n: WebhookNotification) => void;
  }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<WebhookNotification, 'receiver'> & {
          receiver: string;
        };
        const n: WebhookNotification = {
          receiver: (req.url ?? '/').slice(1),
          status: body.status,
          groupLabels: body.groupLabels,
          alerts: body.alerts,
        };
        notifications.push(n);
        for (const w of [...waiters]) {
          if (w.predicate(n)) {
            waiters.delete(w);
            w.resolve(n);
          }
        }
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    waitFor(predicate, timeoutMs) {
      const seen = notifications.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (n: WebhookNotification) => {
            clearTimeout(timer);
            resolve(n);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `no matching webhook notification within ${timeoutMs} ms; received: ` +
                JSON.stringify(
                  notifications.map((x) => ({
                    receiver: x.receiver,
                    alerts: x.alerts.map((a) => [a.status, a.labels.alertname, a.labels.account]),
                  })),
                ),
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The shipped rules with every `for:` set to `forDuration` (rules with no `for:` keep none), and
 * every group with an `interval` of its own (the recording groups) evaluated every second, as
 * the stack evaluates the others. Expressions are unchanged, so they are the ones users run.
 */
function shortenRuleDurations(rulesYaml: string, forDuration: string, byAlert: Record<string, string> = {}): string {
  const doc = parse(rulesYaml) as { groups: Array<{ interval?: string; rules: Array<Record<string, unknown>> }> };
  for (const group of doc.groups) {
    if (group.interval !== undefined) group.interval = '1s';
    for (const rule of group.rules) {
      if (rule.for !== undefined) rule.for = byAlert[String(rule.alert)] ?? forDuration;
    }
  }
  return stringify(doc);
}

const DURATION_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Prometheus duration (`1h15m`, `30s`) divided by `factor`, written in milliseconds. */
function compressDuration(duration: string, factor: number): string {
  let ms = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(n) * DURATION_MS[unit!]!;
  return `${Math.max(1, Math.round(ms / factor))}ms`;
}

/**
 * The shipped rules with time running `factor` times faster: every duration (ranges, subquery
 * steps, `offset`, `for:`, group `interval`) and every time constant of the expressions (integer
 * seconds, which in these rules are the multiples of 60: 900, 7200, `72 * 3600`...) divided by
 * `factor`. With 60, a minute of the rules lasts a second, so a test can show a 20-minute outage
 * in 20 seconds with the expressions' shape unchanged. Quoted label values and annotations are
 * left alone.
 */
function compressRuleTime(rulesYaml: string, factor: number): string {
  const doc = parse(rulesYaml) as { groups: Array<{ interval?: string; rules: Array<Record<string, unknown>> }> };
  const compressExpr = (expr: string): string =>
    expr
      .split(/("(?:[^"\\]|\\.)*")/)
      .map((part, i) =>
        i % 2 === 1
          ? part
          : part.replace(
              /(?<![\w:.])((?:\d+(?:ms|s|m|h|d|w|y))+)\b|(?<![\w:.])(\d+)\b(?![.\d])/g,
              (match, duration: string | undefined, seconds: string | undefined) => {
                if (duration !== undefined) return compressDuration(duration, factor);
                const n = Number(seconds);
                return n % 60 === 0 ? String(n / factor) : match;
              },
            ),
      )
      .join('');
  for (const group of doc.groups) {
    if (group.interval !== undefined) group.interval = compressDuration(group.interval, factor);
    for (const rule of group.rules) {
      rule.expr = compressExpr(String(rule.expr));
      if (rule.for !== undefined) rule.for = compressDuration(String(rule.for), factor);
    }
  }
  return stringify(doc);
}

/** A free loopback port. There is a short window in which another process could take it. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * A scrape target that is down: a loopback listener that closes every connection at once, so each
 * scrape fails (`up` is 0). It holds its port while the test runs. A port found free and released
 * instead ("nothing listens") stays free only until the next server of a test running beside this
 * one binds port 0 and may be handed it, and Prometheus then scrapes that server's accounts.
 */
export async function startDownTarget(): Promise<{ host: string; close(): Promise<void> }> {
  const srv = createNetServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

export interface Managed {
  child: ChildProcess;
  output: string[];
}

export function startProcess(command: string, args: string[]): Managed {
  // detached: own process group, so close() can signal it and anything it started.
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(b.toString('utf8'));
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output };
}

export async function stopProcess(m: Managed): Promise<void> {
  const { child } = m;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function waitReady(url: string, m: Managed, name: string, timeoutMs: number): Promise<void> {
  let exitCode: number | null = null;
  try {
    await until(
      async () => {
        exitCode = m.child.exitCode;
        if (exitCode !== null) return true;
        try {
          return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;
        } catch {
          return false; // Not listening yet.
        }
      },
      timeoutMs,
      `${name} to be ready at ${url}`,
      100,
    );
  } catch (error) {
    throw new Error(`${name} not ready at ${url} within ${timeoutMs} ms:\n${m.output.join('')}`, { cause: error });
  }
  if (exitCode !== null) throw new Error(`${name} exited with code ${exitCode}:\n${m.output.join('')}`);
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  webhook: WebhookRecorder;
  /** Instant query; throws with Prometheus' error message when the query fails. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `query` until it returns at least one series, or throws after `timeoutMs`. */
  waitForSeries(promql: string, timeoutMs: number): Promise<PromSample[]>;
  /**
   * Replaces the `zexa` job's targets, as service discovery does when a pod is replaced (only
   * with `fileSd: true`). Prometheus watches the file and applies the change within a second.
   */
  setTargets(targets: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** `host:port` targets for the `zexa` job. */
  targets: string[];
  /** Paths to the two programs (from requireProgram). */
  prometheusBin: string;
  alertmanagerBin: string;
  /** Replaces every rule's `for:`; default '1s'. */
  ruleFor?: string;
  /** `for:` of particular alerts instead of `ruleFor`, by alert name. */
  ruleForByAlert?: Record<string, string>;
  /** Rules file to load, relative to the repository; default the shipped prometheus/alerts.yml. */
  rulesFile?: string;
  /**
   * Run the rules `timeScale` times faster (`compressRuleTime`) instead of shortening their
   * `for:`: every duration and time constant is divided by it, so every `for:` keeps its
   * proportion to the windows. `ruleFor` and `ruleForByAlert` are then ignored.
   */
  timeScale?: number;
  /** The `zexa` job's `metric_relabel_configs` (the many-keys docs' relabelling, for example). */
  metricRelabelConfigs?: Record<string, unknown>[];
  /** Discover the `zexa` targets from a file (file_sd_configs) so `setTargets` can change them. */
  fileSd?: boolean;
}

export async function startPrometheusStack(options: StackOptions): Promise<PrometheusStack> {
  const dir = await mkdtemp(join(tmpdir(), 'zexa-prom-stack-'));
  const processes: Managed[] = [];
  let webhook: WebhookRecorder | undefined;
  const close = async () => {
    await Promise.all(processes.map(stopProcess));
    await webhook?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    webhook = await startWebhookRecorder();
    const [promPort, amPort] = [await freePort(), await freePort()];

    const amConfig = parse(await readFile(join(REPO_ROOT, 'alertmanager/alertmanager.yml'), 'utf8')) as {
      route: Record<string, unknown> & { routes?: Array<Record<string, unknown>> };
      receivers: Array<{ name: string; webhook_configs?: Array<Record<string, unknown>> }>;
    };
    // Child routes inherit the root's timers unless they set their own.
    for (const route of [amConfig.route, ...(amConfig.route.routes ?? [])]) {
      for (const timer of ['group_wait', 'group_interval']) {
        if (route === amConfig.route || timer in route) route[timer] = '1s';
      }
    }
    for (const receiver of amConfig.receivers) {
      receiver.webhook_configs = [{ url: `${webhook.url}/${receiver.name}`, send_resolved: true }];
    }
    const amConfigPath = join(dir, 'alertmanager.yml');
    await writeFile(amConfigPath, stringify(amConfig));

    const rulesPath = join(dir, 'alerts.yml');
    const shippedRules = await readFile(join(REPO_ROOT, options.rulesFile ?? 'prometheus/alerts.yml'), 'utf8');
    await writeFile(
      rulesPath,
      options.timeScale === undefined
        ? shortenRuleDurations(shippedRules, options.ruleFor ?? '1s', options.ruleForByAlert)
        : compressRuleTime(shippedRules, options.timeScale),
    );

    const promConfig = parse(await readFile(join(REPO_ROOT, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, unknown>;
      rule_files: string[];
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
      scrape_configs: Array<{
        job_name: string;
        scrape_interval?: string;
        scrape_timeout?: string;
        static_configs?: Array<{ targets: string[] }>;
        file_sd_configs?: Array<{ files: string[]; refresh_interval: string }>;
        metric_relabel_configs?: Record<string, unknown>[];
      }>;
    };
    promConfig.global.scrape_interval = '1s';
    promConfig.global.evaluation_interval = '1s';
    promConfig.rule_files = [rulesPath];
    promConfig.alerting.alertmanagers = [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }];
    const zexaJob = promConfig.scrape_configs.find((j) => j.job_name === 'zexa');
    if (zexaJob === undefined) throw new Error('prometheus.yml has no scrape job named "zexa"');
    zexaJob.scrape_interval = '1s';
    zexaJob.scrape_timeout = '1s';
    if (options.metricRelabelConfigs !== undefined) zexaJob.metric_relabel_configs = options.metricRelabelConfigs;
    const targetsPath = join(dir, 'zexa-targets.json');
    const setTargets = async (targets: string[]): Promise<void> => {
      if (options.fileSd !== true) throw new Error('setTargets needs startPrometheusStack({ fileSd: true })');
      // Written whole and renamed into place, so Prometheus never reads half a file.
      await writeFile(`${targetsPath}.tmp`, JSON.stringify([{ targets }]));
      await rename(`${targetsPath}.tmp`, targetsPath);
    };
    if (options.fileSd === true) {
      await setTargets(options.targets);
      delete zexaJob.static_configs;
      zexaJob.file_sd_configs = [{ files: [targetsPath], refresh_interval: '1s' }];
    } else {
      zexaJob.static_configs = [{ targets: options.targets }];
    }
    promConfig.scrape_configs = [zexaJob];
    const promConfigPath = join(dir, 'prometheus.yml');
    await writeFile(promConfigPath, stringify(promConfig));

    const am = startProcess(options.alertmanagerBin, [
      `--config.file=${amConfigPath}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
    processes.push(am);
    const prom = startProcess(options.prometheusBin, [
      `--config.file=${promConfigPath}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      // Re-send firing alerts every second so Alertmanager never times one out between
      // evaluations (its resolve timeout follows EndsAt, which this keeps short).
      '--rules.alert.resend-delay=1s',
      '--log.level=warn',
    ]);
    processes.push(prom);

    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    const alertmanagerUrl = `http://127.0.0.1:${amPort}`;
    await waitReady(`${alertmanagerUrl}/-/ready`, am, 'alertmanager', 20_000);
    await waitReady(`${prometheusUrl}/-/ready`, prom, 'prometheus', 20_000);

    const query = async (promql: string): Promise<PromSample[]> => {
      const res = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: PromSample[] };
      };
      if (body.status !== 'success' || body.data === undefined) {
        throw new Error(`query failed: ${promql}: ${body.error ?? res.status}`);
      }
      if (body.data.resultType !== 'vector')
        throw new Error(`query ${promql} returned a ${body.data.resultType}, not a vector`);
      return body.data.result;
    };
    const waitForSeries = async (promql: string, timeoutMs: number): Promise<PromSample[]> => {
      let result: PromSample[] = [];
      await until(async () => (result = await query(promql)).length > 0, timeoutMs, `a series for ${promql}`, 250);
      return result;
    };
    return { prometheusUrl, alertmanagerUrl, webhook, query, waitForSeries, setTargets, close };
  } catch (err) {
    await close();
    throw err;
  }
}
