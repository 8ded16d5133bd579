import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/exporter-harness.js';

const KEYS = {
  production: 'zx_test_production_7fa3c9d1e5b2a8f4',
  staging: 'zx_test_staging_2b9e4f6a1c3d5e7f',
  legacy: 'zx_test_legacy_9c1d3e5f7a9b2c4d',
};

let harness: Harness | undefined;
const tmpDirs: string[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('exporter against the simulator over real HTTP', () => {
  it("exports every account's balance, turns ready, and serves the status page", async () => {
    harness = await startHarness({
      accounts: [
        { name: 'production', key: KEYS.production, credits: 4250 },
        { name: 'staging', key: KEYS.staging, credits: 640, currency: 'EUR' },
      ],
    });
    const h = harness;
    await h.until(async () => (await fetch(`${h.exporter.url}/readyz`)).status === 200);
    const text = await h.metricsText();
    expect(text).toContain('zexa_credits_remaining{account="production",currency="USD"} 4250\n');
    expect(text).toContain('zexa_credits_remaining{account="staging",currency="EUR"} 640\n');
    expect(text).toContain('zexa_up{account="production"} 1\n');
    expect(text).toMatch(/zexa_api_requests_total\{code="200"\} \d+/);
    const page = await (await fetch(`${h.exporter.url}/`)).text();
    expect(page).toMatch(/<th scope="row">staging<\/th><td><span class="badge b-low"/);
    expect((await fetch(`${h.exporter.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.exporter.url}/nope`)).status).toBe(404);
  });

  it('answers /readyz 503 until every account has finished its first poll', async () => {
    harness = await startHarness({
      accounts: [{ name: 'production', key: KEYS.production, credits: 10 }],
      latencyMs: 1500,
    });
    const h = harness;
    expect((await fetch(`${h.exporter.url}/readyz`)).status).toBe(503);
    await h.until(async () => (await fetch(`${h.exporter.url}/readyz`)).status === 200);
  });

  it("answers Prometheus' own /-/healthy and /-/ready like /healthz and /readyz, and links them", async () => {
    harness = await startHarness({
      accounts: [{ name: 'production', key: KEYS.production, credits: 10 }],
      latencyMs: 1500,
    });
    const h = harness;
    const ready = await fetch(`${h.exporter.url}/-/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe(await (await fetch(`${h.exporter.url}/readyz`)).text());
    const healthy = await fetch(`${h.exporter.url}/-/healthy`);
    expect(healthy.status).toBe(200);
    expect(await healthy.text()).toBe('OK\n');
    expect((await fetch(`${h.exporter.url}/-/healthy`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${h.exporter.url}/-/ready`, { method: 'HEAD' })).status).toBe(503);
    await h.until(async () => (await fetch(`${h.exporter.url}/-/ready`)).status === 200);
    expect((await fetch(`${h.exporter.url}/readyz`)).status).toBe(200);
    const page = await (await fetch(`${h.exporter.url}/`)).text();
    expect(page).toContain('<a href="-/healthy">/-/healthy</a>');
    expect(page).toContain('<a href="-/ready">/-/ready</a>');
  });

  it('counts a revoked key as a 401 and sets zexa_up 0 while other accounts stay up', async () => {
    harness = await startHarness({
      accounts: [
        { name: 'production', key: KEYS.production, credits: 5000 },
        { name: 'legacy', key: KEYS.legacy, credits: 300 },
      ],
    });
    const h = harness;
    await h.until(async () => (await h.sample('zexa_up{account="legacy"}')) === 1);
    h.sim.revoke('legacy');
    await h.until(async () => ((await h.sample('zexa_auth_errors_total{account="legacy",code="401"}')) ?? 0) >= 1);
    expect(await h.sample('zexa_up{account="legacy"}')).toBe(0);
    expect(await h.sample('zexa_up{account="production"}')).toBe(1);
    // The last good balance is kept through the failure.
    expect(await h.sample('zexa_credits_remaining{account="legacy",currency="USD"}')).toBe(300);
    expect(await h.sample('zexa_auth_errors_total{account="legacy",code="403"}')).toBe(0);
    // A 401 is never retried: exactly one request per poll.
    const failedPolls = (await h.sample('zexa_poll_errors_total{account="legacy",reason="unauthorized"}')) ?? 0;
    const rejected = h.sim.requests('legacy').filter((r) => r.status === 401).length;
    expect(rejected).toBeGreaterThanOrEqual(failedPolls);
    expect(rejected).toBeLessThanOrEqual(failedPolls + 1);
    const failure = h.logs.records().find((r) => r.msg === 'poll failed' && r.account === 'legacy');
    expect(failure).toMatchObject({ reason: 'unauthorized', status: 401, attempts: 1 });
    expect(typeof failure?.request_id).toBe('string');

    h.sim.unrevoke('legacy');
    await h.until(async () => (await h.sample('zexa_up{account="legacy"}')) === 1);
    expect(h.logs.records().some((r) => r.msg === 'account recovered' && r.account === 'legacy')).toBe(true);
  });

  it('counts consumption between polls and top-ups', async () => {
    harness = await startHarness({ accounts: [{ name: 'production', key: KEYS.production, credits: 5000 }] });
    const h = harness;
    await h.until(async () => (await h.sample('zexa_up{account="production"}')) === 1);
    h.sim.setCredits('production', 4900);
    await h.until(async () => (await h.sample('zexa_credits_consumed_total{account="production"}')) === 100);
    h.sim.topUp('production', 1000);
    await h.until(async () => (await h.sample('zexa_credits_added_total{account="production"}')) === 1000);
    expect(await h.sample('zexa_credits_remaining{account="production",currency="USD"}')).toBe(5900);
  });

  it('uses a key rotated in its file at the next poll, logging fingerprints only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-keys-'));
    tmpDirs.push(dir);
    const keyFile = join(dir, 'production');
    writeFileSync(keyFile, `${KEYS.production}\n`);
    const newKey = 'zx_test_production_rotated_0a1b2c3d4e';
    harness = await startHarness({
      accounts: [{ name: 'production', key: KEYS.production, credits: 5000 }],
      withoutEnvKey: ['production'],
      env: { ZEXA_API_KEY_PRODUCTION_FILE: keyFile },
    });
    const h = harness;
    await h.until(async () => (await h.sample('zexa_up{account="production"}')) === 1);
    // Rotate: the provider issues a new key and revokes the old one.
    h.sim.addAccount({ name: 'production_rotated', key: newKey, credits: 777 });
    h.sim.revoke('production');
    writeFileSync(`${keyFile}.new`, `${newKey}\n`);
    renameSync(`${keyFile}.new`, keyFile);
    await h.until(async () => (await h.sample('zexa_credits_remaining{account="production",currency="USD"}')) === 777);
    expect(await h.sample('zexa_up{account="production"}')).toBe(1);
    const rotated = h.logs.records().find((r) => r.msg === 'key changed: using the new key');
    expect(rotated).toMatchObject({ account: 'production' });
    expect(rotated?.previous_key).toMatch(/^[0-9a-f]{12}$/);
    expect(rotated?.current_key).toMatch(/^[0-9a-f]{12}$/);
    expect(h.logs.text()).not.toContain(newKey);
    expect(h.logs.text()).not.toContain(KEYS.production);
  });

  it('never overlaps polls of one account when the API is slower than the interval', async () => {
    harness = await startHarness({
      accounts: [{ name: 'production', key: KEYS.production, credits: 5000 }],
      latencyMs: 700,
      intervalMs: 200,
    });
    const h = harness;
    await h.until(() => h.sim.requestCount('production') >= 4, 20_000);
    const at = h.sim.requests('production').map((r) => r.at);
    // Each request is answered after 700 ms and the next starts only after that answer.
    for (let i = 1; i < at.length; i++) expect((at[i] as number) - (at[i - 1] as number)).toBeGreaterThanOrEqual(650);
  });

  it("protects everything but /healthz, /-/healthy and /-/ready with the web config's basic auth", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-web-'));
    tmpDirs.push(dir);
    const webConfig = join(dir, 'web.yml');
    writeFileSync(webConfig, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret-scrape', 4)}\n`);
    harness = await startHarness({
      accounts: [{ name: 'production', key: KEYS.production, credits: 5000 }],
      env: { ZEXA_EXPORTER_WEB_CONFIG: webConfig },
    });
    const url = harness.exporter.url;
    const auth = { Authorization: `Basic ${Buffer.from('prometheus:s3cret-scrape').toString('base64')}` };
    const wrong = { Authorization: `Basic ${Buffer.from('prometheus:nope').toString('base64')}` };
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Prometheus' probe paths are open too, so a load balancer needs no credentials.
    expect((await fetch(`${url}/-/healthy`)).status).toBe(200);
    await harness.until(async () => (await fetch(`${url}/-/ready`)).status === 200);
    for (const path of ['/metrics', '/', '/readyz']) {
      const anonymous = await fetch(`${url}${path}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await fetch(`${url}${path}`, { headers: wrong })).status).toBe(401);
    }
    const metrics = await fetch(`${url}/metrics`, { headers: auth });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('zexa_exporter_build_info');
    expect((await fetch(`${url}/-/reload`, { method: 'POST' })).status).toBe(401);
  });
});
