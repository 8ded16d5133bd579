import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AccountStore } from '../../../src/state/account-store.js';
import { escapeLabelValue, ExporterMetrics, formatValue, METRICS } from '../../../src/metrics/exporter-metrics.js';

const thresholds = { warning: 1000, critical: 100 };

function setup(names: string[] = ['alpha']) {
  const store = new AccountStore();
  store.configure(names.map((name) => ({ name, thresholds })));
  const metrics = new ExporterMetrics(store, { version: '1.2.3', nodeVersion: 'v20.20.2', processMetrics: false });
  return { store, metrics };
}

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

describe('ExporterMetrics', () => {
  it('starts both auth-error codes at 0 and leaves the balance absent before the first success', () => {
    const { metrics } = setup(['alpha', 'beta']);
    const text = metrics.renderZexa().text;
    expect(lines(text, 'zexa_auth_errors_total{')).toEqual([
      'zexa_auth_errors_total{account="alpha",code="401"} 0',
      'zexa_auth_errors_total{account="alpha",code="403"} 0',
      'zexa_auth_errors_total{account="beta",code="401"} 0',
      'zexa_auth_errors_total{account="beta",code="403"} 0',
    ]);
    expect(text).not.toContain('zexa_credits_remaining');
    expect(lines(text, 'zexa_up{')).toEqual(['zexa_up{account="alpha"} 0', 'zexa_up{account="beta"} 0']);
    expect(lines(text, 'zexa_credits_threshold{')).toContain(
      'zexa_credits_threshold{account="alpha",severity="warning"} 1000',
    );
  });

  it('exports balance, success time, consumed and added from polls', () => {
    const { store, metrics } = setup();
    store.recordSuccess('alpha', { credits: 4250, currency: 'USD', atMs: 1_700_000_000_500 });
    store.recordSuccess('alpha', { credits: 4000, currency: 'USD', atMs: 1_700_000_060_500 });
    store.recordSuccess('alpha', { credits: 6000, currency: 'USD', atMs: 1_700_000_120_500 });
    const text = metrics.renderZexa().text;
    expect(lines(text, 'zexa_credits_remaining{')).toEqual([
      'zexa_credits_remaining{account="alpha",currency="USD"} 6000',
    ]);
    expect(lines(text, 'zexa_last_success_timestamp_seconds{')).toEqual([
      'zexa_last_success_timestamp_seconds{account="alpha"} 1700000120.5',
    ]);
    expect(lines(text, 'zexa_credits_consumed_total{')).toEqual(['zexa_credits_consumed_total{account="alpha"} 250']);
    expect(lines(text, 'zexa_credits_added_total{')).toEqual(['zexa_credits_added_total{account="alpha"} 2000']);
    expect(lines(text, 'zexa_up{')).toEqual(['zexa_up{account="alpha"} 1']);
  });

  it('replaces, not duplicates, the balance series when the currency changes', () => {
    const { store, metrics } = setup();
    store.recordSuccess('alpha', { credits: 10, currency: 'USD', atMs: 1000 });
    expect(lines(metrics.renderZexa().text, 'zexa_credits_remaining{')).toEqual([
      'zexa_credits_remaining{account="alpha",currency="USD"} 10',
    ]);
    store.recordSuccess('alpha', { credits: 9, currency: 'EUR', atMs: 2000 });
    expect(lines(metrics.renderZexa().text, 'zexa_credits_remaining{')).toEqual([
      'zexa_credits_remaining{account="alpha",currency="EUR"} 9',
    ]);
  });

  it('keeps the balance while polls fail and counts errors by reason', () => {
    const { store, metrics } = setup();
    store.recordSuccess('alpha', { credits: 10, currency: 'USD', atMs: 1000 });
    store.recordFailure('alpha', {
      reason: 'unauthorized',
      message: 'x',
      status: 401,
      requestId: 'r',
      attempts: 1,
      atMs: 2000,
    });
    store.recordFailure('alpha', {
      reason: 'server_error',
      message: 'x',
      status: 503,
      requestId: 'r',
      attempts: 3,
      atMs: 3000,
    });
    const text = metrics.renderZexa().text;
    expect(lines(text, 'zexa_credits_remaining{')).toEqual([
      'zexa_credits_remaining{account="alpha",currency="USD"} 10',
    ]);
    expect(lines(text, 'zexa_up{')).toEqual(['zexa_up{account="alpha"} 0']);
    expect(lines(text, 'zexa_auth_errors_total{')).toContain('zexa_auth_errors_total{account="alpha",code="401"} 1');
    expect(lines(text, 'zexa_poll_errors_total{')).toEqual([
      'zexa_poll_errors_total{account="alpha",reason="server_error"} 1',
      'zexa_poll_errors_total{account="alpha",reason="unauthorized"} 1',
    ]);
  });

  it('counts API requests by code and builds a cumulative histogram', () => {
    const { metrics } = setup();
    metrics.observeRequest('200', 0.04);
    metrics.observeRequest('200', 0.3);
    metrics.observeRequest('error', 12);
    const text = metrics.renderZexa().text;
    expect(lines(text, 'zexa_api_requests_total{')).toEqual([
      'zexa_api_requests_total{code="200"} 2',
      'zexa_api_requests_total{code="error"} 1',
    ]);
    expect(text).toContain('zexa_api_request_duration_seconds_bucket{le="0.05"} 1\n');
    expect(text).toContain('zexa_api_request_duration_seconds_bucket{le="0.5"} 2\n');
    expect(text).toContain('zexa_api_request_duration_seconds_bucket{le="10"} 2\n');
    expect(text).toContain('zexa_api_request_duration_seconds_bucket{le="30"} 3\n');
    expect(text).toContain('zexa_api_request_duration_seconds_bucket{le="+Inf"} 3\n');
    expect(text).toContain('zexa_api_request_duration_seconds_count 3\n');
    expect(text).toMatch(/zexa_api_request_duration_seconds_sum 12\.34\d*\n/);
  });

  it('drops every series of an account removed from the configuration', () => {
    const { store, metrics } = setup(['alpha', 'beta']);
    store.recordSuccess('beta', { credits: 10, currency: 'USD', atMs: 1000 });
    metrics.forget(store.configure([{ name: 'alpha', thresholds }]));
    expect(metrics.renderZexa().text).not.toContain('beta');
  });

  it('exports build info, reload status and shard info', () => {
    const { metrics } = setup();
    metrics.setInitialLoad(1_700_000_000_000);
    let text = metrics.renderZexa().text;
    expect(text).toContain('zexa_exporter_build_info{version="1.2.3",nodejs_version="v20.20.2"} 1\n');
    expect(text).toContain('zexa_exporter_config_last_reload_successful 1\n');
    expect(text).toContain('zexa_exporter_config_last_reload_success_timestamp_seconds 1700000000\n');
    expect(text).not.toContain('zexa_exporter_shard_info');
    metrics.setReloadResult(false, 1_700_000_100_000);
    metrics.setShard({ index: 1, count: 4 });
    text = metrics.renderZexa().text;
    expect(text).toContain('zexa_exporter_config_last_reload_successful 0\n');
    expect(text).toContain('zexa_exporter_config_last_reload_success_timestamp_seconds 1700000000\n');
    expect(text).toContain('zexa_exporter_shard_info{index="1",count="4"} 1\n');
  });

  it('declares HELP and TYPE once per family, with help saying values come from polling', () => {
    const { store, metrics } = setup(['alpha', 'beta']);
    store.recordSuccess('alpha', { credits: 1, currency: 'USD', atMs: 1 });
    const text = metrics.renderZexa().text;
    for (const def of [METRICS.creditsRemaining, METRICS.up, METRICS.authErrors]) {
      expect(text.split(`# TYPE ${def.name} ${def.type}\n`).length).toBe(2);
      expect(def.help.toLowerCase()).toContain('poll');
    }
  });

  it('reuses the rendered text and its gzip while nothing changes', () => {
    const { store, metrics } = setup();
    const first = metrics.renderZexa();
    const again = metrics.renderZexa();
    expect(again.text).toBe(first.text);
    const gz = first.gzip();
    expect(again.gzip()).toBe(gz);
    expect(gunzipSync(gz).toString('utf8')).toBe(first.text);
    expect(first.bytes().toString('utf8')).toBe(first.text);
    expect(again.bytes()).toBe(first.bytes());
    expect(Buffer.concat(first.chunks).equals(first.bytes())).toBe(true);
    expect(first.byteLength).toBe(first.bytes().length);
    store.recordSuccess('alpha', { credits: 1, currency: 'USD', atMs: 1 });
    const changed = metrics.renderZexa();
    expect(changed.text).not.toBe(first.text);
    expect(changed.gzip()).not.toBe(gz);
  });

  it('re-renders only the block of accounts that changed, and serves the rest from the same buffers', () => {
    const names = Array.from({ length: 300 }, (_, i) => `acct_${String(i).padStart(4, '0')}`);
    const { store, metrics } = setup(names);
    for (const name of names) store.recordSuccess(name, { credits: 5000, currency: 'USD', atMs: 1_000 });
    const first = metrics.renderZexa();
    const firstGzip = first.gzip();
    store.recordSuccess('acct_0200', { credits: 4000, currency: 'USD', atMs: 61_000 });
    const changed = metrics.renderZexa();
    const before = new Set(first.chunks);
    const fresh = changed.chunks.filter((chunk) => !before.has(chunk));
    // 300 accounts are 3 blocks: the changed block's non-empty families (8) and the tail are new.
    expect(changed.chunks.length).toBe(first.chunks.length);
    expect(fresh.length).toBeLessThanOrEqual(9);
    expect(fresh.length).toBeGreaterThan(0);
    expect(changed.text).toContain('zexa_credits_remaining{account="acct_0200",currency="USD"} 4000\n');
    expect(changed.text).toContain('zexa_credits_consumed_total{account="acct_0200"} 1000\n');
    expect(gunzipSync(changed.gzip()).toString('utf8')).toBe(changed.text);
    expect(changed.gzip()).not.toBe(firstGzip);
  });

  it('escapes label values and formats special numbers', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(0.5)).toBe('0.5');
    const { store, metrics } = setup();
    store.recordSuccess('alpha', { credits: 1, currency: 'U"S\nD', atMs: 1 });
    expect(metrics.renderZexa().text).toContain('zexa_credits_remaining{account="alpha",currency="U\\"S\\nD"} 1\n');
  });

  it('adds the process metrics from its own registry, not the global one', async () => {
    const store = new AccountStore();
    const metrics = new ExporterMetrics(store, { version: '1', nodeVersion: 'v20' });
    expect(await metrics.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(metrics.renderZexa().text).toContain('zexa_exporter_build_info');
    const { register } = await import('prom-client');
    expect(await register.metrics()).not.toContain('process_cpu_user_seconds_total');
  });

  it('renders each change in slices, also when the render fits in one slice', async () => {
    const { store, metrics } = setup(['alpha', 'beta']);
    store.recordSuccess('alpha', { credits: 10, currency: 'USD', atMs: 1_700_000_000_000 });
    const first = await metrics.renderZexaSliced();
    expect(first.text).toContain('zexa_credits_remaining{account="alpha",currency="USD"} 10\n');
    expect(await metrics.renderZexaSliced()).toBe(first);
    // A finished render is never handed out again once something changed.
    store.recordSuccess('alpha', { credits: 20, currency: 'USD', atMs: 1_700_000_060_000 });
    const second = await metrics.renderZexaSliced();
    expect(second.text).toContain('zexa_credits_remaining{account="alpha",currency="USD"} 20\n');
    store.recordSuccess('beta', { credits: 5, currency: 'USD', atMs: 1_700_000_060_000 });
    expect((await metrics.renderZexaSliced()).text).toContain('zexa_up{account="beta"} 1\n');
    store.recordFailure('beta', {
      reason: 'unauthorized',
      message: 'HTTP 401',
      status: 401,
      requestId: undefined,
      attempts: 1,
      atMs: 1_700_000_120_000,
    });
    expect((await metrics.renderZexaSliced()).text).toContain('zexa_up{account="beta"} 0\n');
    expect(await (await metrics.renderZexaSliced()).gzipAsync()).toBe(metrics.renderZexa().gzip());
  });
});
