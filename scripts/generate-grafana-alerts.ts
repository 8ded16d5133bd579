/**
 * Generates grafana/provisioning/alerting/zexa-alerts.yaml, the Grafana-managed alert rules, from
 * prometheus/alerts.yml: one Grafana rule per Prometheus rule, in groups of the same names, with
 * the same title, PromQL expression (verbatim), `for:`, severity, summary and runbook link. A rule
 * added to alerts.yml is therefore a Grafana rule too after `npm run generate`, and
 * test/ops/grafana-alerts.test.ts fails while the committed file differs or any rule is missing.
 *
 * What Grafana needs in another form, and why (also written next to every generated rule):
 * - Grafana alerts on a condition over numbers, not on "the query returned series". Query A is
 *   the Prometheus expression, B reduces it to its last value per series and C is
 *   `is_number($B)`: true for every series A returns, as Prometheus fires for every series.
 * - No series at all means no account is in trouble, as in Prometheus; Grafana's default
 *   (`NoData` alerts) would page on every healthy system, hence `noDataState: OK`.
 * - `for:` is the same duration and means the same (pending per series), but Grafana evaluates
 *   the group every `interval` (1m), so a rule is firing at the first evaluation after `for:`.
 * - Annotations: Grafana templates have no `query` function and its `$value` is a text, so
 *   `$value` becomes `$values.B.Value`, and each `query` of a description becomes one more
 *   instant query (VALUE_QUERIES below) whose value the description shows as `$values.V<n>`.
 *   Those queries return the alert's own labels, so Grafana can pair them with each alert.
 * - Recording rules: Grafana-managed rules cannot record (Grafana 11's provisioning file has
 *   alert rules only), so the Grafana rules read the series that Prometheus records from the
 *   same alerts.yml (groups zexa-recording and zexa-recording-5m), as the Prometheus alerts do.
 *   Keeping expressions of their own is not possible for the balance carried through an outage,
 *   which reads its own previous value (only a recording rule can), and would recompute the
 *   6-hour rate every minute in every rule, the cost the recorded series remove. Every shipped
 *   setup (Compose, the plain install, the PrometheusRule) loads alerts.yml into the Prometheus
 *   that Grafana's data source queries; a Prometheus without those groups gives these rules no
 *   series, so they stay silent (README says to load the whole file).
 *
 * Written without Grafana's typed builders (issue 15). The alerting builders of
 * @grafana/grafana-foundation-sdk (11.6.0-cogv0.0.x.1769699379, which builds the dashboard, and
 * 0.0.21; tried 2026-11-29 on Node.js 20.20.2, 22.23.3 and 24.21.0, where they run) build the
 * objects of Grafana's HTTP provisioning API, not this provisioning file:
 * - RuleGroupBuilder gives `{ title, folderUid, interval: 60 }`; the file needs `name`, `folder`
 *   (a title) and `orgId`, and parses `interval` with Prometheus' duration parser, so a group
 *   without `name` is refused ("rule group has no name set") and a bare `60` is not a duration
 *   (grafana/grafana pkg/services/provisioning/alerting/rules_types.go).
 * - RuleBuilder writes `folderUID: ""`, `orgID: 0` and `ruleGroup: ""` into every rule and has no
 *   `dashboardUid` or `panelId`, which link each rule to the dashboard here.
 * So every object would be renamed field by field after building: more code than now, with types
 * that no longer describe what is written. What would fit is only the query models (the
 * `prometheus` and `expr` builders), and they lack `intervalMs` and `maxDataPoints`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Document, parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const PROMETHEUS_RULES_PATH = 'prometheus/alerts.yml';
export const GRAFANA_ALERTS_PATH = 'grafana/provisioning/alerting/zexa-alerts.yaml';
/** Fixed in grafana/provisioning/datasources/prometheus.yaml; the alert rules need a real uid. */
export const DATASOURCE_UID = 'zexa-prometheus';
const DASHBOARD_UID = 'zexa-credits';
const FOLDER = 'Zexa';
const INTERVAL = '1m';

/** The rule file is not what this script expects; the message names the rule and the problem. */
export class RuleSourceError extends Error {
  override readonly name = 'RuleSourceError';
}

export interface PromRule {
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The Prometheus alerting rules in file order, with the group each belongs to; recording rules are Prometheus' own. */
export function loadPrometheusRules(text = readFileSync(`${ROOT}${PROMETHEUS_RULES_PATH}`, 'utf8')): PromRule[] {
  const doc = parse(text) as {
    groups?: Array<{ name: string; rules?: Array<Omit<PromRule, 'group'> & { record?: string }> }>;
  };
  return (doc.groups ?? []).flatMap((g) =>
    (g.rules ?? [])
      .filter((r) => r.record === undefined)
      .map((r) => {
        if (r.alert === undefined)
          throw new RuleSourceError(
            `${PROMETHEUS_RULES_PATH}: group ${g.name} has a rule that neither records nor alerts`,
          );
        return {
          group: g.name,
          alert: r.alert,
          expr: r.expr,
          for: r.for,
          labels: r.labels ?? {},
          annotations: r.annotations ?? {},
        };
      }),
  );
}

/** The names of the series alerts.yml records (`record:`), which the Grafana rules may read. */
export function recordedSeries(text = readFileSync(`${ROOT}${PROMETHEUS_RULES_PATH}`, 'utf8')): string[] {
  const doc = parse(text) as { groups?: Array<{ rules?: Array<{ record?: string }> }> };
  return (doc.groups ?? []).flatMap((g) => (g.rules ?? []).flatMap((r) => (r.record === undefined ? [] : [r.record])));
}

/**
 * For each `query` in an alert's description, in order: PromQL returning that value for every
 * alert of the rule, with exactly the alert's labels. Add one when a description gains a query.
 */
const threshold = (severity: string): string =>
  `account:zexa_credits_remaining:latest * 0 + on(account) group_left() last_over_time(account:zexa_credits_threshold:max{severity="${severity}"}[10m])`;
export const VALUE_QUERIES: Record<string, string[]> = {
  ZexaCreditsLow: [threshold('warning'), threshold('critical')],
  ZexaCreditsCritical: [threshold('critical')],
  ZexaCreditsExhaustionForecast: ['last_over_time(account:zexa_credits_consumption_rate:6h[10m]) * 3600'],
  ZexaCreditsExhaustionImminent: ['account:zexa_credits_consumption_rate:5m * 3600'],
  ZexaCreditsStale: ['account:zexa_last_success_timestamp_seconds:max'],
};

/** Uids are the kebab-case alert name; the forecast keeps the uid it was first provisioned with. */
const UID_OVERRIDES: Record<string, string> = { ZexaCreditsExhaustionForecast: 'zexa-credits-forecast' };
export function grafanaUid(alert: string): string {
  return UID_OVERRIDES[alert] ?? alert.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

const QUERY_BLOCK =
  /\{\{\s*with\s+printf\s+"(?:[^"\\]|\\.)*"(?:\s+\$labels\.\w+)*\s*\|\s*query\s*\}\}\{\{\s*\.\s*\|\s*first\s*\|\s*value\s*(\|[^}]*)?\}\}\{\{\s*else\s*\}\}(.*?)\{\{\s*end\s*\}\}/g;

/** The description for Grafana: `$value` → `$values.B.Value`, each `query` → `$values.V<n>`. */
export function grafanaDescription(rule: PromRule): string {
  const text = rule.annotations.description ?? '';
  let n = 0;
  const translated = text.replace(QUERY_BLOCK, (_block, pipeline: string | undefined, orElse: string) => {
    n += 1;
    // A missing $values entry is a zero value whose Labels are empty, hence the `if`.
    return `{{ if $values.V${n}.Labels }}{{ $values.V${n}.Value${pipeline === undefined ? '' : ` ${pipeline.trim()}`} }}{{ else }}${orElse}{{ end }}`;
  });
  const expected = VALUE_QUERIES[rule.alert]?.length ?? 0;
  if (/\|\s*query\b/.test(translated) || n !== expected) {
    throw new RuleSourceError(
      `${PROMETHEUS_RULES_PATH}: ${rule.alert}: its description has ${n} \`query\` template(s) in the form ` +
        '`{{ with printf "..." $labels.x | query }}{{ . | first | value | ... }}{{ else }}...{{ end }}` ' +
        `and scripts/generate-grafana-alerts.ts has ${expected} VALUE_QUERIES for it; Grafana has no \`query\` function, ` +
        'so give every such template a value query there (or drop it)',
    );
  }
  return translated.replace(/\$value\b(?!s)/g, '$values.B.Value');
}

const expr = (refId: string, expression: string) => ({
  refId,
  relativeTimeRange: { from: 600, to: 0 },
  datasourceUid: DATASOURCE_UID,
  model: {
    refId,
    expr: expression,
    instant: true,
    range: false,
    intervalMs: 60000,
    maxDataPoints: 43200,
    datasource: { type: 'prometheus', uid: DATASOURCE_UID },
  },
});
const serverSide = (refId: string, model: Record<string, string>) => ({
  refId,
  relativeTimeRange: { from: 0, to: 0 },
  datasourceUid: '__expr__',
  model: { refId, ...model, datasource: { type: '__expr__', uid: '__expr__' } },
});

export function grafanaRule(rule: PromRule): Record<string, unknown> {
  const values = VALUE_QUERIES[rule.alert] ?? [];
  return {
    uid: grafanaUid(rule.alert),
    title: rule.alert,
    condition: 'C',
    data: [
      expr('A', rule.expr.trim()),
      serverSide('B', { type: 'reduce', expression: 'A', reducer: 'last' }),
      serverSide('C', { type: 'math', expression: 'is_number($B)' }),
      ...values.flatMap((q, i) => [
        expr(`Q${i + 1}`, q),
        serverSide(`V${i + 1}`, { type: 'reduce', expression: `Q${i + 1}`, reducer: 'last' }),
      ]),
    ],
    dashboardUid: DASHBOARD_UID,
    panelId: 1,
    noDataState: 'OK',
    execErrState: 'Error',
    for: rule.for ?? '0s',
    labels: { ...rule.labels },
    annotations: {
      summary: rule.annotations.summary ?? rule.alert,
      description: grafanaDescription(rule),
      runbook_url: rule.annotations.runbook_url ?? '',
    },
  };
}

const RULE_COMMENT =
  ' Generated from prometheus/alerts.yml. Query A is its expression verbatim; B and C turn\n' +
  ' "returns series" into a Grafana condition; noDataState OK because no series means no account\n' +
  ' in trouble (see scripts/generate-grafana-alerts.ts for every difference and why).';
const RECORDED_COMMENT =
  ' The account:* series are recorded by Prometheus from the same alerts.yml (groups\n' +
  ' zexa-recording and zexa-recording-5m): Grafana-managed rules cannot record.';
const EXTRA_COMMENTS: Record<string, string> = {
  ZexaExporterDown:
    ' absent(up{job="zexa"}) returns a series when the job is gone altogether, so noDataState OK\n' +
    ' still alerts on a missing exporter, as in Prometheus.',
};

export function buildGrafanaAlerts(rules = loadPrometheusRules()): Document {
  const groups = [...new Set(rules.map((r) => r.group))].map((name) => ({
    orgId: 1,
    name,
    folder: FOLDER,
    interval: INTERVAL,
    rules: rules.filter((r) => r.group === name).map(grafanaRule),
  }));
  const doc = new Document({ apiVersion: 1, groups });
  doc.commentBefore =
    ' Grafana-managed alert rules for teams that alert from Grafana instead of Alertmanager.\n' +
    ' GENERATED by scripts/generate-grafana-alerts.ts from prometheus/alerts.yml: edit that file,\n' +
    ' then run `npm run generate`. test/ops/grafana-alerts.test.ts fails while they differ.';
  for (const [g, group] of groups.entries()) {
    for (const [i, rule] of group.rules.entries()) {
      const node = doc.getIn(['groups', g, 'rules', i], true) as { commentBefore?: string };
      const title = String(rule.title);
      const readsRecorded = /\baccount:/.test(rules.find((r) => r.alert === title)?.expr ?? '');
      const extra = [
        ...(readsRecorded ? [RECORDED_COMMENT] : []),
        ...(EXTRA_COMMENTS[title] === undefined ? [] : [EXTRA_COMMENTS[title]]),
      ];
      node.commentBefore = [RULE_COMMENT, ...extra].join('\n');
    }
  }
  return doc;
}

export function renderGrafanaAlerts(rules = loadPrometheusRules()): string {
  return buildGrafanaAlerts(rules).toString({ lineWidth: 0 });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(`${ROOT}${GRAFANA_ALERTS_PATH}`, renderGrafanaAlerts());
  console.log(`wrote ${GRAFANA_ALERTS_PATH}`);
}
