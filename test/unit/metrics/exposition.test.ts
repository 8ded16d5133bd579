import { describe, expect, it } from 'vitest';
import { familyName, metadata, negotiateFormat, openMetricsFromText } from '../../../src/metrics/exposition.js';
import { PROMETHEUS_ACCEPT } from '../../support/prometheus-accept.js';

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'text'],
    ['', 'text'],
    ['*/*', 'text'],
    ['text/plain', 'text'],
    [PROMETHEUS_ACCEPT, 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version="1.0.0"; charset=utf-8', 'openmetrics'],
    ['APPLICATION/OpenMetrics-Text;Version=1.0.0', 'openmetrics'],
    // q-values decide, whatever the order.
    ['text/plain;version=0.0.4;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5', 'text'],
    ['text/plain;version=0.0.4;q=0.5, application/openmetrics-text;version=1.0.0;q=0.9', 'openmetrics'],
    ['application/openmetrics-text;q=0, */*', 'text'],
    // Only version 1.0.0 (or none) is served as OpenMetrics.
    ['application/openmetrics-text;version=0.0.1', 'text'],
    ['application/openmetrics-text;version=2.0.0, text/plain;q=0.1', 'text'],
    ['application/json', 'text'],
    ['application/openmetrics-text;q=bogus, text/plain;q=0.2', 'text'],
    // A tie goes to the earlier range.
    ['text/plain, application/openmetrics-text', 'text'],
  ] as const)('%j -> %s', (accept, expected) => {
    expect(negotiateFormat(accept)).toBe(expected);
  });
});

describe('metadata', () => {
  it('is unchanged for text 0.0.4', () => {
    expect(metadata('zexa_auth_errors_total', 'counter', 'a "b" \\ c\nd', 'text')).toBe(
      '# HELP zexa_auth_errors_total a "b" \\\\ c\\nd\n# TYPE zexa_auth_errors_total counter\n',
    );
  });

  it('names a counter family without _total, adds UNIT after a unit suffix, escapes quotes in HELP', () => {
    expect(metadata('zexa_auth_errors_total', 'counter', 'Polls.', 'openmetrics')).toBe(
      '# HELP zexa_auth_errors Polls.\n# TYPE zexa_auth_errors counter\n',
    );
    expect(metadata('zexa_api_request_duration_seconds', 'histogram', 'x', 'openmetrics')).toBe(
      '# HELP zexa_api_request_duration_seconds x\n# TYPE zexa_api_request_duration_seconds histogram\n# UNIT zexa_api_request_duration_seconds seconds\n',
    );
    expect(metadata('zexa_api_key_last_change_timestamp_seconds', 'gauge', 'source="file"', 'openmetrics')).toContain(
      '# HELP zexa_api_key_last_change_timestamp_seconds source=\\"file\\"\n',
    );
    expect(metadata('process_cpu_seconds_total', 'counter', 'x', 'openmetrics')).toContain(
      '# UNIT process_cpu_seconds seconds\n',
    );
    // A gauge keeps a _total in its name (prom-client's nodejs_active_handles_total).
    expect(familyName('nodejs_active_handles_total', 'gauge', 'openmetrics')).toBe('nodejs_active_handles_total');
  });
});

describe('openMetricsFromText', () => {
  it("rewrites prom-client's metadata and keeps every sample line", () => {
    const text = [
      '# HELP process_cpu_user_seconds_total Total user CPU time spent in seconds.',
      '# TYPE process_cpu_user_seconds_total counter',
      'process_cpu_user_seconds_total 0.5',
      '',
      '# HELP nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.',
      '# TYPE nodejs_heap_size_total_bytes gauge',
      'nodejs_heap_size_total_bytes 123',
      '# HELP odd A \\\\n backslash-n, and "quotes".',
      '# TYPE odd gauge',
      'odd{a="x"} 1',
      '',
    ].join('\n');
    expect(openMetricsFromText(text)).toBe(
      [
        '# HELP process_cpu_user_seconds Total user CPU time spent in seconds.',
        '# TYPE process_cpu_user_seconds counter',
        '# UNIT process_cpu_user_seconds seconds',
        'process_cpu_user_seconds_total 0.5',
        '# HELP nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.',
        '# TYPE nodejs_heap_size_total_bytes gauge',
        '# UNIT nodejs_heap_size_total_bytes bytes',
        'nodejs_heap_size_total_bytes 123',
        '# HELP odd A \\\\n backslash-n, and \\"quotes\\".',
        '# TYPE odd gauge',
        'odd{a="x"} 1',
        '',
      ].join('\n'),
    );
  });
});
