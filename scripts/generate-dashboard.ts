/**
 * Generates the Grafana dashboard of the monitoring kit, grafana/dashboards/zexa-credits.json,
 * with Grafana's typed builders. docs/dashboard.md says in words what each panel answers.
 *
 * It opens at fleet size. With 5,000 accounts the earlier one-series-per-account dashboard (every
 * account on every panel, `$account` = All) returned 5,000 to 10,000 series per target and up
 * to 153 MB for one panel, which no browser draws usefully. So the default view is a fleet
 * overview whose every target returns a bounded number of series whatever the fleet's size:
 * counts of accounts by state, the `$N` accounts that run out soonest and the `$N` with the least
 * credits (bottomk), fleet totals, and the exporter's own traffic to the API. Everything about
 * one account sits in a row that is collapsed by default, on a single-valued `$account` (never
 * All), filled in by the links of the overview's tables. Per-account figures come from the series
 * that prometheus/alerts.yml records (`account:…`), so the dashboard and the alerts agree, and a
 * panel reads a few series instead of re-computing 6 h windows over every exporter's series. Run `npm run generate` after changing this file (it also
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
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DASHBOARD_PATH = 'grafana/dashboards/zexa-credits.json';
export const DASHBOARD_UID = 'zexa-credits';

/**
 * The recorded series the dashboard reads (prometheus/alerts.yml records them, one series per
 * account, plus `currency` or `severity`): the same balance, thresholds and consumption the
 * alerts use, whichever exporter (old or new pod, one of an HA pair) reported them.
 */
export const RECORDED = {
  balance: 'account:zexa_credits_remaining:latest',
  threshold: 'account:zexa_credits_threshold:max',
  lastSuccess: 'account:zexa_last_success_timestamp_seconds:max',
  rate6h: 'account:zexa_credits_consumption_rate:6h',
  rate1h: 'account:zexa_credits_consumption_rate:1h',
} as const;

/** The default of `$N`: how many accounts the overview's tables list. */
export const TOP_N_DEFAULT = 20;

// Every panel and target goes through the template variable, so the same JSON works imported
// in the UI (pick any Prometheus) and file-provisioned (no `__inputs` to resolve).
const DS: dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
/** One account: `$account` is single-valued, so an exact match. */
const ONE = 'account="$account"';

type Panel = StatPanel | TimeseriesPanel | StateTimelinePanel | TablePanel;

/** A range query. */
function range(refId: string, expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().refId(refId).expr(expr).legendFormat(legend).range().datasource(DS);
}
/** An instant query: the latest value only. */
function instant(refId: string, expr: string, legend = ''): DataqueryBuilder {
  return new DataqueryBuilder().refId(refId).expr(expr).legendFormat(legend).instant().datasource(DS);
}
/** An instant query in table form (labels as columns), for joins and tables. */
function table(refId: string, expr: string): DataqueryBuilder {
  return instant(refId, expr).format(PromQueryFormat.Table);
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
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending),
    );
}
/** A dashed line of one colour, for the series of a threshold. */
function thresholdLine(color: string): dashboard.DynamicConfigValue[] {
  return [
    { id: 'color', value: { mode: dashboard.FieldColorModeId.Fixed, fixedColor: color } },
    { id: 'custom.lineStyle', value: new common.LineStyleBuilder().fill('dash').dash([10, 10]).build() },
    { id: 'custom.lineWidth', value: 1 },
  ];
}
/** Events per step as bars. */
function bars(panel: TimeseriesPanel): TimeseriesPanel {
  return panel.unit('none').decimals(0).min(0).drawStyle(common.GraphDrawStyle.Bars).fillOpacity(80);
}

// ---------------------------------------------------------------------------------------------
// Fleet overview: every target returns a bounded number of series, whatever the fleet's size.

/**
 * Firing alerts counted per state, from Prometheus' own ALERTS series: the same truth that pages
 * the team. `or vector(0)` shows a zero instead of "No data" for a state no account is in.
 */
const STATES: ReadonlyArray<{ legend: string; alert: string; color: string }> = [
  { legend: 'CRITICAL', alert: 'ZexaCreditsCritical', color: 'red' },
  { legend: 'LOW', alert: 'ZexaCreditsLow', color: 'orange' },
  { legend: 'empty within 2 h', alert: 'ZexaCreditsExhaustionImminent', color: 'red' },
  { legend: 'running out (72 h)', alert: 'ZexaCreditsExhaustionForecast', color: 'orange' },
  { legend: 'unauthorized (401)', alert: 'ZexaApiKeyUnauthorized', color: 'red' },
  { legend: 'forbidden (403)', alert: 'ZexaApiKeyForbidden', color: 'orange' },
  { legend: 'stale', alert: 'ZexaCreditsStale', color: 'orange' },
];

function statesPanel(): StatPanel {
  const panel = new StatPanel()
    .title('Accounts by state')
    .description(
      'How many accounts are in each state now: the alerts firing in Prometheus (the ALERTS series), one count per alert, and the ' +
        'number of accounts watched (those with thresholds). An account can be in several states (LOW and running out). ' +
        'Which accounts: the tables below, or Alerting in Grafana and Prometheus.',
    )
    .gridPos({ x: 0, y: 0, w: 24, h: 4 })
    .targets([
      instant('A', `count(count by (account) (last_over_time(${RECORDED.threshold}[10m])))`, 'accounts watched'),
      ...STATES.map((s, i) =>
        instant(
          String.fromCharCode(66 + i),
          `count(ALERTS{alertname="${s.alert}",alertstate="firing"}) or vector(0)`,
          s.legend,
        ),
      ),
    ])
    .unit('none')
    .decimals(0)
    .colorScheme(colors(dashboard.FieldColorModeId.Thresholds))
    .thresholds(thresholds([null, 'green']))
    .reduceOptions(lastValue())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .justifyMode(common.BigValueJustifyMode.Center)
    .orientation(common.VizOrientation.Auto)
    .overrideByName('accounts watched', [
      { id: 'color', value: { mode: dashboard.FieldColorModeId.Fixed, fixedColor: 'text' } },
    ]);
  for (const s of STATES)
    panel.overrideByName(s.legend, [{ id: 'thresholds', value: thresholds([null, 'green'], [1, s.color]).build() }]);
  return panel;
}

/** The account column of an overview table: a link that opens that account's row. */
function accountLink(): dashboard.DynamicConfigValue[] {
  return [
    {
      id: 'links',
      value: [
        {
          title: 'Show account ${__value.raw}',
          url: `/d/${DASHBOARD_UID}/zexa-credits?\${datasource:queryparam}&\${N:queryparam}&var-account=\${__value.raw}&\${__url_time_range}`,
        },
      ],
    },
  ];
}

/** A table of at most `$N` accounts, one instant query; the account column links to the account. */
function rankTable(
  title: string,
  description: string,
  gridPos: dashboard.GridPos,
  expr: string,
  value: string,
  valueConfig: dashboard.DynamicConfigValue[],
): TablePanel {
  return new TablePanel()
    .title(title)
    .description(description)
    .gridPos(gridPos)
    .targets([table('A', expr)])
    .transformations([
      {
        id: 'organize',
        options: {
          includeByName: { account: true, currency: true, Value: true },
          indexByName: { account: 0, Value: 1, currency: 2 },
          renameByName: { account: 'Account', currency: 'Currency', Value: value },
        },
      },
      { id: 'sortBy', options: { sort: [{ field: value, desc: false }] } },
    ])
    .overrideByName('Account', accountLink())
    .overrideByName(value, valueConfig)
    .showHeader(true);
}

/**
 * The 6 h rate at the latest evaluation of its 5-minute group. Its newest sample is up to 5
 * minutes old, and Prometheus looks back exactly 5 minutes, so for the seconds a slow evaluation
 * takes the plain series would have no value; the alerts read it the same way.
 */
function latestRate6h(selector = ''): string {
  return `last_over_time(${RECORDED.rate6h}${selector}[10m])`;
}

function rankPanels(): Panel[] {
  const hours = `${RECORDED.balance} / on(account) group_left() (${latestRate6h()} > 0) / 3600`;
  return [
    rankTable(
      'Soonest to run out',
      'The $N accounts that run out first at their consumption rate of the last 6 hours: balance divided by that rate, in hours. ' +
        'ZexaCreditsExhaustionForecast fires under 72 h (warning), ZexaCreditsExhaustionImminent at the recent rate under 2 h (page). ' +
        'Accounts that consume nothing are not listed. Click an account to open its row below.',
      { x: 0, y: 4, w: 12, h: 10 },
      `bottomk($N, ${hours})`,
      'Hours until empty',
      [
        { id: 'unit', value: 'h' },
        { id: 'decimals', value: 1 },
        { id: 'thresholds', value: thresholds([null, 'red'], [24, 'orange'], [72, 'green']).build() },
        { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
      ],
    ),
    rankTable(
      'Least credits left',
      'The $N accounts with the fewest credits left, from the newest successful poll of any exporter. ' +
        "Red: 100 or fewer (the default critical threshold), orange: 1,000 or fewer (the default warning); each account's own thresholds " +
        'are on its row. Click an account to open its row below.',
      { x: 12, y: 4, w: 12, h: 10 },
      `bottomk($N, ${RECORDED.balance})`,
      'Credits',
      [
        { id: 'unit', value: 'none' },
        { id: 'decimals', value: 0 },
        { id: 'thresholds', value: thresholds([null, 'red'], [101, 'orange'], [1001, 'green']).build() },
        { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
      ],
    ),
  ];
}

function fleetConsumptionPanel(): TimeseriesPanel {
  return (
    timeseries()
      .title('Fleet consumption (credits/hour)')
      .description(
        'Credits the whole fleet spends per hour, per currency: the sum over every account of its consumption rate over the last hour ' +
          'and over the last 6 hours (the rates the forecasts use, recorded every 5 minutes). A step up is new load or a runaway sender.',
      )
      .gridPos({ x: 0, y: 14, w: 12, h: 8 })
      // The rates change every 5 minutes, so a shorter step only reads the same samples again:
      // at 5,000 accounts a 20 s step over 6 h took 6.5-7.6 s on a loaded machine.
      .interval('5m')
      .targets([
        range('A', `sum by (currency) (${RECORDED.rate1h}) * 3600`, 'last hour {{currency}}'),
        range('B', `sum by (currency) (${RECORDED.rate6h}) * 3600`, 'last 6 hours {{currency}}'),
      ])
      .unit('none')
      .decimals(0)
      .min(0)
  );
}

function apiPanels(): Panel[] {
  const rate = 'rate(zexa_api_request_duration_seconds_bucket[$__rate_interval])';
  return [
    timeseries()
      .title('Zexa API requests by status code')
      .description(
        'Every HTTP attempt of every exporter to the Zexa API, retries included; `error` means no response (timeout, network).',
      )
      .gridPos({ x: 12, y: 14, w: 12, h: 8 })
      .targets([range('A', 'sum by (code) (rate(zexa_api_requests_total[$__rate_interval]))', '{{code}}')])
      .unit('reqps')
      .min(0),
    timeseries()
      .title('Zexa API error rate')
      .description(
        'Share of the attempts to the Zexa API that got no 2xx answer (401, 403, 429, 5xx, or no response), over every exporter. ' +
          'Which accounts fail and why: Failed polls by reason, and the account row.',
      )
      .gridPos({ x: 0, y: 22, w: 12, h: 8 })
      .targets([
        range(
          'A',
          'sum(rate(zexa_api_requests_total{code!~"2.."}[$__rate_interval])) / sum(rate(zexa_api_requests_total[$__rate_interval]))',
          'errors / requests',
        ),
      ])
      .unit('percentunit')
      .min(0)
      .max(1),
    bars(
      timeseries()
        .title('Failed polls by reason')
        .description(
          'Polls of every account that failed after retries, summed by reason (unauthorized, forbidden, rate_limited, server_error, timeout, ...).',
        )
        .gridPos({ x: 12, y: 22, w: 12, h: 8 })
        .targets([range('A', 'sum by (reason) (increase(zexa_poll_errors_total[$__rate_interval]))', '{{reason}}')]),
    ),
    timeseries()
      .title('Zexa API latency')
      .description('Duration of each attempt to the Zexa API, over every exporter.')
      .gridPos({ x: 0, y: 30, w: 12, h: 8 })
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
    .description(
      'Running exporter instances: version, Node.js version, and whether Prometheus scrapes them (ZexaExporterDown).',
    )
    .gridPos({ x: 12, y: 30, w: 12, h: 8 })
    .targets([table('A', 'zexa_exporter_build_info'), table('B', 'up{job="zexa"}')])
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

// ---------------------------------------------------------------------------------------------
// One account, in a row collapsed by default (Grafana runs no query of a collapsed row).

/** The y of the account row, below the overview. */
const ROW_Y = 38;

function balanceOverTimePanel(): TimeseriesPanel {
  return timeseries()
    .title('Balance of $account')
    .description(
      'Credits left on the account (from the newest successful poll of any exporter, as the alerts read it), with its ' +
        'warning (orange) and critical (red) thresholds as dashed lines.',
    )
    .gridPos({ x: 0, y: ROW_Y + 1, w: 16, h: 9 })
    .targets([
      range('A', `${RECORDED.balance}{${ONE}}`, 'balance ({{currency}})'),
      range('B', `${RECORDED.threshold}{${ONE}}`, '{{severity}} threshold'),
    ])
    .unit('none')
    .decimals(0)
    .lineWidth(2)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .overrideByName('warning threshold', thresholdLine('orange'))
    .overrideByName('critical threshold', thresholdLine('red'));
}

function forecastPanel(): StatPanel {
  return new StatPanel()
    .title('Hours until empty')
    .description(
      'Balance divided by the consumption rate of the last 6 hours (at least 30 minutes of data), as ZexaCreditsExhaustionForecast ' +
        'computes it; it fires under 72 h. No value: the account consumes nothing.',
    )
    .gridPos({ x: 16, y: ROW_Y + 1, w: 8, h: 9 })
    .targets([
      instant(
        'A',
        `${RECORDED.balance}{${ONE}} / on(account) group_left() (${latestRate6h(`{${ONE}}`)} > 0) / 3600`,
        '{{currency}}',
      ),
    ])
    .unit('h')
    .decimals(1)
    .colorScheme(colors(dashboard.FieldColorModeId.Thresholds))
    .thresholds(thresholds([null, 'red'], [24, 'orange'], [72, 'green']))
    .reduceOptions(lastValue())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None);
}

function consumptionPanel(): TimeseriesPanel {
  return timeseries()
    .title('Consumption of $account (credits/hour)')
    .description(
      'How fast the account spends credits: the short-term rate (largest of any exporter), and the 1 h and 6 h rates the forecasts use ' +
        '(recorded every 5 minutes).',
    )
    .gridPos({ x: 0, y: ROW_Y + 10, w: 12, h: 8 })
    .targets([
      range('A', `max by (account) (rate(zexa_credits_consumed_total{${ONE}}[$__rate_interval])) * 3600`, 'now'),
      range('B', `${RECORDED.rate1h}{${ONE}} * 3600`, 'last hour'),
      range('C', `${RECORDED.rate6h}{${ONE}} * 3600`, 'last 6 hours'),
    ])
    .unit('none')
    .decimals(1)
    .min(0);
}

function pollHealthPanel(): StateTimelinePanel {
  return (
    new StateTimelinePanel()
      .title('Poll health of $account (zexa_up)')
      .description('Whether the latest poll of the account succeeded (failing while any exporter of it fails).')
      .gridPos({ x: 0, y: ROW_Y + 18, w: 12, h: 5 })
      .targets([range('A', `min by (account) (zexa_up{${ONE}})`, '{{account}}')])
      .colorScheme(colors(dashboard.FieldColorModeId.Thresholds))
      .thresholds(thresholds([null, 'red'], [1, 'green']))
      .mappings([valueText({ '0': { text: 'failing', color: 'red' }, '1': { text: 'ok', color: 'green' } })])
      .showValue(common.VisibilityMode.Never)
      .mergeValues(true)
      .legend(new common.VizLegendOptionsBuilder().showLegend(false))
      // The builder's default tooltip sort is `asc`; Grafana's own default is none.
      .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Single).sort(common.SortOrder.None))
  );
}

function pollAgePanel(): TimeseriesPanel {
  return timeseries()
    .title('Age of the last successful poll of $account')
    .description(
      'Seconds since any exporter last polled the account successfully. ZexaCreditsStale fires above 15 minutes (red line).',
    )
    .gridPos({ x: 12, y: ROW_Y + 10, w: 12, h: 8 })
    .targets([range('A', `time() - ${RECORDED.lastSuccess}{${ONE}}`, 'age')])
    .unit('s')
    .min(0)
    .colorScheme(colors(dashboard.FieldColorModeId.PaletteClassic))
    .thresholds(thresholds([null, 'green'], [900, 'red']))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.LineAndArea));
}

function accountErrorPanels(): Panel[] {
  return [
    bars(
      timeseries()
        .title('Authentication errors of $account (401 / 403)')
        .description(
          '401: key revoked or malformed (ZexaApiKeyUnauthorized). 403: key valid but not allowed (ZexaApiKeyForbidden).',
        )
        .gridPos({ x: 12, y: ROW_Y + 18, w: 6, h: 5 })
        .targets([
          range('A', `sum by (code) (increase(zexa_auth_errors_total{${ONE}}[$__rate_interval]))`, '{{code}}'),
        ]),
    ),
    bars(
      timeseries()
        .title('Failed polls of $account')
        .description('Polls of the account that failed after retries, by reason.')
        .gridPos({ x: 18, y: ROW_Y + 18, w: 6, h: 5 })
        .targets([
          range('A', `sum by (reason) (increase(zexa_poll_errors_total{${ONE}}[$__rate_interval]))`, '{{reason}}'),
        ]),
    ),
  ];
}

function keyPanel(): TablePanel {
  return new TablePanel()
    .title('API key of $account')
    .description(
      "The account's API key: its fingerprint (first 12 hex digits of its SHA-256), where it comes from, how long ago it " +
        "came into use (a key file's mtime; for an environment key only since the exporter started), and whether another " +
        'account, on any exporter, uses the same key (ZexaApiKeyShared). File keys older than 90 days fire ZexaApiKeyRotationDue.',
    )
    .gridPos({ x: 0, y: ROW_Y + 23, w: 24, h: 5 })
    .targets([
      table('A', `max by (account, fingerprint) (zexa_api_key_info{${ONE}})`),
      table('B', `time() - max by (account, source) (zexa_api_key_last_change_timestamp_seconds{${ONE}})`),
      // The accounts counted per fingerprint are every account, not only this one, and by
      // account, so an HA pair exporting one account twice is not a shared key.
      table(
        'C',
        `max by (account) (zexa_api_key_info{${ONE}} * on (fingerprint) group_left () ` +
          '(count by (fingerprint) (count by (account, fingerprint) (zexa_api_key_info)) > bool 1))',
      ),
    ])
    .transformations([
      { id: 'joinByField', options: { byField: 'account', mode: 'outer' } },
      {
        id: 'organize',
        options: {
          includeByName: { account: true, fingerprint: true, source: true, 'Value #B': true, 'Value #C': true },
          indexByName: { account: 0, fingerprint: 1, source: 2, 'Value #B': 3, 'Value #C': 4 },
          renameByName: {
            account: 'Account',
            fingerprint: 'Fingerprint',
            source: 'Source',
            'Value #B': 'Age',
            'Value #C': 'Shared',
          },
        },
      },
    ])
    .overrideByName('Age', [
      { id: 'unit', value: 'dtdurations' },
      { id: 'decimals', value: 0 },
    ])
    .overrideByName('Shared', [
      {
        id: 'mappings',
        value: [valueText({ '0': { text: 'no', color: 'green' }, '1': { text: 'shared', color: 'orange' } })],
      },
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
    ])
    .showHeader(true);
}

/** The overview's panels in reading order. */
function overviewPanels(): Panel[] {
  return [statesPanel(), ...rankPanels(), fleetConsumptionPanel(), ...apiPanels(), exporterPanel()];
}

function accountPanels(): Panel[] {
  return [
    balanceOverTimePanel(),
    forecastPanel(),
    consumptionPanel(),
    pollAgePanel(),
    pollHealthPanel(),
    ...accountErrorPanels(),
    keyPanel(),
  ];
}

function variables(): Array<
  dashboard.DatasourceVariableBuilder | dashboard.QueryVariableBuilder | dashboard.CustomVariableBuilder
> {
  const topN = String(TOP_N_DEFAULT);
  return [
    new dashboard.DatasourceVariableBuilder('datasource')
      .label('Data source')
      .type('prometheus')
      .hide(dashboard.VariableHide.DontHide)
      .regex(''),
    // A fixed list: each table returns at most the largest choice of series.
    new dashboard.CustomVariableBuilder('N')
      .label('Top N')
      .description("How many accounts the overview's tables list.")
      .values('5,10,20,50')
      .current({ selected: true, text: topN, value: topN })
      .multi(false)
      .includeAll(false)
      .allowCustomValue(false)
      .hide(dashboard.VariableHide.DontHide),
    // One account, never All: the account row shows one account's series, however many there
    // are. With no current value Grafana selects the first account in the list; the overview's
    // links set it. Thresholds exist for every configured account, even one that never polled.
    new dashboard.QueryVariableBuilder('account')
      .label('Account')
      .description("The account shown in the account row; the overview's tables link here with it filled in.")
      .datasource(DS)
      .query('label_values(zexa_credits_threshold, account)')
      .multi(false)
      .includeAll(false)
      .refresh(dashboard.VariableRefresh.OnDashboardLoad)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .hide(dashboard.VariableHide.DontHide)
      .regex(''),
  ];
}

export function buildDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder('Zexa credits')
    .uid(DASHBOARD_UID)
    .description(
      'Credit balance, consumption and API key health of a fleet of accounts watched by zexa-exporter, and of one account.',
    )
    .tags(['zexa', 'credits'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .version(1)
    .refresh('1m')
    // The forecasts look back 6 hours; a longer default range only makes every panel heavier.
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .link(
      new dashboard.DashboardLinkBuilder('Runbook')
        .type(dashboard.DashboardLinkType.Link)
        .url('https://github.com/zexa-exporter/zexa-exporter/blob/main/docs/runbook.md')
        .targetBlank(true)
        .icon('doc'),
    )
    .link(
      new dashboard.DashboardLinkBuilder('How to read this dashboard')
        .type(dashboard.DashboardLinkType.Link)
        .url('https://github.com/zexa-exporter/zexa-exporter/blob/main/docs/dashboard.md')
        .targetBlank(true)
        .icon('info'),
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
  let id = 0;
  for (const panel of overviewPanels()) builder.withPanel(panel.id(++id).datasource(DS));
  const row = new dashboard.RowBuilder('Account: $account')
    .id(++id)
    .collapsed(true)
    .gridPos({ x: 0, y: ROW_Y, w: 24, h: 1 });
  for (const panel of accountPanels()) row.withPanel(panel.id(++id).datasource(DS));
  builder.withRow(row);
  return builder.build();
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(`${ROOT}${DASHBOARD_PATH}`, renderDashboard());
  console.log(`wrote ${DASHBOARD_PATH}`);
}
