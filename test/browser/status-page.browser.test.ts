/**
 * The status page in a real browser (issue 4 §5): the built exporter as a process, polling the
 * simulator through a loopback front that answers one account with a hostile error body, and
 * Debian's Chromium driven by playwright-core. Proves that every account state renders as a row
 * a person can read, and that markup smuggled in through the API's error message or request_id
 * is shown as text and never runs, with the page's CSP and without it (the escaping alone).
 *
 * Set KEEP_BROWSER_ARTIFACTS=1 to keep the screenshot (its path is printed) for a look.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimAccountSpec, type ZexaSimulator } from '../../src/simulator/index.js';
import { launchChromium } from '../support/browser.js';
import { requireProgram } from '../support/external.js';
import { until } from '../support/exporter-harness.js';
import { runExporter, type ExporterProcess } from '../support/process.js';
import { readRows } from '../support/status-page-rows.js';
import { expectNoKey } from '../support/leak.js';

const chromiumProgram = requireProgram(['chromium'], 'chromium');

const HOSTILE_MESSAGE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const HOSTILE_REQUEST_ID = '<script>window.__pwned=3</script>';
const HOSTILE_KEY = 'zx_browser_hostile_7c1d9e2f';
/** Answered 200 with this currency: markup, which the client refuses (a currency is 3 to 8 letters or digits). */
const HOSTILE_CURRENCY = '<img src=x onerror=__pwned=7>';
const HOSTILE_CURRENCY_KEY = 'zx_browser_currency_3b4c5d6e';
/** Reflected into the page by the search box, the links and the caption. */
const HOSTILE_QUERY = '"><script>window.__pwned=5</script><img src=x onerror="window.__pwned=6">';

/** One account per state of the status page; thresholds are the defaults (1,000 / 100). */
const SIM_ACCOUNTS: SimAccountSpec[] = [
  { name: 'healthy', key: 'zx_browser_healthy_0a1b2c3d', credits: 4250 },
  { name: 'running_low', key: 'zx_browser_low_4e5f6a7b', credits: 640 },
  { name: 'almost_out', key: 'zx_browser_critical_8c9d0e1f', credits: 42 },
  { name: 'revoked', key: 'zx_browser_revoked_2a3b4c5d', credits: 1500, revoked: true },
  { name: 'wrong_plan', key: 'zx_browser_forbidden_6e7f8a9b', credits: 3100, forbidden: true },
  { name: 'broken', key: 'zx_browser_broken_0c1d2e3f', credits: 2500, fault: { kind: 'server_error', status: 503 } },
  { name: 'stuck', key: 'zx_browser_stuck_4a5b6c7d', credits: 900, fault: { kind: 'hang' } },
];

const EXPECTED_STATE: Record<string, string> = {
  healthy: 'OK',
  running_low: 'LOW',
  almost_out: 'CRITICAL',
  revoked: 'UNAUTHORIZED',
  wrong_plan: 'FORBIDDEN',
  broken: 'ERROR',
  stuck: 'PENDING',
  hostile: 'ERROR',
  odd_currency: 'ERROR',
  copycat: 'OK',
};

/** The key's fingerprint as the page shows it: the first 12 hex digits of its SHA-256. */
function fingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

interface Front {
  url: string;
  hostileRequests: number;
  close(): Promise<void>;
}

/**
 * A stand-in for the Zexa API: the hostile account's key gets a 400 whose body carries markup;
 * every other request is passed through to the simulator as is (hangs included).
 */
async function startFront(simUrl: string): Promise<Front> {
  const target = new URL(simUrl);
  const front: Front = { url: '', hostileRequests: 0, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization === `Bearer ${HOSTILE_CURRENCY_KEY}`) {
      front.hostileRequests += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ credits: 5000, currency: HOSTILE_CURRENCY }));
      return;
    }
    if (req.headers.authorization === `Bearer ${HOSTILE_KEY}`) {
      front.hostileRequests += 1;
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: HOSTILE_MESSAGE, request_id: HOSTILE_REQUEST_ID } }));
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    // The exporter giving up on a hung request ends the simulator's side too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return front;
}

interface Watch {
  dialogs: string[];
  pageErrors: string[];
  consoleErrors: string[];
}

function watch(page: Page): Watch {
  const seen: Watch = { dialogs: [], pageErrors: [], consoleErrors: [] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => seen.pageErrors.push(error.message));
  page.on('console', (message) => {
    // The browser's own favicon request gets the exporter's plain 404, as any unknown path does.
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico'))
      seen.consoleErrors.push(message.text());
  });
  return seen;
}

describe.skipIf(chromiumProgram.missing)('the status page in headless Chromium', () => {
  let sim: ZexaSimulator;
  let front: Front;
  let exporter: ExporterProcess;
  let base: string;
  let context: BrowserContext;
  let workDir: string;

  beforeAll(async () => {
    sim = await startSimulator({ accounts: SIM_ACCOUNTS });
    front = await startFront(sim.url);
    const env: Record<string, string> = {
      ZEXA_API_URL: front.url,
      // A long timeout keeps the hung account PENDING for the whole test; one attempt makes the
      // 503 account show ERROR at its first poll instead of after the retry back-off.
      ZEXA_POLL_INTERVAL: '60s',
      ZEXA_REQUEST_TIMEOUT: '60s',
      ZEXA_MAX_ATTEMPTS: '1',
      ZEXA_API_KEY_HOSTILE: HOSTILE_KEY,
      ZEXA_API_KEY_ODD_CURRENCY: HOSTILE_CURRENCY_KEY,
      // healthy's key pasted into a second account: both rows are marked shared.
      ZEXA_API_KEY_COPYCAT: SIM_ACCOUNTS[0]?.key ?? '',
    };
    for (const account of SIM_ACCOUNTS) env[`ZEXA_API_KEY_${account.name.toUpperCase()}`] = account.key;
    exporter = runExporter(['--web.listen-address=127.0.0.1:0'], env);
    base = `http://127.0.0.1:${await exporter.port()}`;
    // Every account but the hung one has finished its first poll.
    await until(
      async () => {
        const html = await (await fetch(`${base}/`)).text();
        return (html.match(/<td><span class="badge b-pending">/g) ?? []).length === 1 && front.hostileRequests >= 2;
      },
      20_000,
      'the first poll of every account but the hung one',
    );
    workDir = mkdtempSync(join(tmpdir(), 'zexa-browser-'));
    context = await launchChromium(chromiumProgram.path, workDir);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (exporter !== undefined) {
      exporter.kill('SIGTERM');
      await exporter.exited;
    }
    await front?.close();
    await sim?.close();
    if (workDir !== undefined && process.env.KEEP_BROWSER_ARTIFACTS !== '1')
      rmSync(workDir, { recursive: true, force: true });
  });

  it('renders one row per account, each in its state, worst first', async () => {
    const page = await context.newPage();
    const seen = watch(page);
    const response = await page.goto(`${base}/`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Zexa Exporter');

    const rows = await readRows(page);
    expect(Object.fromEntries(rows.map((r) => [r.name, r.state]))).toEqual(EXPECTED_STATE);
    expect(rows.map((r) => r.state)).toEqual([
      'UNAUTHORIZED',
      'CRITICAL',
      'FORBIDDEN',
      'ERROR',
      'ERROR',
      'ERROR',
      'LOW',
      'PENDING',
      'OK',
      'OK',
    ]);

    const byName = new Map(rows.map((r) => [r.name, r]));
    expect(byName.get('healthy')?.balance).toBe('4,250 USD');
    expect(byName.get('running_low')?.balance).toBe('640 USD');
    expect(byName.get('almost_out')?.balance).toBe('42 USD');
    expect(byName.get('healthy')?.sparkline).toMatch(/; warning 1,000, critical 100$/);
    expect(byName.get('healthy')?.line).toBe(true);
    expect(byName.get('healthy')?.runsOut).toBe('not draining');
    expect(byName.get('revoked')?.line).toBe(false);
    // Every row with a balance has its sparkline, with the thresholds drawn; the others say why
    // they have none instead of showing an empty chart.
    const drawn = rows.filter((r) => r.balance !== '—');
    expect(drawn.map((r) => r.name).sort()).toEqual(['almost_out', 'copycat', 'healthy', 'running_low']);
    expect(await page.locator('tbody svg').count()).toBe(drawn.length);
    expect(await page.locator('tbody svg path.tw').count()).toBe(drawn.length);
    expect(await page.locator('tbody svg path.tc').count()).toBe(drawn.length);
    expect(byName.get('revoked')?.history).toBe('no data — key rejected (401)');
    expect(byName.get('wrong_plan')?.history).toBe('no data — plan forbids reading credits (403)');
    expect(byName.get('broken')?.history).toBe('no data — every poll failed so far');
    expect(byName.get('stuck')?.history).toBe('no data yet — first poll running');
    for (const r of drawn) expect(r.history, r.name).toBe('');
    // The key columns: a fingerprint per key read, never the key; copycat pasted healthy's key.
    for (const r of rows.filter((row) => row.name !== 'stuck'))
      expect(r.keyAge, r.name).toMatch(/^(under 1 min|\d+ min) env$/);
    expect(byName.get('healthy')?.key).toBe(`${fingerprint(SIM_ACCOUNTS[0]?.key ?? '')} ⚠ shared with copycat`);
    expect(byName.get('copycat')?.key).toBe(`${fingerprint(SIM_ACCOUNTS[0]?.key ?? '')} ⚠ shared with healthy`);
    expect(byName.get('hostile')?.key).toBe(fingerprint(HOSTILE_KEY));
    expect(byName.get('revoked')?.key).toBe(fingerprint(SIM_ACCOUNTS[3]?.key ?? ''));
    // The key columns show no slice of a key (the whole page holds words like "critical" that the
    // test keys are made of, so only whole keys are looked for there).
    const keys = [...SIM_ACCOUNTS.map((a) => a.key), HOSTILE_KEY, HOSTILE_CURRENCY_KEY];
    expectNoKey('the Key and Key age columns', rows.map((r) => `${r.key} ${r.keyAge}`).join('\n'), keys);
    const html = await page.content();
    for (const key of keys) expect(html.includes(key), 'a key in the status page').toBe(false);
    expect(byName.get('stuck')?.balance).toBe('—');
    expect(byName.get('stuck')?.error).toBe('—');
    expect(byName.get('revoked')?.error).toMatch(/^unauthorized \(HTTP 401\): /);
    expect(byName.get('revoked')?.requestId).toMatch(/^req_[0-9a-f]{32}$/);
    expect(byName.get('wrong_plan')?.error).toMatch(/^forbidden \(HTTP 403\): /);
    expect(byName.get('broken')?.error).toMatch(/^server_error \(HTTP 503\): /);

    // The summary counts agree with the rows.
    const summary = await page.$$eval('nav.states a', (links) =>
      links.map((a) => [...a.children].map((c) => c.textContent).join(' ')),
    );
    expect(summary).toEqual([
      '10',
      'UNAUTHORIZED 1',
      'CRITICAL 1',
      'FORBIDDEN 1',
      'ERROR 3',
      'LOW 1',
      'PENDING 1',
      'OK 2',
    ]);

    // The inline stylesheet applies under the page's own CSP: badges are coloured per state.
    const colours = await page.$$eval('tbody .badge', (badges) =>
      badges.map(
        (b) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b)
            .backgroundColor,
      ),
    );
    expect(new Set(colours).size).toBe(7);
    // Proper headers: a column header per column, and the account name heads its row.
    expect(await page.locator('thead th[scope="col"]').count()).toBe(10);
    expect(await page.locator('tbody th[scope="row"]').count()).toBe(rows.length);
    expect(colours).not.toContain('rgba(0, 0, 0, 0)');

    expect(seen.dialogs).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
    expect(seen.consoleErrors).toEqual([]);
    await page.close();
  });

  it('shows markup from the API as text and never runs it (with the CSP in force)', async () => {
    expect(front.hostileRequests).toBeGreaterThan(0);
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${base}/`, { waitUntil: 'load' });
    // Give an onerror handler of a broken image every chance to fire.
    await page.waitForTimeout(300);

    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(seen.dialogs).toEqual([]);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    const hostile = (await readRows(page)).find((r) => r.name === 'hostile');
    expect(hostile?.state).toBe('ERROR');
    expect(hostile?.error).toContain(`client_error (HTTP 400)`);
    expect(hostile?.error).toContain(HOSTILE_MESSAGE);
    expect(hostile?.requestId).toBe(HOSTILE_REQUEST_ID);
    // A currency that is no currency code refuses the answer; the markup is shown nowhere.
    const odd = (await readRows(page)).find((r) => r.name === 'odd_currency');
    expect(odd?.balance).toBe('—');
    expect(odd?.error).toContain('currency must be 3 to 8 letters or digits');
    expect(odd?.error).not.toContain(HOSTILE_CURRENCY);
    // Nothing was even attempted: a blocked inline script would have logged a CSP violation.
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
    await page.close();
  });

  it('shows a hostile search reflected from the address as text, in the box, the links and the caption', async () => {
    const page = await context.newPage();
    const seen = watch(page);
    const response = await page.goto(`${base}/?state=ok&q=${encodeURIComponent(HOSTILE_QUERY)}`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.inputValue('input[name="q"]')).toBe(HOSTILE_QUERY.toLowerCase());
    expect(await page.textContent('main')).toContain(`matching “${HOSTILE_QUERY.toLowerCase()}”`);
    // The filter links carry the search on, encoded.
    const href = await page.getAttribute('nav.states a.all', 'href');
    expect(new URL(href ?? '', `${base}/`).searchParams.get('q')).toBe(HOSTILE_QUERY.toLowerCase());
    // Without the CSP, by escaping alone.
    const html = await (await fetch(`${base}/?q=${encodeURIComponent(HOSTILE_QUERY)}`)).text();
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(seen.dialogs).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
    await page.close();
  });

  it('keeps markup inert by escaping alone, without the CSP header', async () => {
    const html = await (await fetch(`${base}/`)).text();
    // Control: the same setup runs the payload when it is not escaped, so the check is not vacuous.
    const control = await context.newPage();
    await control.setContent(`<!DOCTYPE html><body>${HOSTILE_MESSAGE}</body>`, { waitUntil: 'load' });
    await control.waitForFunction(() => (globalThis as { __pwned?: unknown }).__pwned !== undefined);
    expect(await control.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeDefined();
    await control.close();

    const page = await context.newPage();
    const seen = watch(page);
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    const rows = await readRows(page);
    expect(rows.filter((r) => r.error.includes(HOSTILE_MESSAGE)).map((r) => r.name)).toEqual(['hostile']);
    expect(rows.filter((r) => r.balance.includes(HOSTILE_CURRENCY)).map((r) => r.name)).toEqual([]);
    expect(rows.find((r) => r.name === 'copycat')?.key).toContain('⚠ shared with healthy');
    expect(seen.dialogs).toEqual([]);
    await page.close();
  });

  it('takes a full-page screenshot that is a real PNG', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/`, { waitUntil: 'load' });
    const file = join(workDir, 'status-page.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height of the image, big-endian, right after the signature and chunk header.
    expect(png.readUInt32BE(16)).toBe(1280);
    expect(png.readUInt32BE(20)).toBeGreaterThan(200);
    expect(png.length).toBeGreaterThan(10_000);
    if (process.env.KEEP_BROWSER_ARTIFACTS === '1') console.error(`status page screenshot: ${file}`);
    await page.close();
  });
});
