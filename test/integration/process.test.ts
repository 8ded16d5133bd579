import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { runExporter } from '../support/process.js';
import { until } from '../support/wait.js';

let sim: ZexaSimulator;

beforeAll(async () => {
  sim = await startSimulator({
    accounts: [
      { name: 'production', key: 'zx_proc_production_a1b2c3d4', credits: 4250 },
      { name: 'slow', key: 'zx_proc_slow_e5f6a7b8c9', credits: 10, fault: { kind: 'hang' } },
    ],
  });
});

afterAll(async () => {
  await sim.close();
});

describe('the zexa-exporter process', () => {
  it('serves, then exits 0 within 5 s of SIGTERM even with a request hanging', async () => {
    const proc = runExporter(['--web.listen-address=127.0.0.1:0'], {
      ZEXA_API_URL: sim.url,
      ZEXA_API_KEY_PRODUCTION: 'zx_proc_production_a1b2c3d4',
      ZEXA_API_KEY_SLOW: 'zx_proc_slow_e5f6a7b8c9',
    });
    const port = await proc.port();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    // Wait until the hanging request is in flight, then stop.
    await until(() => sim.requestCount('slow') > 0, 10_000, 'the hanging request');
    const stoppedAt = Date.now();
    proc.kill('SIGTERM');
    const { code } = await proc.exited;
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(proc.stdout()).toContain('"msg":"zexa-exporter stopped"');
  });

  it('exits 2 with one line per problem, before listening, on bad configuration', async () => {
    const proc = runExporter(['--web.listen-address=127.0.0.1:0'], {
      ZEXA_API_URL: 'ftp://api.zexa.ao',
      ZEXA_API_KEY: 'zx_proc_default_0f1e2d3c',
      ZEXA_POLL_INTERVAL: '5x',
      ZEXA_CREDITS_WARNING_THRESHOLD: '10',
      ZEXA_CREDITS_CRITICAL_THRESHOLD: '20',
    });
    const { code } = await proc.exited;
    expect(code).toBe(2);
    const err = proc.stderr();
    expect(err).toMatch(/ZEXA_API_URL/);
    expect(err).toMatch(/ZEXA_POLL_INTERVAL/);
    expect(err).toMatch(/ZEXA_CREDITS_WARNING_THRESHOLD|ZEXA_CREDITS_CRITICAL_THRESHOLD/);
    expect(proc.stdout()).not.toContain('zexa-exporter started');
    expect(err + proc.stdout()).not.toContain('zx_proc_default_0f1e2d3c');
  });

  it('explains how to set a key when none is configured', async () => {
    const proc = runExporter([], {});
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.stderr()).toContain('ZEXA_API_KEY');
    expect(proc.stderr()).toContain('npm run demo');
  });

  it('prints usage for --help and the version for --version', async () => {
    const help = runExporter(['--help'], {});
    expect((await help.exited).code).toBe(0);
    expect(help.stdout()).toContain('ZEXA_POLL_INTERVAL');
    expect(help.stdout()).toContain('--web.listen-address');
    const version = runExporter(['--version'], {});
    expect((await version.exited).code).toBe(0);
    expect(version.stdout()).toMatch(/^zexa-exporter \d+\.\d+\.\d+/);
  });
});
