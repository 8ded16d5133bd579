/**
 * End to end with the real programs on loopback (issue 3 §7): an exporter → Prometheus (scrape
 * and evaluation every second, the shipped prometheus.yml and rules with `for:` shortened) →
 * Alertmanager (the shipped routes, grouping and inhibition) → a webhook server in this test.
 *
 * The exporter is the real one (in-process, polling every second) against the built-in
 * simulator. A second exporter, whose clock runs 20 minutes behind, holds one account whose only
 * success is therefore 20 minutes old: that is how `ZexaCreditsStale` gets a series to fire on
 * without the test waiting 15 minutes. A third exporter holds a shared key and an old key file
 * (the key hygiene alerts); a fourth target, which closes every connection, is down. The dashboard's
 * and Grafana alerts' queries run live in test/ops/dashboard-live.test.ts.
 *
 * Notifications (issue 10 §4): an account's warnings share one notification, critical and
 * warning never do, and an account's critical alert mutes its warnings.
 *
 * A 20-minute exporter outage runs on a second stack whose rules run 60 times faster
 * (`compressRuleTime`: every duration and time constant divided by 60, so a minute of the rules
 * lasts a second and the 20 minutes take 20 s). Real time would need 20 minutes; a backfill
 * (promtool tsdb create-blocks-from) cannot show it either, because the outage bridge is
 * recorded by the running rules from their own previous evaluations, which a backfill does not
 * replay, and Alertmanager's notifications only follow live evaluations.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../support/external.js';
import {
  hasAlert,
  startDownTarget,
  startPrometheusStack,
  type PrometheusStack,
  type WebhookAlert,
} from '../support/prometheus-stack.js';
import type { RunningExporter } from '../../src/runtime/exporter.js';
import { startSimulator, type SimAccountSpec, type ZexaSimulator } from '../../src/simulator/index.js';
import { until } from '../support/exporter-harness.js';
import { exporterFor } from '../support/alerting-exporter.js';

function hostOf(url: string): string {
  return new URL(url).host;
}

const prometheus = requireProgram(['prometheus'], 'prometheus');
const alertmanager = requireProgram(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');

const ALERT_TIMEOUT_MS = 20_000;

describe.skipIf(prometheus.missing || alertmanager.missing)(
  'alerting end to end: rules → Prometheus → Alertmanager → webhook',
  () => {
    let sim: ZexaSimulator;
    let exporter: RunningExporter;
    let behind: RunningExporter;
    let keys: RunningExporter;
    const keyDir = mkdtempSync(join(tmpdir(), 'zexa-e2e-keys-'));
    let stack: PrometheusStack;
    let downTarget: Awaited<ReturnType<typeof startDownTarget>> | undefined;

    beforeAll(async () => {
      const accounts: SimAccountSpec[] = [
        { name: 'low', key: 'zx_e2e_low_1111', credits: 5000 },
        { name: 'crit', key: 'zx_e2e_crit_2222', credits: 5000 },
        { name: 'revoked', key: 'zx_e2e_revoked_3333', credits: 5000 },
        // Drains fast enough that the consumption rate (divided by at least 30 minutes) forecasts
        // < 72 h, slowly enough that it never reaches its thresholds while the test runs.
        { name: 'draining', key: 'zx_e2e_draining_4444', credits: 2_000_000, drainPerRequest: 200 },
        { name: 'healthy', key: 'zx_e2e_healthy_5555', credits: 50_000 },
        // Low from the start, then 403 as well: two warnings of one account.
        { name: 'twowarn', key: 'zx_e2e_twowarn_7777', credits: 500 },
      ];
      const stuck: SimAccountSpec = { name: 'stuck', key: 'zx_e2e_stuck_6666', credits: 3000 };
      // Key hygiene, on an exporter of its own: `twin` pastes `shared`'s key (ZexaApiKeyShared) and
      // `aged` reads a key file last changed 100 days ago (ZexaApiKeyRotationDue).
      const shared: SimAccountSpec = { name: 'shared', key: 'zx_e2e_shared_8888', credits: 50_000 };
      const aged: SimAccountSpec = { name: 'aged', key: 'zx_e2e_aged_9999', credits: 50_000 };
      const agedFile = join(keyDir, 'aged');
      writeFileSync(agedFile, aged.key);
      const hundredDaysAgo = Date.now() / 1000 - 100 * 86_400;
      utimesSync(agedFile, hundredDaysAgo, hundredDaysAgo);
      sim = await startSimulator({ accounts: [...accounts, stuck, shared, aged] });
      exporter = await exporterFor(sim, accounts, { thresholds: { draining: { warning: 10, critical: 5 } } });
      behind = await exporterFor(sim, [stuck], { clockOffsetMs: -20 * 60_000 });
      keys = await exporterFor(sim, [shared, { ...shared, name: 'twin' }], { keyFiles: { aged: agedFile } });
      // Its first poll succeeds (20 minutes ago, by its clock); every poll after that fails.
      await until(() => behind.store.get('stuck')?.up === true, 10_000, "the stuck account's first success");
      sim.setFault('stuck', { kind: 'server_error', status: 503 });
      downTarget = await startDownTarget();
      stack = await startPrometheusStack({
        // The last target is down (every scrape fails): ZexaExporterDown (and its Grafana twin) fire.
        targets: [hostOf(exporter.url), hostOf(behind.url), hostOf(keys.url), downTarget.host],
        prometheusBin: prometheus.path!,
        alertmanagerBin: alertmanager.path!,
        // setCredits drops a balance at once, which the consumption counter reads as thousands of
        // credits spent in a minute: a fast burn, whose page (promtool-tested) would mute the
        // account's warnings and with them the resolved Low these tests wait for.
        ruleForByAlert: { ZexaCreditsExhaustionImminent: '1h' },
      });
      await stack.waitForSeries('zexa_credits_remaining{account="healthy"}', 15_000);
    }, 60_000);

    afterAll(async () => {
      await stack?.close();
      await exporter?.close();
      await behind?.close();
      await keys?.close();
      await downTarget?.close();
      await sim?.close();
      rmSync(keyDir, { recursive: true, force: true });
    });

    it('an account driven below its warning threshold notifies ZexaCreditsLow to the warning receiver', async () => {
      sim.setCredits('low', 500);
      const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'firing'), ALERT_TIMEOUT_MS);
      expect(n.receiver).toBe('chat');
      expect(n.groupLabels).toEqual({ account: 'low' });
      const alert = n.alerts.find((a) => a.labels.alertname === 'ZexaCreditsLow')!;
      expect(alert.labels).toMatchObject({ severity: 'warning', account: 'low', currency: 'USD' });
      expect(alert.annotations.description).toContain('has 500 USD credits left');
      expect(alert.annotations.description).toContain('warning threshold of 1000 credits');
      expect(alert.annotations.runbook_url).toMatch(/docs\/runbook\.md#zexacreditslow$/);
    });

    it('below critical notifies ZexaCreditsCritical to the paging receiver, and never Low as well', async () => {
      sim.setCredits('crit', 50);
      const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsCritical', 'crit', 'firing'), ALERT_TIMEOUT_MS);
      expect(n.receiver).toBe('pager');
      expect(n.alerts.find((a) => a.labels.alertname === 'ZexaCreditsCritical')!.annotations.description).toContain(
        'has 50 USD credits left',
      );
      expect(stack.webhook.notifications.some(hasAlert('ZexaCreditsLow', 'crit', 'firing'))).toBe(false);
      const lowAlerts = await stack.query('ALERTS{alertname="ZexaCreditsLow",account="crit"}');
      expect(lowAlerts).toEqual([]);
    });

    it('a revoked key notifies ZexaApiKeyUnauthorized to the paging receiver', async () => {
      sim.revoke('revoked');
      const n = await stack.webhook.waitFor(hasAlert('ZexaApiKeyUnauthorized', 'revoked', 'firing'), ALERT_TIMEOUT_MS);
      expect(n.receiver).toBe('pager');
      expect(n.alerts.find((a) => a.labels.alertname === 'ZexaApiKeyUnauthorized')!.labels).toMatchObject({
        severity: 'critical',
        code: '401',
      });
    });

    it("an account's warnings share one notification; its critical pages alone and mutes its warnings", async () => {
      // Two warnings of one account: one chat notification lists both (grouped by account).
      await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'twowarn', 'firing'), ALERT_TIMEOUT_MS);
      sim.setForbidden('twowarn', true);
      const both = await stack.webhook.waitFor(
        (n) =>
          hasAlert('ZexaCreditsLow', 'twowarn', 'firing')(n) && hasAlert('ZexaApiKeyForbidden', 'twowarn', 'firing')(n),
        ALERT_TIMEOUT_MS,
      );
      expect(both.receiver).toBe('chat');
      expect(both.groupLabels).toEqual({ account: 'twowarn' });

      // A critical account that also gets a warning: the page carries the critical alert only, and
      // the warning is muted (inhibited) rather than sent to chat.
      await stack.webhook.waitFor(hasAlert('ZexaCreditsCritical', 'crit', 'firing'), ALERT_TIMEOUT_MS);
      sim.setForbidden('crit', true);
      await expect
        .poll(
          async () => {
            const filter = new URLSearchParams([
              ['filter', 'alertname="ZexaApiKeyForbidden"'],
              ['filter', 'account="crit"'],
            ]);
            const res = await fetch(`${stack.alertmanagerUrl}/api/v2/alerts?${filter}`);
            const alerts = (await res.json()) as Array<{ status: { state: string; inhibitedBy: string[] } }>;
            return alerts.map((a) => ({ state: a.status.state, inhibited: a.status.inhibitedBy.length > 0 }));
          },
          { timeout: ALERT_TIMEOUT_MS, interval: 250 },
        )
        .toEqual([{ state: 'suppressed', inhibited: true }]);
      const forCrit = stack.webhook.notifications.filter((n) => n.groupLabels.account === 'crit');
      // Named in the message: each notification's receiver and its alerts, so a failure says which
      // warning reached chat and whether the critical alert had resolved in between.
      const described = forCrit.map(
        (n) => `${n.receiver}: ${n.alerts.map((a) => `${a.labels.alertname} ${a.status}`).join(', ')}`,
      );
      expect(
        forCrit.map((n) => n.receiver),
        described.join('; '),
      ).toEqual(forCrit.map(() => 'pager'));
      for (const n of forCrit) expect(n.alerts.map((a) => a.labels.severity)).toEqual(n.alerts.map(() => 'critical'));
      for (const n of stack.webhook.notifications) {
        expect(
          new Set(n.alerts.map((a) => a.labels.severity)).size,
          `one severity per notification: ${JSON.stringify(n.groupLabels)}`,
        ).toBe(1);
      }
    });

    it('a top-up resolves ZexaCreditsLow with a resolved notification', async () => {
      await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'firing'), ALERT_TIMEOUT_MS);
      sim.topUp('low', 10_000);
      const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'resolved'), ALERT_TIMEOUT_MS);
      expect(n.receiver).toBe('chat');
      expect(n.alerts.find((a) => a.labels.alertname === 'ZexaCreditsLow')!.status).toBe('resolved');
    });

    it('a healthy account never alerts', () => {
      expect(
        stack.webhook.notifications.flatMap((n) => n.alerts).filter((a) => a.labels.account === 'healthy'),
      ).toEqual([]);
    });
  },
);

describe.skipIf(prometheus.missing || alertmanager.missing)(
  'a 20-minute exporter outage, the rules at 60 times speed',
  () => {
    /** Seconds of the test per minute of the rules (`compressRuleTime(…, 60)`). */
    const MINUTE_S = 1;
    const accounts: SimAccountSpec[] = [
      { name: 'low', key: 'zx_outage_low_1111', credits: 500 },
      { name: 'crit', key: 'zx_outage_crit_2222', credits: 50 },
    ];
    const FIRING = [
      { alertname: 'ZexaCreditsLow', account: 'low' },
      { alertname: 'ZexaCreditsCritical', account: 'crit' },
    ] as const;
    let sim: ZexaSimulator;
    let first: RunningExporter | undefined;
    let second: RunningExporter | undefined;
    let stack: PrometheusStack;

    beforeAll(async () => {
      sim = await startSimulator({ accounts });
      first = await exporterFor(sim, accounts);
      stack = await startPrometheusStack({
        targets: [hostOf(first.url)],
        prometheusBin: prometheus.path!,
        alertmanagerBin: alertmanager.path!,
        fileSd: true,
        timeScale: 60,
      });
      await stack.waitForSeries('zexa_credits_remaining{account="low"}', 15_000);
    }, 60_000);

    afterAll(async () => {
      await stack?.close();
      await first?.close();
      await second?.close();
      await sim?.close();
    });

    it('keeps Low and Critical firing with no "resolved"; ZexaExporterDown and ZexaCreditsStale say the data is old', async () => {
      for (const { alertname, account } of FIRING)
        await stack.webhook.waitFor(hasAlert(alertname, account, 'firing'), ALERT_TIMEOUT_MS);
      const activeSince = async (): Promise<Record<string, string>> => {
        const series = await stack.query('ALERTS_FOR_STATE{alertname=~"ZexaCreditsLow|ZexaCreditsCritical"}');
        return Object.fromEntries(series.map((s) => [`${s.metric.alertname}/${s.metric.account}`, s.value[1]]));
      };
      const before = await activeSince();
      expect(Object.keys(before).sort()).toEqual(FIRING.map((f) => `${f.alertname}/${f.account}`).sort());
      const stillFiring = async (after: number): Promise<void> => {
        for (const { alertname, account } of FIRING) {
          await stack.waitForSeries(
            `timestamp(ALERTS{alertname="${alertname}",account="${account}",alertstate="firing"}) > ${after}`,
            ALERT_TIMEOUT_MS + 30_000,
          );
        }
      };

      // The exporter stops; its target stays in discovery (down), as a crashed pod's would.
      await first!.close();
      const [stopped] = await stack.query('vector(time())');
      const stoppedAt = Number(stopped!.value[1]);
      const isExporterDown = (n: { alerts: WebhookAlert[] }) =>
        n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === 'ZexaExporterDown');
      await stack.webhook.waitFor(isExporterDown, ALERT_TIMEOUT_MS);
      await stack.webhook.waitFor(
        hasAlert('ZexaCreditsStale', 'low', 'firing'),
        ALERT_TIMEOUT_MS + 15 * MINUTE_S * 1000,
      );
      // Still firing 20 minutes (of the rules) into the outage.
      await stillFiring(stoppedAt + 20 * MINUTE_S);

      // It comes back as a new pod on another address; the alerts go on, active since before.
      second = await exporterFor(sim, accounts);
      await stack.setTargets([hostOf(second.url)]);
      await stack.waitForSeries(
        `zexa_credits_remaining{account="low",instance="${hostOf(second.url)}"}`,
        ALERT_TIMEOUT_MS,
      );
      const [back] = await stack.query('vector(time())');
      await stillFiring(Number(back!.value[1]) + 5 * MINUTE_S);
      // Newer data says the account is fresh again: ZexaCreditsStale resolves.
      await stack.webhook.waitFor(hasAlert('ZexaCreditsStale', 'low', 'resolved'), ALERT_TIMEOUT_MS);

      expect(await activeSince()).toEqual(before);
      const received = stack.webhook.notifications.flatMap((n) => n.alerts);
      for (const { alertname, account } of FIRING) {
        const mine = received.filter((a) => a.labels.alertname === alertname && a.labels.account === account);
        expect(
          mine.filter((a) => a.status === 'resolved'),
          `${alertname} for ${account} never resolved`,
        ).toEqual([]);
        expect(new Set(mine.map((a) => a.startsAt)).size, `${alertname} for ${account} started once`).toBe(1);
      }
    }, 240_000);
  },
);
