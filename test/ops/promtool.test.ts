/**
 * The shipped Prometheus and Alertmanager files pass the programs' own checks, and the alert
 * rules pass their unit tests (prometheus/alerts.test.yml).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireProgram } from '../support/external.js';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import { readRepoFile } from './ops-files.js';

const promtool = requireProgram(['promtool'], 'prometheus');
const amtool = requireProgram(['amtool', 'prometheus-alertmanager-amtool'], 'prometheus-alertmanager');

function run(bin: string, args: string[], cwd = REPO_ROOT): string {
  try {
    return execFileSync(bin, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${bin} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

const PROMTOOL_TEST_MS = 240_000;

/**
 * promtool's report of the unit tests `testsText` (prometheus/alerts.test.yml unless given) run
 * against `rulesText` instead of the shipped rules ('' when all pass).
 */
function unitTestFailures(rulesText: string, testsText = readRepoFile('prometheus/alerts.test.yml')): string {
  const dir = mkdtempSync(join(tmpdir(), 'zexa-rules-'));
  try {
    writeFileSync(join(dir, 'alerts.yml'), rulesText);
    writeFileSync(join(dir, 'alerts.test.yml'), testsText);
    run(promtool.path!, ['test', 'rules', 'alerts.test.yml'], dir);
    return '';
  } catch (err) {
    return (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ALERTS = [
  'ZexaCreditsLow',
  'ZexaCreditsCritical',
  'ZexaCreditsExhaustionForecast',
  'ZexaCreditsExhaustionImminent',
  'ZexaApiKeyUnauthorized',
  'ZexaApiKeyForbidden',
  'ZexaApiKeyShared',
  'ZexaApiKeyRotationDue',
  'ZexaCreditsStale',
  'ZexaExporterDown',
];

describe.skipIf(promtool.missing)('promtool', () => {
  it('check config prometheus.yml (from the repository root, rule file included)', () => {
    const out = run(promtool.path!, ['check', 'config', 'prometheus.yml']);
    expect(out).toContain('SUCCESS: 1 rule files found');
    expect(out).toContain('SUCCESS: 18 rules found');
  });

  it('check rules prometheus/alerts.yml', () => {
    expect(run(promtool.path!, ['check', 'rules', 'prometheus/alerts.yml'])).toContain('SUCCESS: 18 rules found');
  });

  // promtool evaluates every group at every step of every test (hours of series): a minute of
  // CPU time on a busy machine.
  it('test rules prometheus/alerts.test.yml', { timeout: PROMTOOL_TEST_MS }, () => {
    expect(run(promtool.path!, ['test', 'rules', 'prometheus/alerts.test.yml'])).toContain('SUCCESS');
  });

  it('test rules prometheus/alerts-5m.test.yml (the forecast at its 5-minute evaluations)', () => {
    expect(run(promtool.path!, ['test', 'rules', 'prometheus/alerts-5m.test.yml'])).toContain('SUCCESS');
  });

  it('the 5-minute timing tests have teeth: the forecast evaluated every 30 seconds fails them', () => {
    // promtool evaluates every group at every `evaluation_interval`, so this is the forecast as it
    // ran in the 30-second group: pending at 8h01m, firing at 9h16m, resolved at 9h42m.
    const tests = readRepoFile('prometheus/alerts-5m.test.yml');
    expect(tests).toMatch(/^evaluation_interval: 5m$/m);
    const output = unitTestFailures(
      readRepoFile('prometheus/alerts.yml'),
      tests.replace(/^evaluation_interval: 5m$/m, 'evaluation_interval: 30s'),
    );
    expect(output).toMatch(/time: 8h4m,\s+exp: nil\s+got: \{__name__="ALERTS_FOR_STATE".*\} 2\.886E\+04/);
    expect(output).toMatch(
      /alertname: ZexaCreditsExhaustionForecast, time: 9h19m,\s+exp:\[\],\s+got:\[\s+0:\s+Labels:\{account="steady"/,
    );
    expect(output).toMatch(/alertname: ZexaCreditsExhaustionForecast, time: 9h44m,[\s\S]*?got:\[\]/);
  });

  it('the unit tests show every alert firing and silent', () => {
    const tests = parse(readRepoFile('prometheus/alerts.test.yml')) as {
      tests: Array<{ interval?: string; alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const fiveMinute = parse(readRepoFile('prometheus/alerts-5m.test.yml')) as { tests: Array<{ interval?: string }> };
    for (const t of [...tests.tests, ...fiveMinute.tests]) {
      expect(t.interval, 'Prometheus 2.42 needs interval on each test').toBeDefined();
    }
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of ALERTS) {
      expect(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
        `${alert} firing`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0),
        `${alert} silent`,
      ).toBe(true);
    }
  });

  it(
    'the unit tests have teeth: recorded series that are not carried through a gap fail them',
    { timeout: PROMTOOL_TEST_MS },
    () => {
      // Without `or last_over_time(<itself>[10m])`, a scrape gap resolves ZexaCreditsLow and restarts its `for:`.
      // (The 5-minute rate carries itself inside its join with the balance: `or on(account) max by (account) (…)`.)
      const rulesText = readRepoFile('prometheus/alerts.yml');
      const carry = /\n\s*or(?: on\(account\))?\n\s*(?:\(|max by \(account\) \()last_over_time\(account:[^\n]*\n/g;
      expect(rulesText.match(carry)).toHaveLength(6);
      expect(unitTestFailures(rulesText.replace(carry, '\n'))).toMatch(/ZexaCreditsLow, time: 27m/);
    },
  );

  it(
    'the unit tests catch the rules before the outage, rollout and fast-burn cases were handled',
    { timeout: PROMTOOL_TEST_MS },
    () => {
      // The old runbook links, brought up to date, so that only behaviour fails.
      const before = readRepoFile('test/fixtures/prometheus/alerts-before-issue-18.yml').replaceAll(
        'blob/main/README.md#',
        'blob/main/docs/runbook.md#',
      );
      const output = unitTestFailures(before);
      // 1. A one-hour outage resolved the balance alerts after 15 minutes.
      expect(output).toMatch(/alertname: ZexaCreditsCritical, time: 50m/);
      expect(output).toMatch(/alertname: ZexaCreditsLow, time: 50m/);
      // 2. ZexaCreditsStale never fired for a stopped exporter.
      expect(output).toMatch(/alertname: ZexaCreditsStale, time: 26m/);
      expect(output).toMatch(/alertname: ZexaCreditsStale, time: 1h11m/);
      // 3. A top-up right after a rollout (and in an HA pair) stayed alerted.
      expect(output).toMatch(/alertname: ZexaCreditsLow, time: 1h2m/);
      // 4. The forecast across a rollout under-counted the step spanning it.
      expect(output).toMatch(/alertname: ZexaCreditsExhaustionForecast, time: 1h45m/);
      expect(output).toMatch(/of 586 credits per hour, account roll/);
      // 5. No fast page at all.
      expect(output).toMatch(/alertname: ZexaCreditsExhaustionImminent, time: 17m/);
      // The alerts that were right before still are: no other alert test fails.
      const failed = [...output.matchAll(/alertname: (\w+), time: (\w+),/g)].map((m) => `${m[1]} ${m[2]}`);
      expect(
        failed.filter(
          (f) =>
            !/^(ZexaCreditsLow|ZexaCreditsCritical|ZexaCreditsStale|ZexaCreditsExhaustionForecast|ZexaCreditsExhaustionImminent) /.test(
              f,
            ),
        ),
      ).toEqual([]);
    },
  );

  it(
    'the unit tests catch the rules before issue 10: rollout, HA pair, shards, fresh install, bursts',
    { timeout: PROMTOOL_TEST_MS },
    () => {
      const output = unitTestFailures(readRepoFile('test/fixtures/prometheus/alerts-before-issue-10.yml'));
      // (a) rollout and (c) reshard: two series per account inside the windows.
      // Which account promtool names first varies between runs (Go map order): either has two series.
      expect(output).toMatch(
        /rule: ZexaCreditsLow, time: 3h2m0s, err: found duplicate series for the match group \{account="(low|crit)"\}/,
      );
      expect(output).toMatch(
        /rule: ZexaCreditsLow, time: 22m0s, err: found duplicate series for the match group \{account="moving"\}/,
      );
      // (b) HA pair: two exporters of the same account from the start.
      expect(output).toMatch(
        /rule: ZexaCreditsLow, time: 0s, err: found duplicate series for the match group \{account="low"\}.*instance="a:10025"/,
      );
      // Alerts that carried `instance`, so a rollout changed their identity.
      expect(output).toMatch(/alertname: ZexaApiKeyUnauthorized, time: 3h1m/);
      expect(output).toMatch(/alertname: ZexaCreditsStale, time: 3h1m/);
      // Fresh install (rate over 6 h said 50/h instead of 600/h) and a one-off burst.
      expect(output).toMatch(/alertname: ZexaCreditsExhaustionForecast, time: 1h45m/);
      expect(output).toMatch(/alertname: ZexaCreditsExhaustionForecast, time: 4h,/);
    },
  );
});

describe('alert rules content', () => {
  const doc = parse(readRepoFile('prometheus/alerts.yml')) as {
    groups: Array<{
      name: string;
      interval?: string;
      rules: Array<{
        alert: string;
        record?: string;
        expr: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      }>;
    }>;
  };
  const rules = doc.groups.flatMap((g) => g.rules).filter((r) => r.record === undefined);

  it('has exactly the alerts of the issue, each with severity, summary, description and its runbook anchor', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...ALERTS].sort());
    for (const r of rules) {
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description, r.alert).toBeTruthy();
      expect(r.annotations.runbook_url).toBe(
        `https://github.com/zexa-exporter/zexa-exporter/blob/main/docs/runbook.md#${r.alert.toLowerCase()}`,
      );
    }
  });

  it('records one series per account under the names the dashboard and the Grafana rules read', () => {
    const recorded = Object.fromEntries(
      doc.groups.map((g) => [
        g.name,
        { interval: g.interval, records: g.rules.flatMap((r) => (r.record === undefined ? [] : [r.record])) },
      ]),
    );
    // Every 30 s what the alerts need at each evaluation; every 5 min what changes slowly.
    expect(recorded['zexa-recording']).toEqual({
      interval: '30s',
      records: [
        'account:zexa_last_success_timestamp_seconds:max',
        'account:zexa_credits_remaining:latest',
        'account:zexa_credits_consumption_rate:5m',
      ],
    });
    expect(recorded['zexa-recording-5m']).toEqual({
      interval: '5m',
      records: [
        'account:zexa_up:timestamp',
        'account:zexa_credits_threshold:max',
        'account:zexa_credits_consumed:increase5m',
        'account:zexa_credits_consumption_rate:6h',
        'account:zexa_credits_consumption_rate:1h',
      ],
    });
    // The forecast reads the rates this group records, so it is evaluated with them, last (a
    // group runs its rules in order); the alerts that need every 30 seconds stay there.
    const alerts = Object.fromEntries(
      doc.groups.map((g) => [g.name, g.rules.flatMap((r) => (r.record === undefined ? [r.alert] : []))]),
    );
    expect(alerts['zexa-recording-5m']).toEqual(['ZexaCreditsExhaustionForecast']);
    expect(doc.groups.find((g) => g.name === 'zexa-recording-5m')!.rules.at(-1)!.alert).toBe(
      'ZexaCreditsExhaustionForecast',
    );
    expect(alerts['zexa-credits']).toEqual(['ZexaCreditsLow', 'ZexaCreditsCritical', 'ZexaCreditsExhaustionImminent']);
    for (const { records } of Object.values(recorded)) {
      // level:metric:operations, aggregated to the account (so no `instance` survives).
      for (const name of records) expect(name).toMatch(/^account:zexa_[a-z_]+:[a-z0-9_]+$/);
    }
    // The balance alerts read recorded series, and each query of their annotations is one lookup of a recorded series.
    for (const r of rules.filter((x) => x.alert.startsWith('ZexaCredits'))) {
      expect(r.expr, r.alert).toMatch(/account:/);
      for (const [, q] of r.annotations.description!.matchAll(/printf "([^"]*)" \$labels\.account \| query/g)) {
        expect(q, r.alert).toMatch(
          /^(last_over_time\()?account:zexa_[a-z_]+:[a-z0-9_]+\{account='%s'[^}]*\}(\[10m\]\))?( \* 3600)?$/,
        );
      }
    }
  });

  it('matches thresholds per account instead of hard-coding them', () => {
    for (const name of ['ZexaCreditsLow', 'ZexaCreditsCritical']) {
      const r = rules.find((x) => x.alert === name)!;
      expect(r.expr).toContain('account:zexa_credits_threshold:max{severity=');
      expect(r.expr).toContain('on(account)');
      expect(r.expr).not.toMatch(/[<>]=?\s*\d/);
    }
  });
});

describe.skipIf(amtool.missing)('amtool', () => {
  it('check-config alertmanager/alertmanager.yml', () => {
    const out = run(amtool.path!, ['check-config', 'alertmanager/alertmanager.yml']);
    expect(out).toContain('SUCCESS');
    expect(out).toContain('1 inhibit rules');
    expect(out).toContain('2 receivers');
  });

  it('the commented e-mail, Slack and PagerDuty variants are valid once uncommented', () => {
    const text = readRepoFile('alertmanager/alertmanager.yml');
    const uncommented = text.replace(
      /^(\s*)# ((?:smtp_\w+|pagerduty_configs|email_configs|slack_configs):.*|- (?:routing_key_file|to|api_url_file):.*| {2}(?:send_resolved|channel|title|text):.*)$/gm,
      '$1$2',
    );
    expect(uncommented).toContain('\n    slack_configs:');
    expect(uncommented).toContain('\n  smtp_smarthost:');
    const dir = mkdtempSync(join(tmpdir(), 'zexa-am-'));
    try {
      writeFileSync(join(dir, 'alertmanager.yml'), uncommented);
      expect(run(amtool.path!, ['check-config', join(dir, 'alertmanager.yml')])).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('routes critical to the pager, warning to chat, grouped by account; critical inhibits warning per account', () => {
    const am = parse(readRepoFile('alertmanager/alertmanager.yml')) as {
      route: { group_by: string[]; routes: Array<{ matchers: string[]; receiver: string }> };
      inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
    };
    expect(am.route.group_by).toEqual(['account']);
    expect(am.route.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ matchers: ['severity="critical"'], receiver: 'pager' }),
        expect.objectContaining({ matchers: ['severity="warning"'], receiver: 'chat' }),
      ]),
    );
    expect(am.inhibit_rules).toEqual([
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['account'] },
    ]);
  });
});
