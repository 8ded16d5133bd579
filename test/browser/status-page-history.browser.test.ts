/**
 * The status page with history, in headless Chromium with JavaScript switched off:
 *
 * - the demo's six accounts after 70 minutes of polls. The exporter and the simulator run in
 *   process on one fake clock, which the test moves a poll interval at a time (waiting for each
 *   round's polls to land), so an hour of history takes seconds. The draining account shows a
 *   finite "runs out in", the flat ones "not draining", and every row its sparkline. The summary
 *   links and the search box filter the page by plain navigation.
 * - 10,000 accounts: 500 rows a page, and the page links walk them.
 *
 * A screenshot of each is written under the test's temp folder; set KEEP_BROWSER_ARTIFACTS=1 to
 * keep them (their paths are printed).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccountStore } from '../../src/state/account-store.js';
import { loadConfig, nodeConfigSources } from '../../src/config/load.js';
import { startExporter, type RunningExporter } from '../../src/runtime/exporter.js';
import { keyFingerprint } from '../../src/config/keys.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { createApp } from '../../src/http/app.js';
import { createStatusViews } from '../../src/views/service.js';
import { demoAccounts, generateAccounts, startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { launchChromium } from '../support/browser.js';
import { requireProgram } from '../support/external.js';
import { FakeClock } from '../support/fake-clock.js';
import { readRows } from '../support/status-page-rows.js';

const chromiumProgram = requireProgram(['chromium'], 'chromium');
const START = Date.UTC(2026, 10, 26, 9, 0, 0);
const INTERVAL_MS = 60_000;

/** The screenshots the documentation shows (docs/status-page.md); each at most 200 KB. */
const DOC_SCREENSHOTS = {
  desktop: fileURLToPath(new URL('../../docs/status-page.png', import.meta.url)),
  phone: fileURLToPath(new URL('../../docs/status-page-phone.png', import.meta.url)),
} as const;

describe('the committed screenshots', () => {
  it('are PNGs of at most 200 KB', () => {
    for (const file of Object.values(DOC_SCREENSHOTS)) {
      expect(readFileSync(file).subarray(1, 4).toString('latin1'), file).toBe('PNG');
      expect(statSync(file).size, file).toBeLessThanOrEqual(200 * 1024);
    }
  });
});

interface Layout {
  viewport: number;
  scrollWidth: number;
  headerWidth: number;
  /** Elements reaching past either edge of the viewport. */
  wide: string[];
  badges: { text: string; visible: boolean }[];
  ids: { text: string; lines: number; height: number; lineHeight: number }[];
  rowDisplay: string;
  tableDisplay: string;
}

/** Measured in the page (a string: the tests are type-checked without the DOM's types). */
const LAYOUT_PROBE = `(() => {
  const viewport = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .map((el) => ({ el, rect: el.getBoundingClientRect() }))
    // Visually hidden elements (the phone's thead) are clipped to nothing.
    .filter(({ rect }) => rect.width > 1 && (rect.right > viewport + 0.5 || rect.left < -0.5))
    .map(({ el, rect }) => el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(rect.left) + '..' + Math.round(rect.right));
  const badges = [...document.querySelectorAll('tbody .badge')].map((el) => {
    const rect = el.getBoundingClientRect();
    return { text: el.textContent, visible: el.checkVisibility() && rect.width > 0 && rect.left >= 0 && rect.right <= viewport };
  });
  const ids = [...document.querySelectorAll('.rid code')].map((el) => {
    const style = getComputedStyle(el);
    return { text: el.textContent, lines: el.getClientRects().length, height: el.getBoundingClientRect().height, lineHeight: parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.45 };
  });
  const firstRow = document.querySelector('tbody tr');
  return {
    viewport,
    scrollWidth: document.documentElement.scrollWidth,
    headerWidth: document.querySelector('header').getBoundingClientRect().width,
    wide,
    badges,
    ids,
    rowDisplay: firstRow === null ? '' : getComputedStyle(firstRow).display,
    tableDisplay: getComputedStyle(document.querySelector('table')).display,
  };
})()`;

function expectPng(file: string, width: number): void {
  const png = readFileSync(file);
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.readUInt32BE(16)).toBe(width);
  if (process.env.KEEP_BROWSER_ARTIFACTS === '1') console.error(`status page screenshot: ${file}`);
}

describe.skipIf(chromiumProgram.missing)(
  'the status page with history, in headless Chromium without JavaScript',
  () => {
    let workDir: string;
    let context: BrowserContext;

    beforeAll(async () => {
      workDir = mkdtempSync(join(tmpdir(), 'zexa-browser-history-'));
      context = await launchChromium(chromiumProgram.path, workDir, { javaScriptEnabled: false });
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      if (workDir !== undefined && process.env.KEEP_BROWSER_ARTIFACTS !== '1')
        rmSync(workDir, { recursive: true, force: true });
    });

    describe("the demo's six accounts after 70 minutes", () => {
      let clock: FakeClock;
      let sim: ZexaSimulator;
      let exporter: RunningExporter;
      let base: string;

      /** Moves the clock one interval, then waits until every request of that round has its result recorded. */
      async function nextRound(): Promise<void> {
        const before = sim.requestCount();
        await clock.advance(INTERVAL_MS);
        await vi.waitFor(() => expect(sim.requestCount()).toBeGreaterThan(before), { timeout: 15_000, interval: 10 });
        await vi.waitFor(
          () => {
            const last = new Map<string, number>();
            for (const r of sim.requests()) if (r.account !== undefined) last.set(r.account, r.at);
            for (const [name, at] of last) expect(exporter.store.get(name)?.lastPollMs ?? 0).toBeGreaterThanOrEqual(at);
          },
          { timeout: 15_000, interval: 10 },
        );
      }

      beforeAll(async () => {
        clock = new FakeClock({ now: START });
        sim = await startSimulator({ accounts: demoAccounts(), clock });
        const env: Record<string, string> = {
          ZEXA_API_URL: sim.url,
          ZEXA_POLL_INTERVAL: '60s',
          ZEXA_REQUEST_TIMEOUT: '10s',
          // The flaky account's 503 is recorded at once instead of after a back-off on the fake clock.
          ZEXA_MAX_ATTEMPTS: '1',
        };
        for (const account of demoAccounts()) env[`ZEXA_API_KEY_${account.name.toUpperCase()}`] = account.key;
        const config = loadConfig(nodeConfigSources(['--web.listen-address=127.0.0.1:0'], env));
        exporter = await startExporter(config, {
          clock,
          env,
          logDestination: { write: () => undefined },
          processMetrics: false,
        });
        base = exporter.url;
        for (let minute = 0; minute < 70; minute++) await nextRound();
      }, 180_000);

      afterAll(async () => {
        await exporter?.close();
        await sim?.close();
      });

      it('shows a sparkline per account, a finite "runs out in" for the draining one, "not draining" for the flat ones', async () => {
        const page = await context.newPage();
        const response = await page.goto(`${base}/`, { waitUntil: 'load' });
        expect(response?.status()).toBe(200);
        const rows = await readRows(page);
        // Worst first; flaky is ERROR or OK depending on whether its latest poll was the failing third.
        const flakyState = rows.find((r) => r.name === 'flaky')?.state;
        expect(['ERROR', 'OK']).toContain(flakyState);
        expect(rows.filter((r) => r.name !== 'flaky').map((r) => [r.name, r.state])).toEqual([
          ['legacy', 'UNAUTHORIZED'],
          ['marketing', 'CRITICAL'],
          ['analytics', 'FORBIDDEN'],
          ['staging', 'LOW'],
          // 2,900 credits at 1,800 an hour: well within the forecast's 72 h.
          ['production', 'DRAINING'],
        ]);
        const byName = new Map(rows.map((r) => [r.name, r]));
        for (const name of ['production', 'staging', 'marketing', 'flaky'])
          expect(byName.get(name)?.line, name).toBe(true);
        // The two whose key never worked have no balance: instead of an empty chart, the cell says why.
        expect(await page.locator('tbody tr svg').count()).toBe(4);
        expect(byName.get('legacy')?.history).toBe('no data — key rejected (401)');
        expect(byName.get('analytics')?.history).toBe('no data — plan forbids reading credits (403)');
        for (const name of ['legacy', 'analytics']) expect(byName.get(name)?.sparkline, name).toBeNull();
        // Every demo key comes from the environment, read at the account's first poll (the polls
        // are spread over the first interval): 69 or 70 minutes ago.
        for (const row of rows) expect(row.keyAge, row.name).toMatch(/^1 h (9|10) min env$/);
        for (const row of rows) expect(row.key, row.name).toMatch(/^[0-9a-f]{12}$/);

        // 0.5 credits a second: 1,800 an hour; 5,000 − 70 min of it ≈ 2,900, so about 1 h 37 min left.
        const production = byName.get('production');
        // Whole credits: the simulator rounds the balance down, so within a credit or two of 1,800.
        expect(Number(production?.burn.replace(/,|\/h$/g, ''))).toBeCloseTo(1800, -1);
        expect(production?.runsOut).toMatch(/^runs out in ~1 h 3\d min$/);
        expect(production?.sparkline).toMatch(/^(5,000|4,999) → 2,9\d\d USD, 1 h 9 min; warning 1,000, critical 100$/);
        for (const name of ['staging', 'marketing']) expect(byName.get(name)?.runsOut, name).toBe('not draining');
        // The same figures through the API.
        const api = (await (await fetch(`${base}/api/v1/accounts/production`)).json()) as {
          secondsToEmpty: number;
          consumptionPerHour: number;
          history: unknown[];
        };
        expect(api.consumptionPerHour).toBeCloseTo(1800, -1);
        expect(api.secondsToEmpty).toBeGreaterThan(3600);
        expect(api.secondsToEmpty).toBeLessThan(2 * 3600);
        expect(api.history.length).toBeGreaterThan(60);

        expect(await page.getAttribute('meta[http-equiv="refresh"]', 'content')).toBe('60');
        const file = join(workDir, 'status-page-demo.png');
        await page.screenshot({ path: file, fullPage: true });
        expectPng(file, 1280);
        await page.close();
      });

      for (const [device, width, height] of [
        ['phone', 390, 844],
        ['desktop', 1400, 900],
      ] as const) {
        it(`fits a ${device} at ${width}×${height}: nothing wider than the viewport, every badge visible, request_ids whole`, async () => {
          const page = await context.newPage();
          await page.setViewportSize({ width, height });
          await page.goto(`${base}/`, { waitUntil: 'load' });
          const layout = await page.evaluate<Layout>(LAYOUT_PROBE);
          expect(layout.viewport).toBe(width);
          expect(layout.scrollWidth).toBe(width);
          expect(layout.wide).toEqual([]);
          // The dark header spans the page.
          expect(layout.headerWidth).toBe(width);
          expect(layout.badges.map((b) => b.text).sort()).toEqual(
            ['CRITICAL', 'DRAINING', 'FORBIDDEN', 'LOW', 'UNAUTHORIZED', expect.stringMatching(/^(ERROR|OK)$/)].sort(),
          );
          for (const badge of layout.badges) expect(badge.visible, badge.text).toBe(true);
          // legacy (401) and analytics (403) show their request_id, each on one line.
          expect(layout.ids.length).toBeGreaterThanOrEqual(2);
          for (const id of layout.ids) {
            expect(id.text).toMatch(/^req_[0-9a-f]{32}$/);
            expect(id.lines, id.text).toBe(1);
            expect(id.height).toBeLessThan(id.lineHeight * 1.5);
          }
          if (device === 'phone') {
            // Cards: name and state first, then balance, "runs out", last success, the sparkline.
            expect(layout.tableDisplay).toBe('block');
            expect(layout.rowDisplay).toBe('grid');
            const order = await page.evaluate<string[]>(`[...document.querySelectorAll('tbody tr:first-child > *')]
            .map((c) => ({ text: c.innerText.split('\\n')[0] ?? '', top: c.getBoundingClientRect().top }))
            .sort((a, b) => a.top - b.top)
            .map((c) => c.text)`);
            expect(order[0]).toBe('legacy');
            // The error is cut to two lines.
            const error = await page.evaluate<{ height: number; line: number }>(`(() => {
            const el = document.querySelector('tbody tr:first-child .em');
            return { height: el.getBoundingClientRect().height, line: parseFloat(getComputedStyle(el).lineHeight) };
          })()`);
            expect(error.height).toBeLessThanOrEqual(error.line * 2 + 1);
          } else {
            // The desktop keeps its table.
            expect(layout.tableDisplay).toBe('table');
            expect(layout.rowDisplay).toBe('table-row');
          }
          const file = join(workDir, `status-page-${device}.png`);
          await page.screenshot({ path: file, fullPage: device === 'phone' });
          expectPng(file, width);
          // UPDATE_SCREENSHOTS=1 refreshes the documentation's pictures from this very page.
          if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(file, DOC_SCREENSHOTS[device]);
          await page.close();
        });
      }

      it('filters by state through the summary links and by name through the search box, with no script', async () => {
        const page = await context.newPage();
        await page.goto(`${base}/`, { waitUntil: 'load' });
        expect(await page.locator('script').count()).toBe(0);
        await Promise.all([page.waitForURL(/\?state=critical$/), page.click('nav.states a:has(.b-critical)')]);
        expect((await readRows(page)).map((r) => r.name)).toEqual(['marketing']);
        expect(await page.getAttribute('nav.states a:has(.b-critical)', 'aria-current')).toBe('page');

        await page.fill('input[name="q"]', 'PROD');
        await Promise.all([page.waitForURL(/\?q=PROD&state=critical$/), page.click('form.search button')]);
        // The state filter is kept: no critical account matches "prod".
        expect(await readRows(page)).toEqual([]);
        expect(await page.textContent('p.empty')).toContain('no account matches');
        await Promise.all([page.waitForURL(/\?q=prod$/), page.click('nav.states a.all')]);
        expect((await readRows(page)).map((r) => r.name)).toEqual(['production']);
        expect(await page.inputValue('input[name="q"]')).toBe('prod');
        await page.close();
      });
    });

    describe('10,000 accounts', () => {
      let server: Server;
      let base: string;
      let store: AccountStore;

      beforeAll(async () => {
        store = new AccountStore();
        const accounts = generateAccounts(10_000);
        store.configure(accounts.map((a) => ({ name: a.name, thresholds: { warning: 1000, critical: 100 } })));
        // Every 1,000th account is critical: problems first, then the rest in natural order.
        accounts.forEach((a, i) =>
          store.recordSuccess(a.name, { credits: i % 1000 === 999 ? 50 : a.credits, currency: 'USD', atMs: START }),
        );
        // The key columns filled as a platform's would be: half the keys from files, up to 4 months
        // old (a quarter of those due for rotation), the rest from the environment, a few shared.
        accounts.forEach((a, i) =>
          store.setKey(a.name, {
            fingerprint: keyFingerprint(a.key),
            source: i % 2 === 0 ? 'file' : 'env',
            lastChangeMs: i % 2 === 0 ? START - (i % 120) * 86_400_000 : START - 3_600_000,
            shared: i % 250 === 0,
          }),
        );
        const clock = new FakeClock({ now: START + 60_000 });
        const views = createStatusViews({
          store,
          clock,
          context: () => ({ version: 'test', intervalMs: INTERVAL_MS }),
        });
        const app = createApp({
          metrics: new ExporterMetrics(store, { version: 'test', nodeVersion: process.version, processMetrics: false }),
          isReady: () => true,
          views,
        });
        server = createServer(app);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      });

      afterAll(async () => {
        server?.closeAllConnections();
        await new Promise<void>((resolve) => server?.close(() => resolve()));
      });

      async function pageNumber(page: Page): Promise<string> {
        return (await page.textContent('nav.pages span')) ?? '';
      }

      it('shows 500 rows a page, problems first, and its links walk every page', async () => {
        const html = await (await fetch(`${base}/`)).text();
        console.error(`first page at 10,000 accounts: ${Buffer.byteLength(html)} bytes`);
        expect(Buffer.byteLength(html)).toBeLessThanOrEqual(300 * 1024);

        const page = await context.newPage();
        await page.goto(`${base}/`, { waitUntil: 'load' });
        let rows = await readRows(page);
        expect(rows).toHaveLength(500);
        expect(rows.slice(0, 10).map((r) => r.state)).toEqual(Array(10).fill('CRITICAL'));
        expect(rows.slice(0, 2).map((r) => r.name)).toEqual(['acct_01000', 'acct_02000']);
        expect(rows.slice(10, 12).map((r) => r.name)).toEqual(['acct_00001', 'acct_00002']);
        expect(rows.slice(10, 12).map((r) => [r.key, r.keyAge])).toEqual([
          [expect.stringMatching(/^[0-9a-f]{12} ⚠ shared with another account$/), '1 min file'],
          [expect.stringMatching(/^[0-9a-f]{12}$/), '1 h 1 min env'],
        ]);
        expect(await pageNumber(page)).toBe('Page 1 of 20 · rows 1–500 of 10,000');
        const file = join(workDir, 'status-page-10000.png');
        await page.screenshot({ path: file });
        expectPng(file, 1280);

        await Promise.all([page.waitForURL(/\?page=2$/), page.click('a[rel="next"]')]);
        rows = await readRows(page);
        expect(rows).toHaveLength(500);
        expect(rows[0]?.name).toBe('acct_00491');
        expect(await pageNumber(page)).toBe('Page 2 of 20 · rows 501–1,000 of 10,000');
        await Promise.all([page.waitForURL(/\?page=20$/), page.click('a[rel="last"]')]);
        rows = await readRows(page);
        expect(rows).toHaveLength(500);
        expect(rows.at(-1)?.name).toBe('acct_09999');
        expect(await page.locator('a[rel="next"]').count()).toBe(0);
        await Promise.all([page.waitForURL(/\?page=19$/), page.click('a[rel="prev"]')]);
        expect(await pageNumber(page)).toBe('Page 19 of 20 · rows 9,001–9,500 of 10,000');
        await Promise.all([page.waitForURL(/\/$/), page.click('a[rel="first"]')]);
        expect(await pageNumber(page)).toBe('Page 1 of 20 · rows 1–500 of 10,000');
        await page.close();
      });
    });
  },
);
