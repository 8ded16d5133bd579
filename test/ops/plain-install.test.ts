/**
 * docs/monitoring.md "Plain install on Debian" (issue 10 §4): the documented commands, run for real with
 * /etc/prometheus replaced by a temporary directory, leave files that pass `promtool check
 * config` and `amtool check-config` (both are among the documented commands). Only `apt-get`
 * and `systemctl` lines are left out; `sudo` is dropped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireProgram } from '../support/external.js';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import { loadPrometheusRules, recordedSeries } from '../../scripts/generate-grafana-alerts.js';
import { readRepoFile } from './ops-files.js';

const promtool = requireProgram(['promtool'], 'prometheus');
const amtool = requireProgram(['amtool', 'prometheus-alertmanager-amtool'], 'prometheus-alertmanager');

/** The shell lines of the marked plain-install block, continuation lines joined. */
function plainInstallCommands(page: string): string[] {
  const block = /<!-- plain-install:begin[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- plain-install:end -->/.exec(page);
  if (block?.[1] === undefined)
    throw new Error(
      'docs/monitoring.md has no plain-install block (<!-- plain-install:begin --> ```sh ... ``` <!-- plain-install:end -->)',
    );
  return block[1]
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function sh(script: string): string {
  try {
    return execFileSync('sh', ['-ec', script], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`failed:\n${script}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

describe.skipIf(promtool.missing || amtool.missing)('docs/monitoring.md plain install on Debian', () => {
  const etc = mkdtempSync(join(tmpdir(), 'zexa-etc-prometheus-'));
  afterAll(() => rmSync(etc, { recursive: true, force: true }));
  const commands = plainInstallCommands(readRepoFile('docs/monitoring.md'));

  it('documents installing the packages, both checks and starting both services', () => {
    expect(commands).toContain('sudo apt-get install prometheus prometheus-alertmanager');
    expect(commands).toContain('promtool check config /etc/prometheus/prometheus.yml');
    expect(commands).toContain('amtool check-config /etc/prometheus/alertmanager.yml');
    expect(commands).toContain('sudo systemctl restart prometheus prometheus-alertmanager');
  });

  it('the documented files pass promtool check config and amtool check-config after exactly the documented edits', () => {
    const runnable = commands
      .filter((c) => !/^sudo (apt-get|systemctl) /.test(c))
      .map((c) =>
        c
          .replace(/^sudo /, '')
          .replaceAll('/etc/prometheus', etc)
          .replaceAll('promtool ', `${promtool.path!} `)
          .replace(/^amtool /, `${amtool.path!} `),
      );
    const out = sh(runnable.join('\n'));
    expect(out).toContain('SUCCESS: 1 rule files found');
    // promtool counts alerting and recording rules alike.
    expect(out).toContain(`SUCCESS: ${loadPrometheusRules().length + recordedSeries().length} rules found`);
    expect(out).toMatch(/Checking '.*alertmanager\.yml'\s+SUCCESS/);

    const config = parse(readFileSync(join(etc, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    expect(config.rule_files).toEqual(['zexa-alerts.yml']);
    expect(config.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['localhost:9093']);
    const targets = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.targets]));
    expect(targets).toEqual({ zexa: ['localhost:10025'], prometheus: ['localhost:9090'] });
    expect(readFileSync(join(etc, 'zexa-alerts.yml'), 'utf8')).toBe(readRepoFile('prometheus/alerts.yml'));
  });

  it('has teeth: the rules copied next to prometheus.yml without the rule_files edit fail the check', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-etc-unedited-'));
    try {
      sh(`cp prometheus.yml ${dir}/prometheus.yml && cp prometheus/alerts.yml ${dir}/zexa-alerts.yml`);
      expect(() => sh(`${promtool.path!} check config ${dir}/prometheus.yml`)).toThrow(/prometheus\/alerts\.yml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
