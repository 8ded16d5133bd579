/**
 * Generates the Grafana dashboard of the monitoring kit, grafana/dashboards/zexa-credits.json,
 * from typed objects. Run `npm run generate` after changing this file (it also regenerates the
 * Grafana alert rules and the Kubernetes copies); test/ops/dashboard.test.ts fails while the
 * committed dashboard differs from what this produces. The Grafana-managed alert rules come from
 * scripts/generate-grafana-alerts.ts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { consumptionRate } from './consumption-rate.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DASHBOARD_PATH = 'grafana/dashboards/zexa-credits.json';
export const DASHBOARD_UID = 'zexa-credits';

// Every panel and target goes through the template variable, so the same JSON works imported
// in the UI (pick any Prometheus) and file-provisioned (no `__inputs` to resolve).
const DS = { type: 'prometheus', uid: '${datasource}' } as const;
const ACC = 'account=~"$account"';
// Series meet by account, never by exporter: a rollout (new `instance`), an HA pair or a reshard
// gives an account several series, so each query aggregates as prometheus/alerts.yml does
// (lowest balance, highest threshold, largest consumption of any exporter).

interface GridPos { x: number; y: number; w: number; h: number }
interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table';
  datasource: typeof DS;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description: string;
  gridPos: GridPos;
  datasource: typeof DS;
  targets: Target[];
  fieldConfig: { defaults: Record<string, unknown>; overrides: unknown[] };
  options: Record<string, unknown>;
  transformations?: unknown[];
}

function target(refId: string, expr: string, extra: Partial<Target> = {}): Target {
  return { refId, expr, legendFormat: '{{account}}', range: true, instant: false, datasource: DS, ...extra };
}
function instant(refId: string, expr: string, extra: Partial<Target> = {}): Target {
  return target(refId, expr, { range: false, instant: true, ...extra });
}
function thresholds(...steps: Array<[number | null, string]>) {
  return { mode: 'absolute', steps: steps.map(([value, color]) => ({ value, color })) };
}
const timeseriesOptions = {
  legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull'] },
  tooltip: { mode: 'multi', sort: 'desc' },
};

function panels(): Panel[] {
  let id = 0;
  const panel = (p: Omit<Panel, 'id' | 'datasource'>): Panel => ({ id: ++id, datasource: DS, ...p });
  return [
    panel({
      type: 'stat',
      title: 'Balance per account',
      description:
        'Credits left per account, from the latest successful poll. Coloured by that account\'s own thresholds ' +
        '(zexa_credits_threshold): red at or below critical, orange at or below warning, green above.',
      gridPos: { x: 0, y: 0, w: 24, h: 5 },
      // One row per account (table queries joined on `account`); "Rows to fields" turns each row
      // into a field whose thresholds come from the same row, so each account gets its own colours.
      // Credits are whole numbers, so `+ 1` makes "at or below" the threshold the lower colour.
      targets: [
        instant('A', `min by (account) (zexa_credits_remaining{${ACC}})`, { format: 'table' }),
        instant('B', `max by (account) (zexa_credits_threshold{${ACC},severity="critical"})`, { format: 'table' }),
        instant('C', `max by (account) (zexa_credits_threshold{${ACC},severity="critical"}) + 1`, { format: 'table' }),
        instant('D', `max by (account) (zexa_credits_threshold{${ACC},severity="warning"}) + 1`, { format: 'table' }),
      ],
      transformations: [
        { id: 'joinByField', options: { byField: 'account', mode: 'outer' } },
        {
          id: 'rowsToFields',
          options: {
            mappings: [
              { fieldName: 'account', handlerKey: 'field.name' },
              { fieldName: 'Value #A', handlerKey: 'field.value' },
              { fieldName: 'Value #B', handlerKey: 'threshold1', handlerArguments: { threshold: { color: 'red' } } },
              { fieldName: 'Value #C', handlerKey: 'threshold1', handlerArguments: { threshold: { color: 'orange' } } },
              { fieldName: 'Value #D', handlerKey: 'threshold1', handlerArguments: { threshold: { color: 'green' } } },
            ],
          },
        },
      ],
      fieldConfig: {
        defaults: { unit: 'none', decimals: 0, color: { mode: 'thresholds' }, thresholds: thresholds([null, 'green']) },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: 'none',
        textMode: 'value_and_name',
        justifyMode: 'auto',
        orientation: 'auto',
      },
    }),
    panel({
      type: 'timeseries',
      title: 'Balance over time',
      description: 'Credits left per account, with the warning (orange) and critical (red) threshold of each account as dashed lines.',
      gridPos: { x: 0, y: 5, w: 16, h: 9 },
      targets: [
        target('A', `min by (account, currency) (zexa_credits_remaining{${ACC}})`, { legendFormat: '{{account}} ({{currency}})' }),
        target('B', `max by (account, severity) (zexa_credits_threshold{${ACC}})`, { legendFormat: '{{account}} {{severity}} threshold' }),
      ],
      fieldConfig: {
        defaults: { unit: 'none', decimals: 0, custom: { lineWidth: 2, fillOpacity: 0, showPoints: 'never' } },
        overrides: [
          {
            matcher: { id: 'byRegexp', options: '.* warning threshold' },
            properties: [
              { id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } },
              { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
              { id: 'custom.lineWidth', value: 1 },
            ],
          },
          {
            matcher: { id: 'byRegexp', options: '.* critical threshold' },
            properties: [
              { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
              { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
              { id: 'custom.lineWidth', value: 1 },
            ],
          },
        ],
      },
      options: timeseriesOptions,
    }),
    panel({
      type: 'bargauge',
      title: 'Forecast: hours until empty',
      description:
        'Balance divided by the consumption rate (the sum of decreases over the last 6 hours, per hour of data, ' +
        'at least 30 minutes), as ZexaCreditsExhaustionForecast computes it (it fires under 72 h). ' +
        'Accounts that consume nothing have no forecast.',
      gridPos: { x: 16, y: 5, w: 8, h: 9 },
      targets: [
        instant(
          'A',
          `min by (account) (zexa_credits_remaining{${ACC}}) / on(account) (${consumptionRate(ACC)} > 0) / 3600`,
        ),
      ],
      fieldConfig: {
        defaults: { unit: 'h', decimals: 0, min: 0, max: 168, color: { mode: 'thresholds' }, thresholds: thresholds([null, 'red'], [24, 'orange'], [72, 'green']) },
        overrides: [],
      },
      options: { orientation: 'horizontal', displayMode: 'basic', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, showUnfilled: true },
    }),
    panel({
      type: 'timeseries',
      title: 'Consumption rate (credits/hour)',
      description: 'How fast each account spends credits: short-term rate, and the rate the forecast uses (sum of decreases over the last 6 hours, per hour).',
      gridPos: { x: 0, y: 14, w: 12, h: 8 },
      targets: [
        target('A', `max by (account) (rate(zexa_credits_consumed_total{${ACC}}[$__rate_interval])) * 3600`),
        target('B', `(${consumptionRate(ACC)}) * 3600`, { legendFormat: '{{account}} (forecast rate, 6 h)' }),
      ],
      fieldConfig: { defaults: { unit: 'none', decimals: 1, min: 0 }, overrides: [] },
      options: timeseriesOptions,
    }),
    panel({
      type: 'timeseries',
      title: 'Authentication errors (401 / 403)',
      description: '401: key revoked or malformed (ZexaApiKeyUnauthorized). 403: key valid but not allowed (ZexaApiKeyForbidden).',
      gridPos: { x: 12, y: 14, w: 12, h: 8 },
      targets: [
        target('A', `sum by (account, code) (increase(zexa_auth_errors_total{${ACC}}[$__rate_interval]))`, { legendFormat: '{{account}} {{code}}' }),
      ],
      fieldConfig: { defaults: { unit: 'none', decimals: 0, min: 0, custom: { drawStyle: 'bars', fillOpacity: 80 } }, overrides: [] },
      options: timeseriesOptions,
    }),
    panel({
      type: 'state-timeline',
      title: 'Poll health (zexa_up)',
      description: 'Whether the latest poll of each account succeeded (failing while any exporter of it fails).',
      gridPos: { x: 0, y: 22, w: 12, h: 8 },
      targets: [target('A', `min by (account) (zexa_up{${ACC}})`)],
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          thresholds: thresholds([null, 'red'], [1, 'green']),
          mappings: [{ type: 'value', options: { '0': { text: 'failing', color: 'red' }, '1': { text: 'ok', color: 'green' } } }],
        },
        overrides: [],
      },
      options: { showValue: 'never', mergeValues: true, legend: { showLegend: false } },
    }),
    panel({
      type: 'timeseries',
      title: 'Age of the last successful poll',
      description: 'Seconds since each account was last polled successfully. ZexaCreditsStale fires above 15 minutes (red line).',
      gridPos: { x: 12, y: 22, w: 12, h: 8 },
      targets: [target('A', `time() - max by (account) (zexa_last_success_timestamp_seconds{${ACC}})`)],
      fieldConfig: {
        defaults: {
          unit: 's',
          min: 0,
          color: { mode: 'palette-classic' },
          thresholds: thresholds([null, 'green'], [900, 'red']),
          custom: { thresholdsStyle: { mode: 'line+area' } },
        },
        overrides: [],
      },
      options: timeseriesOptions,
    }),
    panel({
      type: 'timeseries',
      title: 'Failed polls by reason',
      description: 'Polls that failed after retries, by reason (unauthorized, forbidden, rate_limited, server_error, timeout, ...).',
      gridPos: { x: 0, y: 30, w: 12, h: 8 },
      targets: [
        target('A', `sum by (account, reason) (increase(zexa_poll_errors_total{${ACC}}[$__rate_interval]))`, { legendFormat: '{{account}} {{reason}}' }),
      ],
      fieldConfig: { defaults: { unit: 'none', decimals: 0, min: 0, custom: { drawStyle: 'bars', fillOpacity: 80 } }, overrides: [] },
      options: timeseriesOptions,
    }),
    panel({
      type: 'timeseries',
      title: 'Zexa API requests by status code',
      description: 'Every HTTP attempt to the Zexa API, retries included; `error` means no response (timeout, network).',
      gridPos: { x: 12, y: 30, w: 12, h: 8 },
      targets: [target('A', 'sum by (code) (rate(zexa_api_requests_total[$__rate_interval]))', { legendFormat: '{{code}}' })],
      fieldConfig: { defaults: { unit: 'reqps', min: 0 }, overrides: [] },
      options: timeseriesOptions,
    }),
    panel({
      type: 'timeseries',
      title: 'Zexa API latency',
      description: 'Duration of each attempt to the Zexa API.',
      gridPos: { x: 0, y: 38, w: 12, h: 8 },
      targets: [
        target('A', 'histogram_quantile(0.5, sum by (le) (rate(zexa_api_request_duration_seconds_bucket[$__rate_interval])))', { legendFormat: 'p50' }),
        target('B', 'histogram_quantile(0.99, sum by (le) (rate(zexa_api_request_duration_seconds_bucket[$__rate_interval])))', { legendFormat: 'p99' }),
      ],
      fieldConfig: { defaults: { unit: 's', min: 0 }, overrides: [] },
      options: timeseriesOptions,
    }),
    panel({
      type: 'table',
      title: 'Exporter',
      description: 'Running exporter instances: version, Node.js version, and whether Prometheus scrapes them (ZexaExporterDown).',
      gridPos: { x: 12, y: 38, w: 12, h: 8 },
      targets: [
        instant('A', 'zexa_exporter_build_info', { format: 'table', legendFormat: '' }),
        instant('B', 'up{job="zexa"}', { format: 'table', legendFormat: '' }),
      ],
      transformations: [
        { id: 'joinByField', options: { byField: 'instance', mode: 'outer' } },
        {
          id: 'organize',
          options: {
            includeByName: { instance: true, version: true, nodejs_version: true, 'Value #B': true },
            renameByName: { nodejs_version: 'Node.js', version: 'Version', 'Value #B': 'Scraped (up)' },
          },
        },
      ],
      fieldConfig: { defaults: {}, overrides: [] },
      options: { showHeader: true },
    }),
    panel({
      type: 'table',
      title: 'Keys',
      description:
        'Each account\'s API key: its fingerprint (first 12 hex digits of its SHA-256), where it comes from, how long ago it ' +
        'came into use (a key file\'s mtime; for an environment key only since the exporter started), and whether another ' +
        'account, on any exporter, uses the same key (ZexaApiKeyShared). File keys older than 90 days fire ZexaApiKeyRotationDue.',
      gridPos: { x: 0, y: 46, w: 24, h: 8 },
      targets: [
        instant('A', `max by (account, fingerprint) (zexa_api_key_info{${ACC}})`, { format: 'table', legendFormat: '' }),
        instant('B', `time() - max by (account, source) (zexa_api_key_last_change_timestamp_seconds{${ACC}})`, { format: 'table', legendFormat: '' }),
        // Counted over every account (not only those selected) and by account, so an HA pair
        // exporting one account twice is not a shared key.
        instant(
          'C',
          `max by (account) (zexa_api_key_info{${ACC}} * on (fingerprint) group_left () ` +
            '(count by (fingerprint) (count by (account, fingerprint) (zexa_api_key_info)) > bool 1))',
          { format: 'table', legendFormat: '' },
        ),
      ],
      transformations: [
        { id: 'joinByField', options: { byField: 'account', mode: 'outer' } },
        {
          id: 'organize',
          options: {
            includeByName: { account: true, fingerprint: true, source: true, 'Value #B': true, 'Value #C': true },
            indexByName: { account: 0, fingerprint: 1, source: 2, 'Value #B': 3, 'Value #C': 4 },
            renameByName: { account: 'Account', fingerprint: 'Fingerprint', source: 'Source', 'Value #B': 'Age', 'Value #C': 'Shared' },
          },
        },
        { id: 'sortBy', options: { sort: [{ field: 'Age', desc: true }] } },
      ],
      fieldConfig: {
        defaults: {},
        overrides: [
          { matcher: { id: 'byName', options: 'Age' }, properties: [{ id: 'unit', value: 'dtdurations' }, { id: 'decimals', value: 0 }] },
          {
            matcher: { id: 'byName', options: 'Shared' },
            properties: [
              { id: 'mappings', value: [{ type: 'value', options: { '0': { text: 'no', color: 'green' }, '1': { text: 'shared', color: 'orange' } } }] },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ],
      },
      options: { showHeader: true },
    }),
  ];
}

export function buildDashboard(): Record<string, unknown> {
  return {
    uid: DASHBOARD_UID,
    title: 'Zexa credits',
    description: 'Credit balance, consumption and API key health of every account watched by zexa-exporter.',
    tags: ['zexa', 'credits'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    timezone: 'browser',
    links: [
      {
        title: 'Runbook',
        type: 'link',
        url: 'https://github.com/zexa-exporter/zexa-exporter/blob/main/README.md#runbook',
        targetBlank: true,
        icon: 'doc',
      },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '' },
        {
          name: 'account',
          label: 'Account',
          type: 'query',
          datasource: DS,
          // Thresholds exist for every configured account, even one that never polled successfully.
          query: 'label_values(zexa_credits_threshold, account)',
          definition: 'label_values(zexa_credits_threshold, account)',
          multi: true,
          includeAll: true,
          // A regex over all accounts instead of listing thousands of names in every query.
          allValue: '.+',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          refresh: 2,
          sort: 1,
          hide: 0,
          regex: '',
        },
      ],
    },
    panels: panels(),
  };
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(`${ROOT}${DASHBOARD_PATH}`, renderDashboard());
  console.log(`wrote ${DASHBOARD_PATH}`);
}
