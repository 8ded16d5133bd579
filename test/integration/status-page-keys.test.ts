/**
 * The key columns of the status page and the `key` field of the JSON API (issue 13) end to end:
 * an exporter polling the simulator with a key file 100 days old (rotation due), and one key
 * pasted into two accounts (shared, each row naming the other). Neither output carries a key.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../support/exporter-harness.js';
import { expectNoKey } from '../support/leak.js';

const DAY_S = 86_400;
const FILE_KEY = 'zx_PGKEYS_FILE_QWERTYUIOPAS';
const SHARED_KEY = 'zx_PGKEYS_SHARED_ZXCVBNMLKJ';
const KEYS = [FILE_KEY, SHARED_KEY];

/** The `<tr>` of `name` on the page (the account name heads its row). */
function rowOf(html: string, name: string): string {
  const match = new RegExp(`<tr(?: class="s-[a-z]+")?><th scope="row">${name}</th>.*?</tr>`).exec(html);
  if (match === null) throw new Error(`no row for ${name}`);
  return match[0];
}

describe('the key columns of the status page and the API', () => {
  let h: Harness;
  let tmp: string;
  const hundredDaysAgo = Math.floor(Date.now() / 1000) - 100 * DAY_S;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'zexa-page-keys-'));
    const file = join(tmp, 'production');
    writeFileSync(file, `${FILE_KEY}\n`);
    utimesSync(file, hundredDaysAgo, hundredDaysAgo);
    h = await startHarness({
      accounts: [
        { name: 'production', key: FILE_KEY, credits: 5000 },
        { name: 'solo', key: SHARED_KEY, credits: 3000 },
      ],
      withoutEnvKey: ['production'],
      // staging pastes solo's key.
      env: { ZEXA_API_KEY_PRODUCTION_FILE: file, ZEXA_API_KEY_STAGING: SHARED_KEY },
      intervalMs: 400,
    });
    await vi.waitFor(async () => expect(await h.sample('zexa_api_key_shared{account="staging"}')).toBe(1), {
      timeout: 15_000,
      interval: 50,
    });
  });

  afterAll(async () => {
    await h?.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the fingerprint, the age and source, "rotation due" and "shared with" on the page', async () => {
    const html = await (await fetch(`${h.exporter.url}/`)).text();
    expect(html).toContain('<th scope="col" title="The key&#39;s fingerprint');
    const production = rowOf(html, 'production');
    expect(production).toMatch(/<td><code>[0-9a-f]{12}<\/code><\/td>/);
    expect(production).toContain('<td><strong class="alert">⚠ 100 d</strong><small>file · rotation due</small></td>');
    expect(rowOf(html, 'staging')).toMatch(
      /<code>[0-9a-f]{12}<\/code><small class="alert">⚠ shared with solo<\/small>/,
    );
    expect(rowOf(html, 'solo')).toMatch(
      /<code>[0-9a-f]{12}<\/code><small class="alert">⚠ shared with staging<\/small>/,
    );
    // An environment key is as old as this process: no rotation marker, whatever its age.
    expect(rowOf(html, 'solo')).toMatch(/<td>(under 1 min|\d+ min)<small>env<\/small><\/td>/);
    expectNoKey('the status page', html, KEYS);
  });

  it('gives the same in the JSON API', async () => {
    const production = (await (await fetch(`${h.exporter.url}/api/v1/accounts/production`)).json()) as {
      key: Record<string, unknown>;
    };
    expect(production.key).toMatchObject({
      source: 'file',
      lastChange: new Date(hundredDaysAgo * 1000).toISOString().replace('.000Z', 'Z'),
      rotationDue: true,
      shared: false,
      sharedWith: [],
    });
    expect(production.key.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(production.key.ageSeconds).toBeGreaterThanOrEqual(100 * DAY_S);
    expect(production.key.ageSeconds).toBeLessThan(100 * DAY_S + 600);
    const list = await (await fetch(`${h.exporter.url}/api/v1/accounts`)).text();
    const accounts = (JSON.parse(list) as { accounts: Array<{ name: string; key: Record<string, unknown> }> }).accounts;
    const byName = new Map(accounts.map((a) => [a.name, a.key]));
    expect(byName.get('staging')).toMatchObject({
      source: 'env',
      shared: true,
      sharedWith: ['solo'],
      rotationDue: false,
    });
    expect(byName.get('solo')).toMatchObject({ shared: true, sharedWith: ['staging'] });
    expect(byName.get('staging')?.fingerprint).toBe(byName.get('solo')?.fingerprint);
    expectNoKey('/api/v1/accounts', list, KEYS);
  });
});
