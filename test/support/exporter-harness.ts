/**
 * The simulator and an in-process exporter wired together over real loopback HTTP, configured
 * the way a user would (environment variables through loadConfig). The loader is given
 * TEST_LIMITS, so the poll interval can be below the product's 5 s floor and tests see several
 * polls quickly; start-up and every reload load the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../../src/lib/clock.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { startExporter, type RunningExporter } from '../../src/runtime/exporter.js';
import { startSimulator, type SimAccountSpec, type ZexaSimulator } from '../../src/simulator/index.js';
import { captureLogs, type LogCapture } from './log-capture.js';
import { ms, TEST_LIMITS } from './test-limits.js';
import { until } from './wait.js';

export interface Harness {
  sim: ZexaSimulator;
  exporter: RunningExporter;
  logs: LogCapture;
  config: Config;
  env: Record<string, string>;
  metricsText(): Promise<string>;
  /** The value of one sample, or undefined when the series is absent. */
  sample(series: string): Promise<number | undefined>;
  /** Polls `check` until it returns true (or throws after `timeoutMs`). */
  until(check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  accounts: SimAccountSpec[];
  /** Extra environment (e.g. ZEXA_API_KEY_X_FILE) merged over the generated one. */
  env?: Record<string, string>;
  /** Accounts whose key is NOT put into the environment (configured another way via `env`). */
  withoutEnvKey?: string[];
  intervalMs?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  latencyMs?: number;
  configure?: (config: Config) => void;
  logLevel?: string;
  /** A YAML configuration file: passed as --config.file and reloadable. */
  configFile?: string;
  clock?: Clock;
  /** Collect process metrics too (default false: keeps test output small). */
  processMetrics?: boolean;
}

export function parseSample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

export { until };

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const sim = await startSimulator({
    accounts: options.accounts,
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
  });
  const env: Record<string, string> = {
    ZEXA_API_URL: sim.url,
    ZEXA_POLL_INTERVAL: ms(options.intervalMs ?? 400),
    ZEXA_REQUEST_TIMEOUT: ms(options.timeoutMs ?? 2000),
    ZEXA_EXPORTER_LOG_LEVEL: options.logLevel ?? 'debug',
    ...(options.maxAttempts === undefined ? {} : { ZEXA_MAX_ATTEMPTS: String(options.maxAttempts) }),
  };
  for (const account of options.accounts) {
    if (options.withoutEnvKey?.includes(account.name)) continue;
    env[`ZEXA_API_KEY_${account.name.toUpperCase()}`] = account.key;
  }
  Object.assign(env, options.env ?? {});
  const sources = {
    argv: [
      '--web.listen-address=127.0.0.1:0',
      ...(options.configFile === undefined ? [] : [`--config.file=${options.configFile}`]),
    ],
    env,
    readFile: (p: string) => readFileSync(p, 'utf8'),
    readDir: (p: string) => readdirSync(p),
  };
  const load = (): Config => {
    const loaded = loadConfig(sources, { limits: TEST_LIMITS });
    options.configure?.(loaded);
    return loaded;
  };
  const config = load();
  const logs = captureLogs();
  const exporter = await startExporter(config, {
    env,
    ...(options.configFile === undefined ? {} : { loadConfig: load }),
    logDestination: logs,
    processMetrics: options.processMetrics ?? false,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    retryPolicy: { maxAttempts: config.poll.maxAttempts, baseDelayMs: 20, maxDelayMs: 100 },
  });
  const metricsText = async (): Promise<string> => (await fetch(`${exporter.url}/metrics`)).text();
  return {
    sim,
    exporter,
    logs,
    config,
    env,
    metricsText,
    sample: async (series) => parseSample(await metricsText(), series),
    until: (check, timeoutMs) => until(check, timeoutMs),
    async close() {
      await exporter.close();
      await sim.close();
    },
  };
}
