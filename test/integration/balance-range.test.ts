/**
 * Issue 12 D5: a balance outside ±1e15 (MAX_ABS_CREDITS) is `invalid_response`, the last good
 * balance is kept, and zexa_credits_consumed_total / zexa_credits_added_total stay finite and
 * untouched whatever the API says. The API is a scripted stand-in on 127.0.0.1.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startExporter } from '../../src/runtime/exporter.js';
import { parseSample } from '../support/exporter-harness.js';
import { captureLogs } from '../support/log-capture.js';
import { startScriptedApi } from '../support/scripted-api.js';
import { ms, TEST_LIMITS } from '../support/test-limits.js';

const KEY = 'zx_balance_range_5e0c2a9d71';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function exporterAgainst(credits: readonly string[]) {
  const api = await startScriptedApi(credits);
  cleanups.push(() => api.close());
  const env = {
    ZEXA_API_URL: api.url,
    ZEXA_API_KEY_VICTIM: KEY,
    ZEXA_POLL_INTERVAL: ms(200),
    ZEXA_REQUEST_TIMEOUT: '1s',
  };
  const config = loadConfig(
    { argv: ['--web.listen-address=127.0.0.1:0'], env, readFile: () => '', readDir: () => [] },
    { limits: TEST_LIMITS },
  );
  const logs = captureLogs();
  const exporter = await startExporter(config, { env, logDestination: logs, processMetrics: false });
  cleanups.push(() => exporter.close());
  const metrics = async (): Promise<string> => (await fetch(`${exporter.url}/metrics`)).text();
  return { api, logs, metrics };
}

const series = (name: string): string => `${name}{account="victim"}`;

describe('balance range (issue 12 D5)', () => {
  it('1e308 then -1e308: both invalid_response, the balance and counters are those of the good polls', async () => {
    const { api, logs, metrics } = await exporterAgainst(['100', '1e308', '-1e308', '60']);
    await vi.waitFor(
      async () => {
        expect(api.requests).toBeGreaterThanOrEqual(4);
        expect(parseSample(await metrics(), 'zexa_credits_remaining{account="victim",currency="USD"}')).toBe(60);
      },
      { timeout: 15_000, interval: 50 },
    );
    const text = await metrics();
    expect(parseSample(text, 'zexa_poll_errors_total{account="victim",reason="invalid_response"}')).toBe(2);
    // 100 → 60 is the only change the exporter believed.
    expect(parseSample(text, series('zexa_credits_consumed_total'))).toBe(40);
    expect(parseSample(text, series('zexa_credits_added_total'))).toBe(0);
    expect(text).not.toMatch(/^zexa_credits_.* (?:[+-]Inf|NaN)$/m);
    const failures = logs.records().filter((r) => r.msg === 'poll failed');
    expect(failures.map((r) => r.reason)).toEqual(['invalid_response', 'invalid_response']);
    expect(failures[0]?.error).toMatch(/credits must be between -1e15 and 1e15/);
  });

  it('a single 1e308 keeps the last good balance and does not pin added_total', async () => {
    const { api, metrics } = await exporterAgainst(['100', '1e308']);
    await vi.waitFor(
      async () => {
        expect(api.requests).toBeGreaterThanOrEqual(3);
        expect(
          parseSample(await metrics(), 'zexa_poll_errors_total{account="victim",reason="invalid_response"}'),
        ).toBeGreaterThanOrEqual(2);
      },
      { timeout: 15_000, interval: 50 },
    );
    const text = await metrics();
    expect(parseSample(text, 'zexa_credits_remaining{account="victim",currency="USD"}')).toBe(100);
    expect(parseSample(text, series('zexa_up'))).toBe(0);
    expect(parseSample(text, series('zexa_credits_added_total'))).toBe(0);
    expect(parseSample(text, series('zexa_credits_consumed_total'))).toBe(0);
  });
});
