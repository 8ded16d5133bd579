/**
 * The many-keys docs (docs/polling.md, "Series per account") show a `metric_relabel_configs`
 * that drops the key-hygiene families at scrape time. This runs exactly that relabelling (read
 * from the docs) in a real Prometheus with the shipped rules, against the real exporter, and
 * checks that it drops what it says and leaves the balance alerts evaluating: an account below
 * its warning threshold still notifies ZexaCreditsLow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunningExporter } from '../../src/runtime/exporter.js';
import { exporterFor } from '../support/alerting-exporter.js';
import { startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { requireProgram } from '../support/external.js';
import { hasAlert, REPO_ROOT, startPrometheusStack, type PrometheusStack } from '../support/prometheus-stack.js';

/** The YAML block of docs/polling.md that holds `metric_relabel_configs`, as Prometheus would read it. */
function documentedRelabelling(): Record<string, unknown>[] {
  const docs = readFileSync(join(REPO_ROOT, 'docs/polling.md'), 'utf8');
  const block = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .find((b) => b.includes('metric_relabel_configs'));
  if (block === undefined) throw new Error('docs/polling.md shows no metric_relabel_configs');
  const config = parse(block) as {
    scrape_configs: { job_name: string; metric_relabel_configs: Record<string, unknown>[] }[];
  };
  const job = config.scrape_configs.find((j) => j.job_name === 'zexa');
  if (job === undefined) throw new Error('the documented relabelling is not for the zexa job');
  return job.metric_relabel_configs;
}

const prometheus = requireProgram(['prometheus'], 'prometheus');
const alertmanager = requireProgram(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');

describe.skipIf(prometheus.missing || alertmanager.missing)(
  'the documented key-hygiene relabelling in a real Prometheus',
  () => {
    let sim: ZexaSimulator;
    let exporter: RunningExporter;
    let stack: PrometheusStack;

    beforeAll(async () => {
      const accounts = [
        { name: 'low', key: 'zx_relabel_low_1111', credits: 50_000 },
        { name: 'healthy', key: 'zx_relabel_healthy_2222', credits: 50_000 },
      ];
      sim = await startSimulator({ accounts });
      exporter = await exporterFor(sim, accounts);
      stack = await startPrometheusStack({
        targets: [new URL(exporter.url).host],
        prometheusBin: prometheus.path!,
        alertmanagerBin: alertmanager.path!,
        metricRelabelConfigs: documentedRelabelling(),
        // setCredits drops the balance at once, which reads as a fast burn whose page would mute the warning.
        ruleForByAlert: { ZexaCreditsExhaustionImminent: '1h' },
      });
      await stack.waitForSeries('zexa_credits_remaining{account="healthy"}', 15_000);
    }, 60_000);

    afterAll(async () => {
      await stack?.close();
      await exporter?.close();
      await sim?.close();
    });

    it('drops the three key-hygiene families and nothing else of the account', async () => {
      // The exporter serves them; Prometheus stores none of them.
      const text = await (await fetch(`${exporter.url}/metrics`)).text();
      expect(text).toMatch(/^zexa_api_key_info\{/m);
      expect(text).toMatch(/^zexa_api_key_shared\{/m);
      expect(text).toMatch(/^zexa_api_key_last_change_timestamp_seconds\{/m);
      await stack.waitForSeries('zexa_up{account="low"}', 15_000);
      expect(await stack.query('{__name__=~"zexa_api_key_.*"}')).toEqual([]);
      const kept = await stack.query('count by (__name__) ({__name__=~"zexa_.*", account="low"})');
      expect(kept.map((s) => s.metric.__name__).sort()).toEqual(
        [
          'zexa_auth_errors_total',
          'zexa_credits_added_total',
          'zexa_credits_consumed_total',
          'zexa_credits_remaining',
          'zexa_credits_threshold',
          'zexa_last_success_timestamp_seconds',
          'zexa_up',
        ].sort(),
      );
    });

    it('the balance alerts still evaluate: an account below its warning threshold notifies ZexaCreditsLow', async () => {
      sim.setCredits('low', 500);
      const n = await stack.webhook.waitFor(hasAlert('ZexaCreditsLow', 'low', 'firing'), 20_000);
      expect(n.receiver).toBe('chat');
      // The rule groups evaluated without error under the relabelling.
      const rules = (await (await fetch(`${stack.prometheusUrl}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string }[] }[] };
      };
      const unhealthy = rules.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok');
      expect(unhealthy).toEqual([]);
    });
  },
);
