/**
 * The Grafana files: the committed dashboard and alert rules equal what
 * scripts/generate-dashboard.ts produces; the dashboard works imported and provisioned; panels
 * fit the grid; only metrics the exporter exports are used; the provisioning files agree with
 * each other.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DASHBOARD_PATH,
  DATASOURCE_UID,
  GRAFANA_ALERTS,
  GRAFANA_ALERTS_PATH,
  loadPrometheusRules,
  renderDashboard,
  renderGrafanaAlerts,
} from '../../scripts/generate-dashboard.js';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import {
  allPanels,
  dashboardExpressions,
  exposedNames,
  grafanaAlertExpressions,
  loadDashboard,
  loadGrafanaAlerts,
  metricNames,
  readRepoFile,
} from './ops-files.js';

const GOLDEN = 'test/golden/metrics.prom';

describe('generated Grafana files', () => {
  it('the committed dashboard and alert rules equal the generated ones (run `npx tsx scripts/generate-dashboard.ts`)', () => {
    expect(readRepoFile(DASHBOARD_PATH)).toBe(renderDashboard());
    expect(readRepoFile(GRAFANA_ALERTS_PATH)).toBe(renderGrafanaAlerts());
  });
});

describe('dashboard', () => {
  const d = loadDashboard();
  const panels = allPanels(d);

  it('has a datasource variable and no __inputs, so it imports and provisions alike', () => {
    expect(d.__inputs).toBeUndefined();
    expect(JSON.stringify(d)).not.toContain('DS_PROMETHEUS');
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
  });

  it('has a multi-select account variable with All', () => {
    const account = d.templating.list.find((v) => v.name === 'account');
    expect(account).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { type: 'prometheus', uid: '${datasource}' } });
  });

  it('has unique panel ids', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
  });

  it('keeps every panel inside 24 grid columns, without overlap', () => {
    for (const p of d.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, `panel ${p.id} ${JSON.stringify(p.gridPos)}`).toBe(true);
    }
    for (const [i, a] of d.panels.entries()) {
      for (const b of d.panels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
  });

  it('puts every panel and every target on the datasource variable', () => {
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, `panel ${p.id}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, `panel ${p.id} has targets`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource, `panel ${p.id} target ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('has the panels the issue asks for', () => {
    const text = JSON.stringify(panels.map((p) => [p.type, p.title, p.targets?.map((t) => t.expr)]));
    for (const needle of [
      'zexa_credits_remaining',
      'zexa_credits_threshold',
      'zexa_credits_consumed_total',
      'zexa_auth_errors_total',
      'zexa_up',
      'zexa_last_success_timestamp_seconds',
      'zexa_api_requests_total',
      'zexa_api_request_duration_seconds_bucket',
      'zexa_exporter_build_info',
    ]) {
      expect(text).toContain(needle);
    }
    expect(panels.find((p) => p.title === 'Balance per account')?.type).toBe('stat');
  });

  it(`names only metrics that the exporter exports (${GOLDEN}), plus up`, () => {
    const goldenPath = join(REPO_ROOT, GOLDEN);
    if (!existsSync(goldenPath)) {
      throw new Error(`${GOLDEN} does not exist: the exporter's golden /metrics output is needed to check the dashboard's metric names`);
    }
    const exported = exposedNames(readRepoFile(GOLDEN));
    exported.add('up');
    const used = [...dashboardExpressions(d), ...grafanaAlertExpressions(loadGrafanaAlerts())];
    for (const rule of loadPrometheusRules().values()) used.push({ where: `rule ${rule.alert}`, expr: rule.expr });
    const unknown = used.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !exported.has(n)).map((n) => `${where}: ${n}`));
    expect(unknown).toEqual([]);
  });
});

describe('metricNames (used by the check above)', () => {
  it('finds selectors and skips functions, keywords, labels and strings', () => {
    expect(metricNames('sum by (account, code) (increase(zexa_auth_errors_total{account=~"$account"}[$__rate_interval]))')).toEqual(['zexa_auth_errors_total']);
    expect(metricNames('a / on(account) group_left() (rate(b[6h]) > 0) < 72 * 3600')).toEqual(['a', 'b']);
    expect(metricNames('up{job="zexa"} == 0 or absent(up{job="zexa"})')).toEqual(['up']);
    expect(metricNames('max_over_time(zexa_up[15m]) == 0 and on(account) zexa_up offset 15m')).toEqual(['zexa_up']);
    expect(metricNames('k8s_metric * 1e3')).toEqual(['k8s_metric']);
  });
});

describe('Grafana provisioning', () => {
  const alerts = loadGrafanaAlerts();
  const rules = alerts.groups.flatMap((g) => g.rules);
  const promRules = loadPrometheusRules();

  it('uses the unified alerting file format', () => {
    expect(alerts.apiVersion).toBe(1);
    for (const g of alerts.groups) {
      expect(g).toMatchObject({ orgId: 1, name: expect.any(String), folder: expect.any(String), interval: expect.stringMatching(/^\d+[smh]$/) });
    }
    const uids = rules.map((r) => r.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const r of rules) {
      expect(r.title).toBeTruthy();
      expect(r.for).toMatch(/^\d+[smh]$/);
      expect(['NoData', 'Alerting', 'OK']).toContain(r.noDataState);
      expect(['Error', 'Alerting', 'OK']).toContain(r.execErrState);
      expect(r.data.map((q) => q.refId)).toContain(r.condition);
      for (const q of r.data) {
        expect(q.model.refId).toBe(q.refId);
        expect(q.relativeTimeRange).toEqual({ from: expect.any(Number), to: expect.any(Number) });
        expect([DATASOURCE_UID, '__expr__']).toContain(q.datasourceUid);
      }
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.runbook_url).toMatch(/README\.md#zexa/);
    }
  });

  it('has Low, Critical, ExhaustionForecast, Unauthorized and Stale with the Prometheus expressions, durations and severities', () => {
    expect(rules.map((r) => r.title).sort()).toEqual(
      ['ZexaApiKeyUnauthorized', 'ZexaCreditsCritical', 'ZexaCreditsExhaustionForecast', 'ZexaCreditsLow', 'ZexaCreditsStale'],
    );
    expect(GRAFANA_ALERTS.length).toBe(rules.length);
    for (const r of rules) {
      const p = promRules.get(r.title)!;
      expect(r.data.find((q) => q.refId === 'A')?.model.expr).toBe(p.expr.trim());
      expect(r.for).toBe(p.for ?? '0s');
      expect(r.labels.severity).toBe(p.labels.severity);
    }
  });

  it('queries the provisioned data source by its fixed uid', () => {
    const ds = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yaml')) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: DATASOURCE_UID, type: 'prometheus', url: 'http://prometheus:9090' })]);
  });

  it('provisions dashboards from a file provider', () => {
    const p = parse(readRepoFile('grafana/provisioning/dashboards/zexa.yaml')) as {
      apiVersion: number;
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(p.apiVersion).toBe(1);
    expect(p.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: expect.any(String) }) })]);
  });
});
