/**
 * A real exporter (in process) polling the simulator's accounts every second, for the tests that
 * run it under a real Prometheus and Alertmanager.
 */
import { systemClock } from '../../src/lib/clock.js';
import { loadConfig } from '../../src/config/load.js';
import { startExporter, type RunningExporter } from '../../src/runtime/exporter.js';
import type { SimAccountSpec, ZexaSimulator } from '../../src/simulator/index.js';
import { captureLogs } from './log-capture.js';
import { ms, TEST_LIMITS } from './test-limits.js';

export async function exporterFor(
  sim: ZexaSimulator,
  accounts: SimAccountSpec[],
  options: {
    thresholds?: Record<string, { warning: number; critical: number }>;
    clockOffsetMs?: number;
    keyFiles?: Record<string, string>;
  } = {},
): Promise<RunningExporter> {
  const env: Record<string, string> = {
    ZEXA_API_URL: sim.url,
    ZEXA_POLL_INTERVAL: ms(1000),
    ZEXA_REQUEST_TIMEOUT: ms(1000),
  };
  for (const a of accounts) env[`ZEXA_API_KEY_${a.name.toUpperCase()}`] = a.key;
  const config = loadConfig(
    { argv: ['--web.listen-address=127.0.0.1:0'], env, readFile: () => '', readDir: () => [] },
    { limits: TEST_LIMITS },
  );
  config.accounts = config.accounts.map((a) => ({ ...a, thresholds: options.thresholds?.[a.name] ?? a.thresholds }));
  // Accounts whose key is in a file (read at every poll): not through loadConfig, which reads no files here.
  for (const [name, path] of Object.entries(options.keyFiles ?? {})) {
    config.accounts.push({ name, key: { kind: 'file', path, origin: 'test' }, thresholds: config.thresholds });
  }
  const offset = options.clockOffsetMs ?? 0;
  return startExporter(config, {
    env,
    logDestination: captureLogs(),
    processMetrics: false,
    clock: { ...systemClock, now: () => Date.now() + offset },
    retryPolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
  });
}
