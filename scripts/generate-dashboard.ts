/**
 * Generates the Grafana dashboard of the monitoring kit, grafana/dashboards/zexa-credits.json,
 * with Grafana's typed builders. Run `npm run generate` after changing this file (it also
 * regenerates the Grafana alert rules and the Kubernetes copies); test/ops/dashboard.test.ts
 * fails while the committed dashboard differs from what this produces. The Grafana-managed alert
 * rules come from scripts/generate-grafana-alerts.ts.
 *
 * Builders: @grafana/grafana-foundation-sdk (issue 15), pinned exactly in devDependencies. The
 * dashboard is generated here and committed, so only this script uses it: nothing in src/ does
 * (test/ops/production-install.test.ts fails otherwise). Evaluated 2026-11-29 by generating this
 * dashboard on Node.js 20.20.2, 22.23.3 and 24.21.0 (byte-identical output on all three; the
 * package is CommonJS with tslib re-exports, which Node's ESM loader reads by name on all three):
 * - 11.6.0-cogv0.0.x.1769699379, used: built for Grafana 11.6, the version docker-compose.yml
 *   runs. It emits schemaVersion 41, which Grafana 11.6 knows (schema 41 came with
 *   grafana/grafana#100135, February 2025). Migrations 40 and 41 (a string `refresh`, no
 *   `timepicker.time_options`) touch nothing this dashboard has, and older Grafana runs no
 *   migration on a newer schema, so it shows the same dashboard as with the 39 written before.
 *   11.6.0-cogv0.0.x.1753977659, the earlier build of it, emits the same bytes.
 * - 0.0.21 (the `latest` tag): emits schemaVersion 42 (Grafana 12), and
 *   `placement: "inControlsMenu"` on every link and annotation (its type allows no other value),
 *   which moves the Runbook link into the controls drop-down menu of newer Grafana. Not used.
 * - 10.4.0-cogv0.0.x.1758040177: compiles and runs, but emits schemaVersion 36, older than the
 *   features used (Grafana would re-run migrations 37-39 on it). 10.1.0-cogv0.0.x.1759918510 and
 *   10.2.0-cogv0.0.x.1759918447 also say 36 and do not compile this script (the enum is spelt
 *   `GraphTresholdsStyleMode`; 10.1 has no `builtIn` on annotations). Not used.
 * What fits: a builder for every panel type here (stat, timeseries, bargauge, state-timeline,
 * table), Prometheus targets, both variables with the `${datasource}` uid, the link, the built-in
 * annotation, gridPos, descriptions, units, decimals, min/max, colour modes, thresholds, value
 * mappings, overrides by name and by regexp, and the custom line, bar and threshold styles.
 * What does not:
 * - Transformations are `{ id, options: any }` and override properties `{ id, value: any }`: the
 *   options of joinByField, rowsToFields, organize and sortBy are as untyped as before.
 * - No `definition` on the query variable (only the text of Grafana's variable list; Grafana
 *   writes it when the variable is edited) and no `refresh` on the data source variable (Grafana
 *   resolves a data source variable at every load anyway).
 * - No way to choose the schemaVersion: the package version decides it, and
 *   test/ops/dashboard.test.ts ties it to the Grafana of docker-compose.yml.
 * - The builders write Grafana's defaults out (`allowCustomValue`, `auto_*`, table footer, bar
 *   gauge sizing, ...), so the JSON is longer; the state timeline's default tooltip sort would be
 *   `asc` where Grafana's is none, hence the explicit tooltip there.
 * The alerting builders model the HTTP provisioning API, not the provisioning file: see
 * scripts/generate-grafana-alerts.ts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { consumptionRate } from './consumption-rate.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DASHBOARD_PATH = 'grafana/dashboards/zexa-credits.json';
export const DASHBOARD_UID = 'zexa-credits';

// Every panel and target goes through the template variable, so the same JSON works imported
// in the UI (pick any Prometheus) and file-provisioned (no `__inputs` to resolve).
const DS: dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
const ACC = 'account=~"$account"';
// Series meet by account, never by exporter: a rollout (new `instance`), an HA pair or a reshard
// gives an account several series, so each query aggregates as prometheus/alerts.yml does
// (lowest balance, highest threshold, largest consumption of any exporter).

type Panel = StatPanel | TimeseriesPanel | BarGaugePanel | StateTimelinePanel | TablePanel;

/** A range query, one series per account unless `legend` says otherwise. */
function range(refId: string, expr: string, legend = '{{account}}'): DataqueryBuilder {
  return new DataqueryBuilder().refId(refId).expr(expr).legendFormat(legend).range().datasource(DS);
}
/** An instant query: the latest value only. */
function instant(refId: string, expr: string, legend = '{{account}}'): DataqueryBuilder {
  return new DataqueryBuilder().refId(refId).expr(expr).legendFormat(legend).instant().datasource(DS);
}
/** An instant query in table form (labels as columns), for joins and tables. */
function table(refId: string, expr: string, legend = '{{account}}'): DataqueryBuilder {
  return instant(refId, expr, legend).format(PromQueryFormat.Table);
}
function thresholds(...steps: Array<[number | null, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}
function colors(mode: dashboard.FieldColorModeId): dashboard.FieldColorBuilder {
  return new dashboard.FieldColorBuilder().mode(mode);
}
function valueText(texts: Record<string, { text: string; color: string }>): dashboard.ValueMap {
  return { type: dashboard.MappingType.ValueToText, options: texts };
}
function lastValue(): common.ReduceDataOptionsBuilder {
  return new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false);
}
/** The legend and tooltip of every time series panel: a table with the last value, all series. */
function timeseries(): TimeseriesPanel {
  return new TimeseriesPanel()
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true)
        .calcs(['lastNotNull']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}
/** A dashed line of one colour, for the series of a threshold. */
function thresholdLine(color: string): dashboard.DynamicConfigValue[] {
  return [
    { id: 'color', value: { mode: dashboard.FieldColorModeId.Fixed, fixedColor: color } },
    { id: 'custom.lineStyle', value: new common.LineStyleBuilder().fill('dash').dash([10, 10]).build() },
    { id: 'custom.lineWidth', value: 1 },
  ];
}

function balancePanel(): StatPanel {
  // One row per account (table queries joined on `account`); "Rows to fields" turns each row
  // into a field whose thresholds come from the same row, so each account gets its own colours.
  // Credits are whole numbers, so `+ 1` makes "at or below" the threshold the lower colour.
  const threshold = (fieldName: string, color: string) => ({ fieldName, handlerKey: 'threshold1', handlerArguments: { threshold: { color } } });
  return new StatPanel()
    .title('Balance per account')
    .description(
      'Credits left per account, from the latest successful poll. Coloured by that account\'s own thresholds ' +
        '(zexa_credits_threshold): red at or below critical, orange at or below warning, green above.',
    )
    .gridPos({ x: 0, y: 0, w: 24, h: 5 })
    .targets([
      table('A', `min by (account) (zexa_credits_remaining{${ACC}})`),
      table('B', `max by (account) (zexa_credits_threshold{${ACC},severity="critical"})`),
      table('C', `max by (account) (zexa_credits_threshold{${ACC},severity="critical"}) + 1`),
      table('D', `max by (account) (zexa_credits_threshold{${ACC},severity="warning"}) + 1`),
    ])
    .transformations([
      { id: 'joinByField', options: { byField: 'account', mode: 'outer' } },
      {
        id: 'rowsToFields',
        options: {
          mappings: [
            { fieldName: 'account', handlerKey: 'field.name' },
            { fieldName: 'Value #A', handlerKey: 'field.value' },
            threshold('Value #B', 'red'),
            threshold('Value #C', 'orange'),
            threshold('Value #D', 'green'),
          ],
        },
      },
    ])
    .unit('none')
    .decimals(0)
    .colorScheme(colors(dashboard.FieldColorModeId.Thresholds))
    .thresholds(thresholds([null, 'green']))
    .reduceOptions(lastValue())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .justifyMode(common.BigValueJustifyMode.Auto)
    .orientation(common.VizOrientation.Auto);
}

function balanceOverTimePanel(): TimeseriesPanel {
  return timeseries()
    .title('Balance over time')
    .description('Credits left per account, with the warning (orange) and critical (red) threshold of each account as dashed lines.')
    .gridPos({ x: 0, y: 5, w: 16, h: 9 })
    .targets([
      range('A', `min by (account, currency) (zexa_credits_remaining{${ACC}})`, '{{account}} ({{currency}})'),
      range('B', `max by (account, severity) (zexa_credits_threshold{${ACC}})`, '{{account}} {{severity}} threshold'),
    ])
    .unit('none')
    .decimals(0)
    .lineWidth(2)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .overrideByRegexp('.* warning threshold', thresholdLine('orange'))
    .overrideByRegexp('.* critical threshold', thresholdLine('red'));
}

function forecastPanel(): BarGaugePanel {
  return new BarGaugePanel()
    .title('Forecast: hours until empty')
    .description(
      'Balance divided by the consumption rate (the sum of decreases over the last 6 hours, per hour of data, ' +
        'at least 30 minutes), as ZexaCreditsExhaustionForecast computes it (it fires under 72 h). ' +
        'Accounts that consume nothing have no forecast.',
    )
    .gridPos({ x: 16, y: 5, w: 8, h: 9 })
    .targets([instant('A', `min by (account) (zexa_credits_remaining{${ACC}}) / on(account) (${consumptionRate(ACC)} > 0) / 3600`)])
    .unit('h')
    .decimals(0)
    .min(0)
    .max(168)
    .colorScheme(colors(dashboard.FieldColorModeId.Thresholds))
    .thresholds(thresholds([null, 'red'], [24, 'orange'], [72, 'green']))
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .reduceOptions(lastValue())
    .showUnfilled(true);
}

function consumptionPanel(): TimeseriesPanel {
  return timeseries()
    .title('Consumption rate (credits/hour)')
    .description('How fast each account spends credits: short-term rate, and the rate the forecast uses (sum of decreases over the last 6 hours, per hour).')
    .gridPos({ x: 0, y: 14, w: 12, h: 8 })
    .targets([
      range('A', `max by (account) (rate(zexa_credits_consumed_total{${ACC}}[$__rate_interval])) * 3600`),
      range('B', `(${consumptionRate(ACC)}) * 3600`, '{{account}} (forecast rate, 6 h)'),
    ])
    .unit('none')
    .decimals(1)
    .min(0);
}

/** Events per step as bars (errors by account and kind). */
function errorBars(title: string, description: string, gridPos: dashboard.GridPos, expr: string, legend: string): TimeseriesPanel {
  return timeseries()
    .title(title)
    .description(description)
    .gridPos(gridPos)
    .targets([range('A', expr, legend)])
    .unit('none')
    .decimals(0)
    .min(0)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80);
}

function pollHealthPanel(): StateTimelinePanel {
  return new StateTimelinePanel()
    .title('Poll health (zexa_up)')
    .description('Whether the latest poll of each account succeeded (failing while any exporter of it fails).')
    .gridPos({ x: 0, y: 22, w: 12, h: 8 })
    .targets([range('A', `min by (account) (zexa_up{${ACC}})`)])
    .colorScheme(colors(dashboard.FieldColorModeId.Thresholds))
    .thresholds(thresholds([null, 'red'], [1, 'green']))
    .mappings([valueText({ '0': { text: 'failing', color: 'red' }, '1': { text: 'ok', color: 'green' } })])
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .legend(new common.VizLegendOptionsBuilder().showLegend(false))
    // The builder's default tooltip sort is `asc`; Grafana's own default is none.
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Single).sort(common.SortOrder.None));
}

function pollAgePanel(): TimeseriesPanel {
  return timeseries()
    .title('Age of the last successful poll')
    .description('Seconds since each account was last polled successfully. ZexaCreditsStale fires above 15 minutes (red line).')
    .gridPos({ x: 12, y: 22, w: 12, h: 8 })
    .targets([range('A', `time() - max by (account) (zexa_last_success_timestamp_seconds{${ACC}})`)])
    .unit('s')
    .min(0)
    .colorScheme(colors(dashboard.FieldColorModeId.PaletteClassic))
    .thresholds(thresholds([null, 'green'], [900, 'red']))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.LineAndArea));
}

function apiPanels(): Panel[] {
  const rate = 'rate(zexa_api_request_duration_seconds_bucket[$__rate_interval])';
  return [
    timeseries()
      .title('Zexa API requests by status code')
      .description('Every HTTP attempt to the Zexa API, retries included; `error` means no response (timeout, network).')
      .gridPos({ x: 12, y: 30, w: 12, h: 8 })
      .targets([range('A', 'sum by (code) (rate(zexa_api_requests_total[$__rate_interval]))', '{{code}}')])
      .unit('reqps')
      .min(0),
    timeseries()
      .title('Zexa API latency')
      .description('Duration of each attempt to the Zexa API.')
      .gridPos({ x: 0, y: 38, w: 12, h: 8 })
      .targets([
        range('A', `histogram_quantile(0.5, sum by (le) (${rate}))`, 'p50'),
        range('B', `histogram_quantile(0.99, sum by (le) (${rate}))`, 'p99'),
      ])
      .unit('s')
      .min(0),
  ];
}

function exporterPanel(): TablePanel {
  return new TablePanel()
    .title('Exporter')
    .description('Running exporter instances: version, Node.js version, and whether Prometheus scrapes them (ZexaExporterDown).')
    .gridPos({ x: 12, y: 38, w: 12, h: 8 })
    .targets([table('A', 'zexa_exporter_build_info', ''), table('B', 'up{job="zexa"}', '')])
    .transformations([
      { id: 'joinByField', options: { byField: 'instance', mode: 'outer' } },
      {
        id: 'organize',
        options: {
          includeByName: { instance: true, version: true, nodejs_version: true, 'Value #B': true },
          renameByName: { nodejs_version: 'Node.js', version: 'Version', 'Value #B': 'Scraped (up)' },
        },
      },
    ])
    .showHeader(true);
}

function keysPanel(): TablePanel {
  return new TablePanel()
    .title('Keys')
    .description(
      'Each account\'s API key: its fingerprint (first 12 hex digits of its SHA-256), where it comes from, how long ago it ' +
        'came into use (a key file\'s mtime; for an environment key only since the exporter started), and whether another ' +
        'account, on any exporter, uses the same key (ZexaApiKeyShared). File keys older than 90 days fire ZexaApiKeyRotationDue.',
    )
    .gridPos({ x: 0, y: 46, w: 24, h: 8 })
    .targets([
      table('A', `max by (account, fingerprint) (zexa_api_key_info{${ACC}})`, ''),
      table('B', `time() - max by (account, source) (zexa_api_key_last_change_timestamp_seconds{${ACC}})`, ''),
      // Counted over every account (not only those selected) and by account, so an HA pair
      // exporting one account twice is not a shared key.
      table(
        'C',
        `max by (account) (zexa_api_key_info{${ACC}} * on (fingerprint) group_left () ` +
          '(count by (fingerprint) (count by (account, fingerprint) (zexa_api_key_info)) > bool 1))',
        '',
      ),
    ])
    .transformations([
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
    ])
    .overrideByName('Age', [{ id: 'unit', value: 'dtdurations' }, { id: 'decimals', value: 0 }])
    .overrideByName('Shared', [
      { id: 'mappings', value: [valueText({ '0': { text: 'no', color: 'green' }, '1': { text: 'shared', color: 'orange' } })] },
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
    ])
    .showHeader(true);
}

/** The panels in reading order, numbered from 1 and all on the data source variable. */
function panels(): Panel[] {
  const list: Panel[] = [
    balancePanel(),
    balanceOverTimePanel(),
    forecastPanel(),
    consumptionPanel(),
    errorBars(
      'Authentication errors (401 / 403)',
      '401: key revoked or malformed (ZexaApiKeyUnauthorized). 403: key valid but not allowed (ZexaApiKeyForbidden).',
      { x: 12, y: 14, w: 12, h: 8 },
      `sum by (account, code) (increase(zexa_auth_errors_total{${ACC}}[$__rate_interval]))`,
      '{{account}} {{code}}',
    ),
    pollHealthPanel(),
    pollAgePanel(),
    errorBars(
      'Failed polls by reason',
      'Polls that failed after retries, by reason (unauthorized, forbidden, rate_limited, server_error, timeout, ...).',
      { x: 0, y: 30, w: 12, h: 8 },
      `sum by (account, reason) (increase(zexa_poll_errors_total{${ACC}}[$__rate_interval]))`,
      '{{account}} {{reason}}',
    ),
    ...apiPanels(),
    exporterPanel(),
    keysPanel(),
  ];
  return list.map((panel, i) => panel.id(i + 1).datasource(DS));
}

function variables(): Array<dashboard.DatasourceVariableBuilder | dashboard.QueryVariableBuilder> {
  // Thresholds exist for every configured account, even one that never polled successfully.
  const accounts = 'label_values(zexa_credits_threshold, account)';
  return [
    new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus').hide(dashboard.VariableHide.DontHide).regex(''),
    new dashboard.QueryVariableBuilder('account')
      .label('Account')
      .datasource(DS)
      .query(accounts)
      .multi(true)
      .includeAll(true)
      // A regex over all accounts instead of listing thousands of names in every query.
      .allValue('.+')
      .current({ selected: true, text: ['All'], value: ['$__all'] })
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .hide(dashboard.VariableHide.DontHide)
      .regex(''),
  ];
}

export function buildDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder('Zexa credits')
    .uid(DASHBOARD_UID)
    .description('Credit balance, consumption and API key health of every account watched by zexa-exporter.')
    .tags(['zexa', 'credits'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .version(1)
    .refresh('1m')
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    .link(
      new dashboard.DashboardLinkBuilder('Runbook')
        .type(dashboard.DashboardLinkType.Link)
        .url('https://github.com/zexa-exporter/zexa-exporter/blob/main/docs/runbook.md')
        .targetBlank(true)
        .icon('doc'),
    )
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .builtIn(1)
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .name('Annotations & Alerts')
        .type('dashboard'),
    )
    .variables(variables());
  for (const panel of panels()) builder.withPanel(panel);
  return builder.build();
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(`${ROOT}${DASHBOARD_PATH}`, renderDashboard());
  console.log(`wrote ${DASHBOARD_PATH}`);
}
