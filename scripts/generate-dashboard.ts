/**
 * Generates the Grafana files of the monitoring kit from typed objects:
 *   grafana/dashboards/zexa-credits.json            the dashboard
 *   grafana/provisioning/alerting/zexa-alerts.yaml  Grafana-managed alert rules
 * Run `npx tsx scripts/generate-dashboard.ts` after changing this file or prometheus/alerts.yml;
 * test/ops/dashboard.test.ts fails while the committed files differ from what this produces.
 *
 * The Grafana alert rules take their PromQL verbatim from prometheus/alerts.yml, so both ways of
 * alerting use the same expressions and the per-account thresholds exported by zexa-exporter.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DASHBOARD_PATH = 'grafana/dashboards/zexa-credits.json';
export const GRAFANA_ALERTS_PATH = 'grafana/provisioning/alerting/zexa-alerts.yaml';
/** Fixed in grafana/provisioning/datasources/prometheus.yaml; the alert rules need a real uid. */
export const DATASOURCE_UID = 'zexa-prometheus';
export const DASHBOARD_UID = 'zexa-credits';

// Every panel and target goes through the template variable, so the same JSON works imported
// in the UI (pick any Prometheus) and file-provisioned (no `__inputs` to resolve).
const DS = { type: 'prometheus', uid: '${datasource}' } as const;
const ACC = 'account=~"$account"';

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
        instant('A', `max by (account) (zexa_credits_remaining{${ACC}})`, { format: 'table' }),
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
        target('A', `zexa_credits_remaining{${ACC}}`, { legendFormat: '{{account}} ({{currency}})' }),
        target('B', `zexa_credits_threshold{${ACC}}`, { legendFormat: '{{account}} {{severity}} threshold' }),
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
        'Balance divided by the consumption rate of the last 6 hours, as ZexaCreditsExhaustionForecast computes it ' +
        '(it fires under 72 h). Accounts that consume nothing have no forecast.',
      gridPos: { x: 16, y: 5, w: 8, h: 9 },
      targets: [
        instant(
          'A',
          `zexa_credits_remaining{${ACC}} / on(account) group_left() (rate(zexa_credits_consumed_total{${ACC}}[6h]) > 0) / 3600`,
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
      description: 'How fast each account spends credits: short-term rate, and the 6-hour average the forecast uses.',
      gridPos: { x: 0, y: 14, w: 12, h: 8 },
      targets: [
        target('A', `sum by (account) (rate(zexa_credits_consumed_total{${ACC}}[$__rate_interval])) * 3600`),
        target('B', `sum by (account) (rate(zexa_credits_consumed_total{${ACC}}[6h])) * 3600`, { legendFormat: '{{account}} (6 h average)' }),
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
      description: 'Whether the latest poll of each account succeeded.',
      gridPos: { x: 0, y: 22, w: 12, h: 8 },
      targets: [target('A', `zexa_up{${ACC}}`)],
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
      targets: [target('A', `time() - zexa_last_success_timestamp_seconds{${ACC}}`)],
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

interface PromRule { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }

/** The Prometheus alerting rules, by name. */
export function loadPrometheusRules(text = readFileSync(`${ROOT}prometheus/alerts.yml`, 'utf8')): Map<string, PromRule> {
  const doc = parse(text) as { groups: Array<{ rules: PromRule[] }> };
  return new Map(doc.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
}

/** Alerts that Grafana users get as Grafana-managed rules (ExporterDown and Forbidden stay in Prometheus). */
export const GRAFANA_ALERTS = [
  { alert: 'ZexaCreditsLow', uid: 'zexa-credits-low', value: '{{ $values.B.Value }} credits left, at or below its warning threshold' },
  { alert: 'ZexaCreditsCritical', uid: 'zexa-credits-critical', value: '{{ $values.B.Value }} credits left, at or below its critical threshold' },
  { alert: 'ZexaCreditsExhaustionForecast', uid: 'zexa-credits-forecast', value: 'runs out in about {{ humanizeDuration $values.B.Value }} at the consumption rate of the last 6 hours' },
  { alert: 'ZexaApiKeyUnauthorized', uid: 'zexa-api-key-unauthorized', value: 'the Zexa API rejected the key with 401 in the last 10 minutes; rotate the key' },
  { alert: 'ZexaCreditsStale', uid: 'zexa-credits-stale', value: 'no successful poll for more than 15 minutes; the balance shown is out of date' },
] as const;

export function buildGrafanaAlerts(rules = loadPrometheusRules()): Record<string, unknown> {
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'zexa-credits',
        folder: 'Zexa',
        interval: '1m',
        rules: GRAFANA_ALERTS.map(({ alert, uid, value }) => {
          const rule = rules.get(alert);
          if (rule === undefined) throw new Error(`prometheus/alerts.yml has no alert ${alert}`);
          return {
            uid,
            title: alert,
            // A: the Prometheus rule's expression, which returns only the accounts in alert.
            // B: its value per account (for the annotations). C: true for every series there is;
            // no series at all means every account is fine, hence noDataState OK.
            condition: 'C',
            data: [
              {
                refId: 'A',
                relativeTimeRange: { from: 600, to: 0 },
                datasourceUid: DATASOURCE_UID,
                model: { refId: 'A', expr: rule.expr.trim(), instant: true, range: false, intervalMs: 60000, maxDataPoints: 43200, datasource: { type: 'prometheus', uid: DATASOURCE_UID } },
              },
              {
                refId: 'B',
                relativeTimeRange: { from: 0, to: 0 },
                datasourceUid: '__expr__',
                model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last', datasource: { type: '__expr__', uid: '__expr__' } },
              },
              {
                refId: 'C',
                relativeTimeRange: { from: 0, to: 0 },
                datasourceUid: '__expr__',
                model: { refId: 'C', type: 'math', expression: 'is_number($B)', datasource: { type: '__expr__', uid: '__expr__' } },
              },
            ],
            dashboardUid: DASHBOARD_UID,
            panelId: 1,
            noDataState: 'OK',
            execErrState: 'Error',
            for: rule.for ?? '0s',
            labels: { severity: rule.labels.severity },
            annotations: {
              summary: rule.annotations.summary ?? alert,
              description: `Account {{ $labels.account }}: ${value}.`,
              runbook_url: rule.annotations.runbook_url ?? '',
            },
          };
        }),
      },
    ],
  };
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

export function renderGrafanaAlerts(): string {
  return (
    '# Grafana-managed alert rules for teams that alert from Grafana instead of Alertmanager.\n' +
    '# GENERATED by scripts/generate-dashboard.ts from prometheus/alerts.yml: edit those, then run\n' +
    '# `npx tsx scripts/generate-dashboard.ts`. Query A is the Prometheus rule\'s expression verbatim.\n' +
    stringify(buildGrafanaAlerts(), { lineWidth: 0 })
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(`${ROOT}${DASHBOARD_PATH}`, renderDashboard());
  writeFileSync(`${ROOT}${GRAFANA_ALERTS_PATH}`, renderGrafanaAlerts());
  console.log(`wrote ${DASHBOARD_PATH} and ${GRAFANA_ALERTS_PATH}`);
}
