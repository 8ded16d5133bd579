/**
 * End to end with the real programs on loopback (issue 3 §7): an exporter → Prometheus (scrape
 * and evaluation every second, the shipped prometheus.yml and rules with `for:` shortened) →
 * Alertmanager (the shipped routes, grouping and inhibition) → a webhook server in this test.
 *
 * The exporter here is a stand-in that serves the metric contract from values the test sets
 * (./stand-in-exporter.ts); every value it serves is one the real exporter serves in the same
 * situation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../helpers/external.js';
import { hasAlert, startPrometheusStack, type PrometheusStack } from '../helpers/prometheus-stack.js';
import {
  dashboardExpressions,
  grafanaAlertExpressions,
  loadDashboard,
  loadGrafanaAlerts,
  substituteGrafanaVariables,
} from './ops-files.js';
import { startStandInExporter, type StandInExporter } from './stand-in-exporter.js';

const prometheus = requireProgram(['prometheus'], 'prometheus');
const alertmanager = requireProgram(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');

const ALERT_TIMEOUT_MS = 20_000;

describe.skipIf(prometheus.missing || alertmanager.missing)('alerting end to end: rules → Prometheus → Alertmanager → webhook', () => {
  let exporter: StandInExporter;
  let stack: PrometheusStack;

  beforeAll(async () => {
    exporter = await startStandInExporter({
      low: { credits: 5000 },
      crit: { credits: 5000 },
      revoked: { credits: 5000 },
      // Drains fast enough that the 6 h consumption rate, young as it is, forecasts < 72 h.
      draining: { credits: 20_000, drainPerPoll: 200, warning: 10, critical: 5 },
      // Last success 20 minutes ago, failing since: stale.
      stuck: { credits: 3000, failing: true, lastSuccess: Date.now() / 1000 - 1200 },
      healthy: { credits: 50_000 },
    });
    stack = await startPrometheusStack({
      targets: [exporter.target],
      prometheusBin: prometheus.path!,
      alertmanagerBin: alertmanager.path!,
    });
    await stack.waitForSeries('zexa_credits_remaining{account="healthy"}', 15_000);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await exporter?.close();
  });

  it('an account driven below its warning threshold notifies ZexaCreditsLow to the warning receiver', async () => {
    exporter.setCredits('low', 500);
    const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'firing'), ALERT_TIMEOUT_MS);
    expect(n.receiver).toBe('chat');
    expect(n.groupLabels).toEqual({ account: 'low' });
    const alert = n.alerts.find((a) => a.labels.alertname === 'ZexaCreditsLow')!;
    expect(alert.labels).toMatchObject({ severity: 'warning', account: 'low', currency: 'USD' });
    expect(alert.annotations.description).toContain('has 500 USD credits left');
    expect(alert.annotations.description).toContain('warning threshold of 1000 credits');
    expect(alert.annotations.runbook_url).toMatch(/README\.md#zexacreditslow$/);
  });

  it('below critical notifies ZexaCreditsCritical to the paging receiver, and never Low as well', async () => {
    exporter.setCredits('crit', 50);
    const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsCritical', 'crit', 'firing'), ALERT_TIMEOUT_MS);
    expect(n.receiver).toBe('pager');
    expect(n.alerts.find((a) => a.labels.alertname === 'ZexaCreditsCritical')!.annotations.description).toContain('has 50 USD credits left');
    expect(stack.webhook.notifications.some(hasAlert('ZexaCreditsLow', 'crit', 'firing'))).toBe(false);
    const lowAlerts = await stack.query('ALERTS{alertname="ZexaCreditsLow",account="crit"}');
    expect(lowAlerts).toEqual([]);
  });

  it('a revoked key notifies ZexaApiKeyUnauthorized to the paging receiver', async () => {
    exporter.revoke('revoked');
    const n = await stack.webhook.waitFor(hasAlert('ZexaApiKeyUnauthorized', 'revoked', 'firing'), ALERT_TIMEOUT_MS);
    expect(n.receiver).toBe('pager');
    expect(n.alerts.find((a) => a.labels.alertname === 'ZexaApiKeyUnauthorized')!.labels).toMatchObject({ severity: 'critical', code: '401' });
  });

  it('every dashboard and Grafana-alert expression succeeds and returns series', async () => {
    const expressions = [...dashboardExpressions(loadDashboard()), ...grafanaAlertExpressions(loadGrafanaAlerts())];
    expect(expressions.length).toBeGreaterThan(15);
    for (const { where, expr } of expressions) {
      const promql = substituteGrafanaVariables(expr);
      const result = await stack.waitForSeries(promql, 15_000).catch((err: Error) => {
        throw new Error(`${where}: ${err.message}`);
      });
      expect(result.length, where).toBeGreaterThan(0);
    }
  });

  it('a top-up resolves ZexaCreditsLow with a resolved notification', async () => {
    await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'firing'), ALERT_TIMEOUT_MS);
    exporter.topUp('low', 10_000);
    const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'resolved'), ALERT_TIMEOUT_MS);
    expect(n.receiver).toBe('chat');
    expect(n.alerts.find((a) => a.labels.alertname === 'ZexaCreditsLow')!.status).toBe('resolved');
  });

  it('a healthy account never alerts', () => {
    expect(stack.webhook.notifications.flatMap((n) => n.alerts).filter((a) => a.labels.account === 'healthy')).toEqual([]);
  });
});
