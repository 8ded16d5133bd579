/**
 * The Grafana-managed alert rules (grafana/provisioning/alerting/zexa-alerts.yaml) are the
 * Prometheus rules (prometheus/alerts.yml), every one of them: same names, expressions, `for:`,
 * severities, summaries and runbook links (issue 10 §3). The parity check counts the rules of
 * alerts.yml as they are, so a rule added later fails it until `npm run generate` has run.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DATASOURCE_UID,
  GRAFANA_ALERTS_PATH,
  grafanaDescription,
  loadPrometheusRules,
  recordedSeries,
  renderGrafanaAlerts,
  RuleSourceError,
  type PromRule,
} from '../../scripts/generate-grafana-alerts.js';
import { loadGrafanaAlerts, readRepoFile, type GrafanaAlertFile } from './ops-files.js';

/** Every difference between the two rule sets, one line each; empty when they agree. */
function parityProblems(prom: PromRule[], grafana: GrafanaAlertFile): string[] {
  const problems: string[] = [];
  const grafanaRules = grafana.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, rule: r })));
  const byTitle = new Map(grafanaRules.map((x) => [x.rule.title, x]));
  for (const p of prom) {
    const g = byTitle.get(p.alert);
    if (g === undefined) {
      problems.push(`${p.alert}: in prometheus/alerts.yml, not in ${GRAFANA_ALERTS_PATH}`);
      continue;
    }
    const { rule } = g;
    const a = rule.data.find((q) => q.refId === 'A');
    if (a?.model.expr !== p.expr.trim()) problems.push(`${p.alert}: expression differs`);
    if (rule.for !== (p.for ?? '0s')) problems.push(`${p.alert}: for ${rule.for} instead of ${p.for ?? '0s'}`);
    if (JSON.stringify(rule.labels) !== JSON.stringify(p.labels))
      problems.push(`${p.alert}: labels ${JSON.stringify(rule.labels)} instead of ${JSON.stringify(p.labels)}`);
    if (rule.annotations.summary !== p.annotations.summary) problems.push(`${p.alert}: summary differs`);
    if (rule.annotations.runbook_url !== p.annotations.runbook_url) problems.push(`${p.alert}: runbook_url differs`);
    if (g.group !== p.group) problems.push(`${p.alert}: in group ${g.group} instead of ${p.group}`);
  }
  const promNames = new Set(prom.map((p) => p.alert));
  for (const { rule } of grafanaRules) {
    if (!promNames.has(rule.title))
      problems.push(`${rule.title}: in ${GRAFANA_ALERTS_PATH}, not in prometheus/alerts.yml`);
  }
  if (grafanaRules.length !== prom.length)
    problems.push(`${grafanaRules.length} Grafana rules for ${prom.length} Prometheus rules`);
  return problems;
}

const promRules = loadPrometheusRules();
const grafana = loadGrafanaAlerts();
const rules = grafana.groups.flatMap((g) => g.rules);

describe('Grafana-managed alert rules', () => {
  it('the committed file equals the generated one (run `npm run generate`)', () => {
    expect(readRepoFile(GRAFANA_ALERTS_PATH)).toBe(renderGrafanaAlerts());
  });

  it(`has every rule of prometheus/alerts.yml (${promRules.length}) with the same name, expression, for, labels, summary and runbook`, () => {
    expect(promRules.length).toBeGreaterThanOrEqual(7);
    expect(parityProblems(promRules, grafana)).toEqual([]);
    // Including the two that Grafana-only teams used to miss.
    expect(rules.map((r) => r.title)).toEqual(expect.arrayContaining(['ZexaApiKeyForbidden', 'ZexaExporterDown']));
  });

  it('the parity check catches a rule added to alerts.yml only, and a changed expression', () => {
    const added: PromRule = { ...promRules[0]!, alert: 'ZexaSomethingNew' };
    expect(parityProblems([...promRules, added], grafana)).toEqual([
      `ZexaSomethingNew: in prometheus/alerts.yml, not in ${GRAFANA_ALERTS_PATH}`,
      `${rules.length} Grafana rules for ${rules.length + 1} Prometheus rules`,
    ]);
    const changed = promRules.map((r, i) => (i === 0 ? { ...r, expr: `${r.expr} > 1`, for: '9m' } : r));
    expect(parityProblems(changed, grafana)).toEqual([
      `${promRules[0]!.alert}: expression differs`,
      `${promRules[0]!.alert}: for ${promRules[0]!.for ?? '0s'} instead of 9m`,
    ]);
  });

  it('uses the unified alerting file format, the provisioned data source, and no-data means OK', () => {
    expect(grafana.apiVersion).toBe(1);
    const uids = rules.map((r) => r.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const g of grafana.groups) expect(g).toMatchObject({ orgId: 1, folder: 'Zexa', interval: '1m' });
    for (const r of rules) {
      expect(r.uid).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(r.for).toMatch(/^(\d+[smh])+$/);
      expect(r.noDataState).toBe('OK');
      expect(r.execErrState).toBe('Error');
      expect(r.condition).toBe('C');
      const refIds = r.data.map((q) => q.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const q of r.data) {
        expect(q.model.refId).toBe(q.refId);
        expect([DATASOURCE_UID, '__expr__']).toContain(q.datasourceUid);
      }
      expect(r.data.find((q) => q.refId === 'C')?.model).toMatchObject({ type: 'math', expression: 'is_number($B)' });
    }
  });

  it('descriptions use only what Grafana templates have: no `query`, `$value` as $values.B.Value, a query per value', () => {
    for (const r of rules) {
      const d = r.annotations.description ?? '';
      expect(d, r.title).not.toMatch(/\|\s*query\b/);
      expect(d, r.title).not.toMatch(/\$value\b(?!s)/);
      for (const [, n] of d.matchAll(/\$values\.V(\d+)/g)) {
        expect(
          r.data.map((q) => q.refId),
          r.title,
        ).toEqual(expect.arrayContaining([`Q${n}`, `V${n}`]));
      }
    }
    const low = rules.find((r) => r.title === 'ZexaCreditsLow')!;
    expect(low.annotations.description).toContain(
      'has {{ printf "%.0f" $values.B.Value }} {{ $labels.currency }} credits left',
    );
    expect(low.annotations.description).toContain(
      'warning threshold of {{ if $values.V1.Labels }}{{ $values.V1.Value | printf "%.0f" }}{{ else }}(unknown){{ end }}',
    );
  });

  it('reads only series that alerts.yml records (Grafana-managed rules cannot record), and leaves the recording to Prometheus', () => {
    const recorded = recordedSeries();
    expect(recorded).toEqual(
      expect.arrayContaining([
        'account:zexa_credits_remaining:latest',
        'account:zexa_credits_threshold:max',
        'account:zexa_last_success_timestamp_seconds:max',
        'account:zexa_credits_consumption_rate:6h',
        'account:zexa_credits_consumption_rate:1h',
      ]),
    );
    const read = new Set(
      rules.flatMap((r) =>
        r.data.flatMap((q) => String(q.model.expr ?? '').match(/\baccount:[a-z_]+:[a-z0-9_]+/g) ?? []),
      ),
    );
    expect([...read].filter((name) => !recorded.includes(name))).toEqual([]);
    expect(read.size).toBeGreaterThanOrEqual(5);
    expect(rules.map((r) => r.title)).not.toEqual(expect.arrayContaining(recorded));
    expect(grafana.groups.map((g) => g.name)).not.toContain('zexa-recording');
    const text = readRepoFile(GRAFANA_ALERTS_PATH);
    expect(text.match(/# The account:\* series are recorded by Prometheus/g)).toHaveLength(
      rules.filter((r) => /\baccount:/.test(String(r.data[0]!.model.expr))).length,
    );
  });

  it('a description with a `query` that has no Grafana value query is refused with the rule named', () => {
    const rule: PromRule = {
      group: 'g',
      alert: 'ZexaApiKeyShared',
      expr: 'vector(1)',
      labels: { severity: 'warning' },
      annotations: {
        description: `{{ with printf "x{account='%s'}" $labels.account | query }}{{ . | first | value }}{{ else }}?{{ end }}`,
      },
    };
    expect(() => grafanaDescription(rule)).toThrow(RuleSourceError);
    expect(() => grafanaDescription(rule)).toThrow(
      /ZexaApiKeyShared: its description has 1 `query` template\(s\).*0 VALUE_QUERIES/,
    );
  });

  it('puts a comment next to every rule saying what differs from Prometheus and why', () => {
    const text = readRepoFile(GRAFANA_ALERTS_PATH);
    const comments = text.match(/# Generated from prometheus\/alerts.yml\. Query A is its expression verbatim/g) ?? [];
    expect(comments).toHaveLength(rules.length);
    expect(text).toContain('absent(up{job="zexa"}) returns a series');
    expect(parse(text)).toEqual(grafana);
  });
});
