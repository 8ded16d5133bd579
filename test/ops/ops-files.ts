/**
 * Reading the monitoring kit's files for the ops tests: the PromQL of the dashboard and of the
 * Grafana alert rules, and the metric names an expression uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/prometheus-stack.js';

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

interface DashboardTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}
export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  interval?: string;
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}
export interface Dashboard {
  uid: string;
  __inputs?: unknown;
  panels: DashboardPanel[];
  templating: { list: Array<Record<string, unknown> & { name: string; type: string }> };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readRepoFile('grafana/dashboards/zexa-credits.json')) as Dashboard;
}

/** One query of a panel, as Grafana sends it: a range query unless the target is instant only. */
export interface PanelQuery {
  /** `<panel title> <refId>`. */
  key: string;
  expr: string;
  kind: 'range' | 'instant';
  /** The panel's "Min interval", e.g. `5m`: no step is shorter. */
  interval?: string;
}

export function panelQueries(d: Dashboard): PanelQuery[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => {
      const target = t as typeof t & { instant?: boolean; range?: boolean };
      const kind = target.instant === true && target.range !== true ? ('instant' as const) : ('range' as const);
      return {
        key: `${p.title} ${t.refId}`,
        expr: t.expr,
        kind,
        ...(p.interval === undefined ? {} : { interval: p.interval }),
      };
    }),
  );
}

/** Panels including those nested in collapsed rows. */
export function allPanels(d: Dashboard): DashboardPanel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

interface GrafanaAlertRule {
  uid: string;
  title: string;
  condition: string;
  for: string;
  noDataState: string;
  execErrState: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  data: Array<{
    refId: string;
    datasourceUid: string;
    relativeTimeRange: { from: number; to: number };
    model: Record<string, unknown>;
  }>;
}
export interface GrafanaAlertFile {
  apiVersion: number;
  groups: Array<{ orgId: number; name: string; folder: string; interval: string; rules: GrafanaAlertRule[] }>;
}

/** The series prometheus/alerts.yml records (`record:` of every group), e.g. `account:zexa_credits_remaining:latest`. */
export function recordedNames(rulesYaml = readRepoFile('prometheus/alerts.yml')): Set<string> {
  const doc = parse(rulesYaml) as { groups?: Array<{ rules?: Array<{ record?: string }> }> };
  return new Set(
    (doc.groups ?? []).flatMap((g) => (g.rules ?? []).flatMap((r) => (r.record === undefined ? [] : [r.record]))),
  );
}

export function loadGrafanaAlerts(): GrafanaAlertFile {
  return parse(readRepoFile('grafana/provisioning/alerting/zexa-alerts.yaml')) as GrafanaAlertFile;
}

/** Every PromQL expression shown on the dashboard, with where it comes from. */
export function dashboardExpressions(d: Dashboard): Array<{ where: string; expr: string }> {
  const fromPanels = allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}" target ${t.refId}`, expr: t.expr })),
  );
  const fromVariables = d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable ${v.name}`, expr: String(v.query) }));
  return [...fromPanels, ...fromVariables];
}

export function grafanaAlertExpressions(f: GrafanaAlertFile): Array<{ where: string; expr: string }> {
  return f.groups.flatMap((g) =>
    g.rules.flatMap((r) =>
      r.data
        .filter((q) => q.datasourceUid !== '__expr__')
        .map((q) => ({ where: `Grafana alert ${r.title} query ${q.refId}`, expr: String(q.model.expr) })),
    ),
  );
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'irate',
  'time',
  'histogram_quantile',
  'last_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'absent',
  'label_values',
  'vector',
  'scalar',
  'abs',
  'clamp_min',
  'topk',
  'bottomk',
  'le',
  'account',
  'currency',
  'severity',
  'code',
  'reason',
  'job',
  'instance',
  'version',
  'nodejs_version',
  'inf',
]);

/**
 * Metric names an expression selects: identifiers that are not PromQL keywords, functions or
 * label names, outside strings, label matchers, ranges and grouping lists.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()')
    .replace(/\$\w+/g, '')
    // Numbers and durations (`offset 15m`, `1e3`), but not digits inside a name.
    .replace(/(?<![\w:])\d[\w.]*/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    if (!PROMQL_WORDS.has(word.toLowerCase()) && !/^\d/.test(word)) names.add(word);
  }
  return [...names];
}

/** The metric family names of a text exposition (`# TYPE` lines and sample names). */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type?.[1] !== undefined) {
      names.add(type[1]);
      if (type[2] === 'histogram' || type[2] === 'summary') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${type[1]}${suffix}`);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{\s]/.exec(line);
    if (sample?.[1] !== undefined) names.add(sample[1]);
  }
  return names;
}
