import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { startHarness, type Harness } from '../support/exporter-harness.js';
import { until } from '../support/wait.js';
import { runExporter } from '../support/process.js';

const dir = mkdtempSync(join(tmpdir(), 'zexa-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACCOUNTS = [
  { name: 'alpha', key: 'zx_reload_alpha_5d1c9e', credits: 5000 },
  { name: 'beta', key: 'zx_reload_beta_8a2f3b', credits: 3000 },
  { name: 'gamma', key: 'zx_reload_gamma_1e7d4c', credits: 800 },
];
const KEY_ENV = { ALPHA_KEY: ACCOUNTS[0]!.key, BETA_KEY: ACCOUNTS[1]!.key, GAMMA_KEY: ACCOUNTS[2]!.key };

function configYaml(accounts: { name: string; warning?: number }[]): string {
  return [
    'thresholds: { warning: 1000, critical: 100 }',
    'accounts:',
    ...accounts.flatMap((a) => [
      `  - name: ${a.name}`,
      `    apiKeyEnv: ${a.name.toUpperCase()}_KEY`,
      ...(a.warning === undefined ? [] : [`    thresholds: { warning: ${a.warning} }`]),
    ]),
    '',
  ].join('\n');
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('configuration reload', () => {
  it('POST /-/reload adds and removes accounts and changes thresholds; a bad file keeps the running config', async () => {
    const file = join(dir, 'config.yml');
    writeFileSync(file, configYaml([{ name: 'alpha' }, { name: 'beta' }]));
    harness = await startHarness({
      accounts: ACCOUNTS,
      withoutEnvKey: ['alpha', 'beta', 'gamma'],
      env: KEY_ENV,
      configFile: file,
    });
    const h = harness;
    await h.until(async () => (await h.sample('zexa_up{account="beta"}')) === 1);
    expect(await h.metricsText()).not.toContain('account="gamma"');

    writeFileSync(file, configYaml([{ name: 'alpha', warning: 6000 }, { name: 'gamma' }]));
    const ok = await fetch(`${h.exporter.url}/-/reload`, { method: 'POST' });
    expect(ok.status).toBe(200);
    await h.until(async () => (await h.sample('zexa_up{account="gamma"}')) === 1);
    const text = await h.metricsText();
    expect(text).not.toContain('account="beta"');
    expect(text).toContain('zexa_credits_threshold{account="alpha",severity="warning"} 6000\n');
    expect(text).toContain('zexa_exporter_config_last_reload_successful 1\n');
    const page = await (await fetch(`${h.exporter.url}/`)).text();
    expect(page).toMatch(/<th scope="row">alpha<\/th><td><span class="badge b-low"/);

    writeFileSync(file, 'accounts:\n  - name: Bad Name\n    apiKeyEnv: ALPHA_KEY\n    bogus: 1\n');
    const bad = await fetch(`${h.exporter.url}/-/reload`, { method: 'POST' });
    expect(bad.status).toBe(400);
    const body = await bad.text();
    expect(body).toContain('accounts[0].name');
    expect(body).toContain('bogus');
    expect(await h.sample('zexa_exporter_config_last_reload_successful')).toBe(0);
    // The running configuration goes on.
    expect(await h.sample('zexa_up{account="gamma"}')).toBe(1);
    expect(
      h.exporter
        .config()
        .accounts.map((a) => a.name)
        .sort(),
    ).toEqual(['alpha', 'gamma']);
    expect(
      h.logs.records().filter((r) => r.msg === 'configuration reload failed; keeping the running configuration').length,
    ).toBeGreaterThan(0);
    expect(h.logs.text()).not.toContain('zx_reload_');
  });

  it('refuses a reload request with a body, and other methods', async () => {
    const file = join(dir, 'config2.yml');
    writeFileSync(file, configYaml([{ name: 'alpha' }]));
    harness = await startHarness({
      accounts: ACCOUNTS,
      withoutEnvKey: ['alpha', 'beta', 'gamma'],
      env: KEY_ENV,
      configFile: file,
    });
    const url = harness.exporter.url;
    expect((await fetch(`${url}/-/reload`, { method: 'POST', body: 'x'.repeat(1_000_000) })).status).toBe(413);
    expect((await fetch(`${url}/-/reload`)).status).toBe(405);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${url}/metrics`, { method: 'DELETE' })).status).toBe(405);
  });

  it('SIGHUP reloads the configuration file of the running process', async () => {
    const sim = await startSimulator({ accounts: ACCOUNTS });
    const file = join(dir, 'config3.yml');
    writeFileSync(file, configYaml([{ name: 'alpha' }]));
    const proc = runExporter(['--web.listen-address=127.0.0.1:0', `--config.file=${file}`], {
      ...KEY_ENV,
      ZEXA_API_URL: sim.url,
      ZEXA_POLL_INTERVAL: '5s',
    });
    try {
      const port = await proc.port();
      const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      writeFileSync(file, configYaml([{ name: 'alpha' }, { name: 'beta' }]));
      proc.kill('SIGHUP');
      await until(async () => (await metrics()).includes('zexa_up{account="beta"} 1'), 15_000, 'beta to be polled');
      expect(proc.stdout()).toContain('configuration reloaded');
    } finally {
      proc.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
      await sim.close();
    }
  });
});
