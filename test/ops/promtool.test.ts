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

const ALERTS = [
  'ZexaCreditsLow',
  'ZexaCreditsCritical',
  'ZexaCreditsExhaustionForecast',
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
    expect(out).toContain('SUCCESS: 9 rules found');
  });

  it('check rules prometheus/alerts.yml', () => {
    expect(run(promtool.path!, ['check', 'rules', 'prometheus/alerts.yml'])).toContain('SUCCESS: 9 rules found');
  });

  it('test rules prometheus/alerts.test.yml', () => {
    expect(run(promtool.path!, ['test', 'rules', 'prometheus/alerts.test.yml'])).toContain('SUCCESS');
  });

  it('the unit tests show every alert firing and silent', () => {
    const tests = parse(readRepoFile('prometheus/alerts.test.yml')) as {
      tests: Array<{ interval?: string; alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    for (const t of tests.tests) expect(t.interval, 'Prometheus 2.42 needs interval on each test').toBeDefined();
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of ALERTS) {
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} firing`).toBe(true);
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} silent`).toBe(true);
    }
  });

  it('the unit tests have teeth: a rule without the outage window fails them', () => {
    // Without last_over_time, a scrape gap resolves ZexaCreditsLow and restarts its `for:`.
    const dir = mkdtempSync(join(tmpdir(), 'zexa-rules-'));
    try {
      writeFileSync(join(dir, 'alerts.yml'), readRepoFile('prometheus/alerts.yml').replaceAll('last_over_time(zexa_credits_remaining[15m])', 'zexa_credits_remaining'));
      writeFileSync(join(dir, 'alerts.test.yml'), readRepoFile('prometheus/alerts.test.yml'));
      expect(() => run(promtool.path!, ['test', 'rules', 'alerts.test.yml'], dir)).toThrow(/ZexaCreditsLow, time: 27m/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the unit tests catch the rules before issue 10: rollout, HA pair, shards, fresh install, bursts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-rules-'));
    try {
      writeFileSync(join(dir, 'alerts.yml'), readRepoFile('test/fixtures/prometheus/alerts-before-issue-10.yml'));
      writeFileSync(join(dir, 'alerts.test.yml'), readRepoFile('prometheus/alerts.test.yml'));
      let output = '';
      try {
        run(promtool.path!, ['test', 'rules', 'alerts.test.yml'], dir);
      } catch (err) {
        output = (err as Error).message;
      }
      // (a) rollout and (c) reshard: two series per account inside the windows.
      // Which account promtool names first varies between runs (Go map order): either has two series.
      expect(output).toMatch(/rule: ZexaCreditsLow, time: 3h2m0s, err: found duplicate series for the match group \{account="(low|crit)"\}/);
      expect(output).toMatch(/rule: ZexaCreditsLow, time: 22m0s, err: found duplicate series for the match group \{account="moving"\}/);
      // (b) HA pair: two exporters of the same account from the start.
      expect(output).toMatch(/rule: ZexaCreditsLow, time: 0s, err: found duplicate series for the match group \{account="low"\}.*instance="a:10025"/);
      // Alerts that carried `instance`, so a rollout changed their identity.
      expect(output).toMatch(/alertname: ZexaApiKeyUnauthorized, time: 3h1m/);
      expect(output).toMatch(/alertname: ZexaCreditsStale, time: 3h1m/);
      // Fresh install (rate over 6 h said 50/h instead of 600/h) and a one-off burst.
      expect(output).toMatch(/alertname: ZexaCreditsExhaustionForecast, time: 1h45m/);
      expect(output).toMatch(/alertname: ZexaCreditsExhaustionForecast, time: 4h,/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alert rules content', () => {
  const doc = parse(readRepoFile('prometheus/alerts.yml')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }> }>;
  };
  const rules = doc.groups.flatMap((g) => g.rules);

  it('has exactly the alerts of the issue, each with severity, summary, description and its runbook anchor', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...ALERTS].sort());
    for (const r of rules) {
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description, r.alert).toBeTruthy();
      expect(r.annotations.runbook_url).toBe(`https://github.com/zexa-exporter/zexa-exporter/blob/main/docs/runbook.md#${r.alert.toLowerCase()}`);
    }
  });

  it('matches thresholds per account instead of hard-coding them', () => {
    for (const name of ['ZexaCreditsLow', 'ZexaCreditsCritical']) {
      const r = rules.find((x) => x.alert === name)!;
      expect(r.expr).toContain('zexa_credits_threshold{severity=');
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
    expect(am.inhibit_rules).toEqual([{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['account'] }]);
  });
});
