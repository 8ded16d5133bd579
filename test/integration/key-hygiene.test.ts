/**
 * The key hygiene metrics against the simulator: zexa_api_key_info, zexa_api_key_shared and
 * zexa_api_key_last_change_timestamp_seconds, with keys from the environment and from files laid
 * out as a Kubernetes Secret mount (`name -> ..data/name`, `..data -> ..<timestamp>`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startHarness } from '../support/exporter-harness.js';
import { expectNoKey } from '../support/leak.js';

const DAY_S = 86_400;
const tmp = mkdtempSync(join(tmpdir(), 'zexa-keys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * A Secret volume as the kubelet writes it: the files live in a timestamped directory, `..data`
 * links to it, and each key name links to `..data/<name>`. The symlinks are new; only the file
 * behind them has `mtimeSeconds`.
 */
function secretMount(dir: string, generation: string, files: Record<string, string>, mtimeSeconds: number): void {
  const data = join(dir, `..${generation}`);
  mkdirSync(data, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(data, name), content);
    utimesSync(join(data, name), mtimeSeconds, mtimeSeconds);
  }
  // The kubelet swaps ..data atomically: a new link renamed over the old one.
  symlinkSync(`..${generation}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // Already linked by an earlier generation.
    }
  }
}

describe('key hygiene metrics', () => {
  it('marks two accounts polling with one key as shared, and logs it once naming both', async () => {
    const shared = 'zx_hygiene_shared_QWERTYUIOPAS';
    const own = 'zx_hygiene_own_ZXCVBNMLKJHG';
    const h = await startHarness({
      accounts: [
        { name: 'production', key: shared, credits: 5000 },
        { name: 'solo', key: own, credits: 5000 },
      ],
      // staging pastes production's key: one simulator account, two exporter accounts.
      env: { ZEXA_API_KEY_STAGING: shared },
      intervalMs: 400,
    });
    try {
      await vi.waitFor(async () => expect(await h.sample('zexa_api_key_shared{account="staging"}')).toBe(1), {
        timeout: 15_000,
        interval: 50,
      });
      const text = await h.metricsText();
      const fp = fingerprint(shared);
      expect(text).toContain(`zexa_api_key_info{account="production",fingerprint="${fp}"} 1`);
      expect(text).toContain(`zexa_api_key_info{account="staging",fingerprint="${fp}"} 1`);
      expect(text).toContain(`zexa_api_key_info{account="solo",fingerprint="${fingerprint(own)}"} 1`);
      expect(text).toContain('zexa_api_key_shared{account="production"} 1');
      expect(text).toContain('zexa_api_key_shared{account="solo"} 0');
      expect(text).toMatch(/^zexa_api_key_last_change_timestamp_seconds\{account="staging",source="env"\} \d/m);
      // Several polls later, still one log line for the one change.
      await vi.waitFor(() => expect(h.sim.requestCount('production')).toBeGreaterThanOrEqual(6), {
        timeout: 15_000,
        interval: 50,
      });
      const lines = h.logs.records().filter((r) => String(r.msg).startsWith('API key shared'));
      expect(lines).toHaveLength(1);
      const [line] = lines;
      const named = [line?.account, ...(line?.shared_with as string[])].sort();
      expect(named).toEqual(['production', 'staging']);
      expect(line?.fingerprint).toBe(fp);
      expectNoKey('the logs', h.logs.text(), [shared, own]);
      expectNoKey('/metrics', text, [shared, own]);
    } finally {
      await h.close();
    }
  });

  it("takes a Secret-mounted key file's age from the file behind ..data, and a rotation changes fingerprint and timestamp", async () => {
    const oldKey = 'zx_hygiene_old_ASDFGHJKLQWE';
    const newKey = 'zx_hygiene_new_POIUYTREWQLK';
    const mount = join(tmp, 'secret');
    mkdirSync(mount);
    const hundredDaysAgo = Math.floor(Date.now() / 1000) - 100 * DAY_S;
    secretMount(mount, '2026_08_21_10_00_00.1', { production: `${oldKey}\n` }, hundredDaysAgo);
    const h = await startHarness({
      accounts: [
        { name: 'production', key: oldKey, credits: 5000 },
        { name: 'production_new', key: newKey, credits: 4000 },
      ],
      withoutEnvKey: ['production', 'production_new'],
      env: { ZEXA_API_KEY_PRODUCTION_FILE: join(mount, 'production') },
      intervalMs: 400,
    });
    const series = 'zexa_api_key_last_change_timestamp_seconds{account="production",source="file"}';
    try {
      await vi.waitFor(async () => expect(await h.sample(series)).toBe(hundredDaysAgo), {
        timeout: 15_000,
        interval: 50,
      });
      expect(await h.metricsText()).toContain(
        `zexa_api_key_info{account="production",fingerprint="${fingerprint(oldKey)}"} 1`,
      );

      // The kubelet writes the rotated Secret into a new directory and swaps ..data.
      const yesterday = Math.floor(Date.now() / 1000) - DAY_S;
      secretMount(mount, '2026_11_28_10_00_00.2', { production: `${newKey}\n` }, yesterday);
      await vi.waitFor(async () => expect(await h.sample(series)).toBe(yesterday), { timeout: 15_000, interval: 50 });
      const text = await h.metricsText();
      expect(text).toContain(`zexa_api_key_info{account="production",fingerprint="${fingerprint(newKey)}"} 1`);
      expect(text).not.toContain(fingerprint(oldKey));
      expect(await h.sample('zexa_credits_remaining{account="production",currency="USD"}')).toBe(4000);
      expectNoKey('/metrics', text, [oldKey, newKey]);
      expectNoKey('the logs', h.logs.text(), [oldKey, newKey]);
    } finally {
      await h.close();
    }
  });
});
