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
import { DASHBOARD_PATH, RECORDED, renderDashboard, TOP_N_DEFAULT } from '../../scripts/generate-dashboard.js';
import { DATASOURCE_UID, loadPrometheusRules } from '../../scripts/generate-grafana-alerts.js';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import {
  allPanels,
  type Dashboard,
  type DashboardPanel,
  dashboardExpressions,
  exposedNames,
  grafanaAlertExpressions,
  loadDashboard,
  loadGrafanaAlerts,
  metricNames,
  readRepoFile,
  recordedNames,
} from './ops-files.js';

const GOLDEN = 'test/golden/metrics.prom';

describe('generated Grafana files', () => {
  it('the committed dashboard equals the generated one (run `npm run generate`)', () => {
    expect(readRepoFile(DASHBOARD_PATH)).toBe(renderDashboard());
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

  it('has a single-valued account variable that is never All, so the account row shows one account', () => {
    const account = d.templating.list.find((v) => v.name === 'account');
    expect(account).toMatchObject({
      type: 'query',
      multi: false,
      includeAll: false,
      datasource: { type: 'prometheus', uid: '${datasource}' },
    });
    expect(account?.allValue).toBeUndefined();
    // No current value: Grafana selects the first account of the list, never All.
    expect(JSON.stringify(account?.current ?? {})).not.toContain('$__all');
  });

  it(`has a fixed list for $N, default ${TOP_N_DEFAULT}, at most 50`, () => {
    const n = d.templating.list.find((v) => v.name === 'N');
    expect(n).toMatchObject({
      type: 'custom',
      multi: false,
      includeAll: false,
      allowCustomValue: false,
      current: { value: String(TOP_N_DEFAULT) },
    });
    const choices = String(n?.query).split(',').map(Number);
    expect(choices).toContain(TOP_N_DEFAULT);
    expect(Math.max(...choices)).toBeLessThanOrEqual(50);
  });

  it('opens on the fleet overview: per-account panels sit in a row collapsed by default', () => {
    const rows = d.panels.filter((p) => p.type === 'row') as Array<DashboardPanel & { collapsed?: boolean }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ collapsed: true, title: 'Account: $account' });
    // Everything outside the row is about the fleet; everything about one account is inside it.
    for (const p of d.panels.filter((x) => x.type !== 'row'))
      expect(JSON.stringify(p.targets), `overview panel ${p.title}`).not.toContain('$account');
    for (const p of rows[0]!.panels ?? []) {
      for (const t of p.targets ?? []) expect(t.expr, `${p.title} ${t.refId}`).toContain('account="$account"');
    }
  });

  it("links each account of the overview's tables to its row, with the account filled in", () => {
    const tables = d.panels.filter((p) => p.type === 'table' && JSON.stringify(p.targets).includes('$N'));
    expect(tables.map((p) => p.title).sort()).toEqual(['Least credits left', 'Soonest to run out']);
    for (const p of tables) {
      const links = JSON.stringify((p as DashboardPanel & { fieldConfig?: unknown }).fieldConfig);
      expect(links, p.title).toContain('var-account=${__value.raw}');
      expect(links, p.title).toContain(`/d/${d.uid}/`);
    }
  });

  it('has unique panel ids', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
  });

  it('keeps every panel inside 24 grid columns, without overlap (also inside the collapsed row)', () => {
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, `panel ${p.id} ${JSON.stringify(p.gridPos)}`).toBe(
        true,
      );
    }
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
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
      for (const t of p.targets ?? [])
        expect(t.datasource, `panel ${p.id} target ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('has the panels the issue asks for', () => {
    const text = JSON.stringify(panels.map((p) => [p.type, p.title, p.targets?.map((t) => t.expr)]));
    for (const needle of [
      ...Object.values(RECORDED),
      'ALERTS{alertname=\\"ZexaCreditsLow\\"',
      'ALERTS{alertname=\\"ZexaCreditsCritical\\"',
      'ALERTS{alertname=\\"ZexaCreditsExhaustionForecast\\"',
      'ALERTS{alertname=\\"ZexaApiKeyUnauthorized\\"',
      'ALERTS{alertname=\\"ZexaApiKeyForbidden\\"',
      'ALERTS{alertname=\\"ZexaCreditsStale\\"',
      'bottomk($N, ',
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
    expect(panels.find((p) => p.title === 'Accounts by state')?.type).toBe('stat');
  });

  it(`names only metrics that the exporter exports (${GOLDEN}), up, ALERTS and the series prometheus/alerts.yml records`, () => {
    const goldenPath = join(REPO_ROOT, GOLDEN);
    if (!existsSync(goldenPath)) {
      throw new Error(
        `${GOLDEN} does not exist: the exporter's golden /metrics output is needed to check the dashboard's metric names`,
      );
    }
    const exported = exposedNames(readRepoFile(GOLDEN));
    exported.add('up');
    exported.add('ALERTS');
    for (const name of recordedNames()) exported.add(name);
    const used = [...dashboardExpressions(d), ...grafanaAlertExpressions(loadGrafanaAlerts())];
    for (const rule of loadPrometheusRules()) used.push({ where: `rule ${rule.alert}`, expr: rule.expr });
    const unknown = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });
});

/**
 * The newest dashboard schema each Grafana release knows: the dashboard must not be newer than
 * the Grafana that docker-compose.yml runs. 41 arrived in Grafana 11.6 (grafana/grafana#100135).
 */
const GRAFANA_SCHEMA: Record<string, number> = { '11.6': 41 };
const SDK = '@grafana/grafana-foundation-sdk';

describe("the dashboard's Grafana version (scripts/generate-dashboard.ts builds it with the SDK)", () => {
  it('has a schemaVersion that the Grafana of docker-compose.yml knows', () => {
    const grafana = /image:\s*grafana\/grafana(?:-oss)?:(\d+\.\d+)/.exec(readRepoFile('docker-compose.yml'))?.[1];
    expect(grafana, 'docker-compose.yml runs no grafana/grafana-oss image').toBeDefined();
    const known = GRAFANA_SCHEMA[grafana!];
    expect(known, `no schema version recorded for Grafana ${grafana}: add it to GRAFANA_SCHEMA`).toBeDefined();
    const { schemaVersion } = loadDashboard() as Dashboard & { schemaVersion?: number };
    expect(schemaVersion, `the dashboard's schemaVersion, from the ${SDK} version in package.json`).toBeLessThanOrEqual(
      known!,
    );
  });

  it(`pins ${SDK} to one exact version, as a devDependency only`, () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    expect(pkg.dependencies?.[SDK]).toBeUndefined();
    // Each version decides the schemaVersion and the defaults written, so a range would let
    // `npm install` change the dashboard.
    expect(pkg.devDependencies?.[SDK]).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
  });
});

describe('dashboard and rules agree under rollouts, HA pairs and shards, at fleet size', () => {
  const d = loadDashboard();
  const exprs = dashboardExpressions(d).filter(({ where }) => !where.startsWith('variable'));
  // Raw exporter series only: not the recorded `account:…:…` series, which hold one series per account already.
  const perAccount =
    /(?<![\w:])zexa_(credits_remaining|credits_threshold|credits_consumed_total|up|last_success_timestamp_seconds|auth_errors_total|poll_errors_total|api_key_info|api_key_last_change_timestamp_seconds)\b(?!:)/;

  it('aggregates every raw per-account query, so a second exporter of an account adds no series', () => {
    const raw = exprs
      .filter(({ expr }) => perAccount.test(expr))
      .filter(({ expr }) => !/^(time\(\) - )?(min|max|sum|count) by \(/.test(expr));
    expect(raw).toEqual([]);
  });

  it('reads balance, thresholds, last success and consumption from the series the rules record (one definition)', () => {
    const text = exprs.map((e) => e.expr).join('\n');
    for (const raw of ['zexa_credits_remaining', 'zexa_credits_threshold', 'zexa_last_success_timestamp_seconds']) {
      expect(text, `${raw} is read from its recorded series`).not.toMatch(new RegExp(`(^|[^:])${raw}\\b`));
    }
    // No window of hours over raw series: the 6 h and 1 h rates are recorded every 5 minutes.
    expect(text).not.toMatch(/\[\d+h(:\d+m)?\]/);
    const recorded = recordedNames();
    const used = [...new Set([...text.matchAll(/\baccount:[\w:]+/g)].map((m) => m[0]))].sort();
    expect(used).toEqual(Object.values(RECORDED).sort());
    expect(
      used.filter((name) => !recorded.has(name)),
      'recorded series the dashboard reads that prometheus/alerts.yml does not record',
    ).toEqual([]);
  });

  it('bounds every overview target whatever the fleet size: a count, a sum without account, or bottomk/topk($N)', () => {
    const overview = d.panels
      .filter((p) => p.type !== 'row')
      .flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: t.expr })));
    const unbounded = overview.filter(({ expr }) => {
      if (!perAccount.test(expr) && !/\baccount:/.test(expr)) return false;
      if (/^(bottomk|topk)\(\$N, /.test(expr)) return false;
      // Otherwise the outermost operation must aggregate, and not by account.
      const outer = /^(?:count|sum|min|max)(?: by \(([^)]*)\))? ?\(/.exec(expr);
      return (
        outer === null ||
        (outer[1] ?? '')
          .split(',')
          .map((l) => l.trim())
          .includes('account')
      );
    });
    expect(unbounded).toEqual([]);
  });
});

describe('metricNames (used by the check above)', () => {
  it('finds selectors and skips functions, keywords, labels and strings', () => {
    expect(
      metricNames('sum by (account, code) (increase(zexa_auth_errors_total{account=~"$account"}[$__rate_interval]))'),
    ).toEqual(['zexa_auth_errors_total']);
    expect(metricNames('a / on(account) group_left() (rate(b[6h]) > 0) < 72 * 3600')).toEqual(['a', 'b']);
    expect(metricNames('up{job="zexa"} == 0 or absent(up{job="zexa"})')).toEqual(['up']);
    expect(metricNames('max_over_time(zexa_up[15m]) == 0 and on(account) zexa_up offset 15m')).toEqual(['zexa_up']);
    expect(metricNames('k8s_metric * 1e3')).toEqual(['k8s_metric']);
  });
});

describe('Grafana provisioning', () => {
  it('queries the provisioned data source by its fixed uid', () => {
    const ds = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yaml')) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual([
      expect.objectContaining({ uid: DATASOURCE_UID, type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
  });

  it('provisions dashboards from a file provider', () => {
    const p = parse(readRepoFile('grafana/provisioning/dashboards/zexa.yaml')) as {
      apiVersion: number;
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(p.apiVersion).toBe(1);
    expect(p.providers).toEqual([
      expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: expect.any(String) }) }),
    ]);
  });
});
