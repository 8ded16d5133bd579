import { describe, expect, it } from 'vitest';
import { AccountStore } from '../../../src/state/account-store.js';
import { escapeHtml } from '../../../src/views/escape.js';
import { formatBurn, formatDurationSeconds } from '../../../src/views/format.js';
import { naturalCompare } from '../../../src/views/natural-sort.js';
import { paginate, parseAccountQuery, queryString, PAGE_SIZE } from '../../../src/views/query.js';
import { selectAccounts } from '../../../src/views/selection.js';
import { createStatusViews } from '../../../src/views/service.js';
import { FakeClock } from '../../support/fake-clock.js';

const thresholds = { warning: 1000, critical: 100 };
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const MIN = 60_000;

function views(store: AccountStore, now = NOW): ReturnType<typeof createStatusViews> {
  const clock = new FakeClock({ now });
  return createStatusViews({ store, clock, context: () => ({ version: '1.0.0', intervalMs: 60_000 }) });
}

function page(store: AccountStore, query: Record<string, unknown> = {}): string {
  const rendered = views(store).page(query);
  expect(rendered.status).toBe(200);
  return rendered.body;
}

function rowOf(html: string, name: string): string {
  const match = new RegExp(`<tr(?: class="s-[a-z]+")?><th scope="row">${name}</th>.*?</tr>`).exec(html);
  if (match === null) throw new Error(`no row for ${name}`);
  return match[0];
}

function names(html: string): string[] {
  return [...html.matchAll(/<th scope="row">([^<]*)<\/th>/g)].map((m) => m[1] as string);
}

describe('status page', () => {
  it('shows every state with balance, thresholds, last success and the error with its request_id', () => {
    const store = new AccountStore();
    const all = ['ok', 'low', 'crit', 'revoked', 'forbidden', 'flaky', 'pending'];
    store.configure(all.map((name) => ({ name, thresholds })));
    store.recordSuccess('ok', { credits: 4250, currency: 'USD', atMs: NOW - 30_000 });
    store.recordSuccess('low', { credits: 640, currency: 'USD', atMs: NOW - 30_000 });
    store.recordSuccess('crit', { credits: 42, currency: 'USD', atMs: NOW - 30_000 });
    store.recordFailure('revoked', {
      reason: 'unauthorized',
      message: 'key rejected',
      status: 401,
      requestId: 'req_abc123',
      attempts: 1,
      atMs: NOW,
    });
    store.recordFailure('forbidden', {
      reason: 'forbidden',
      message: 'plan',
      status: 403,
      requestId: 'req_f',
      attempts: 1,
      atMs: NOW,
    });
    store.recordSuccess('flaky', { credits: 3000, currency: 'USD', atMs: NOW - 600_000 });
    store.recordFailure('flaky', {
      reason: 'server_error',
      message: 'HTTP 503',
      status: 503,
      requestId: undefined,
      attempts: 3,
      atMs: NOW,
    });
    const html = page(store);
    expect(rowOf(html, 'ok')).toContain('>OK<');
    expect(rowOf(html, 'ok')).toContain('4,250 <small>USD</small>');
    expect(rowOf(html, 'low')).toContain('>LOW<');
    expect(rowOf(html, 'crit')).toContain('>CRITICAL<');
    expect(rowOf(html, 'revoked')).toContain('>UNAUTHORIZED<');
    expect(rowOf(html, 'revoked')).toContain('req_abc123');
    expect(rowOf(html, 'forbidden')).toContain('>FORBIDDEN<');
    expect(rowOf(html, 'flaky')).toContain('>ERROR<');
    expect(rowOf(html, 'flaky')).toContain('3,000 <small>USD</small>');
    expect(rowOf(html, 'flaky')).toContain('after 3 attempts');
    expect(rowOf(html, 'flaky')).toContain('10m ago<small>2026-11-26T11:50:00Z</small>');
    expect(rowOf(html, 'pending')).toContain('>PENDING<');
    // Only the states with a colour bar mark their row (the bar is not the only signal: the badge says it).
    expect(rowOf(html, 'crit')).toMatch(/^<tr class="s-critical">/);
    expect(rowOf(html, 'low')).toMatch(/^<tr class="s-low">/);
    expect(rowOf(html, 'ok')).toMatch(/^<tr><th/);
    expect(rowOf(html, 'pending')).toMatch(/^<tr><th/);
    // The thresholds are drawn in the sparkline and named in its title.
    expect(rowOf(html, 'ok')).toContain('warning 1,000, critical 100</title>');
    expect(rowOf(html, 'ok')).toMatch(/<path class="tw" d="M0 \d+H132"\/><path class="tc" d="M0 \d+H132"\/>/);
    expect(html).toContain('href="metrics"');
    expect(html).toContain('<meta http-equiv="refresh" content="60">');
    expect(html).toContain('<th scope="col">Account</th>');
    // Trouble first: the worst states are listed before the healthy ones.
    expect(names(html)).toEqual(['revoked', 'crit', 'forbidden', 'flaky', 'low', 'pending', 'ok']);
    // The summary: a link per state, filtering to it.
    expect(html).toContain(
      '<a href="./?state=critical" title="balance at or below the critical threshold: sending stops at zero"><span class="badge b-critical">CRITICAL</span><strong>1</strong></a>',
    );
  });

  it('shows the burn, the time to empty or "not draining", and top-ups', () => {
    const store = new AccountStore();
    store.configure(['drain', 'flat', 'young', 'soon'].map((name) => ({ name, thresholds })));
    for (let m = 0; m <= 120; m++) {
      store.recordSuccess('soon', { credits: 2410 - 20 * m, currency: 'USD', atMs: NOW - (120 - m) * MIN });
      store.recordSuccess('drain', {
        credits: 10_000 - 20 * m + (m >= 60 ? 500 : 0),
        currency: 'USD',
        atMs: NOW - (120 - m) * MIN,
      });
      store.recordSuccess('flat', { credits: 4250, currency: 'USD', atMs: NOW - (120 - m) * MIN });
      if (m >= 100)
        store.recordSuccess('young', { credits: 5000 - 20 * m, currency: 'USD', atMs: NOW - (120 - m) * MIN });
    }
    const html = page(store);
    // 20 a minute less the minute of the top-up: 119 × 20 over 2 h.
    expect(rowOf(html, 'drain')).toContain('1,190/h');
    expect(rowOf(html, 'drain')).toContain('+480 topped up');
    // 8,100 at 1,190 an hour: 6.8 h.
    expect(rowOf(html, 'drain')).toContain('runs out in <strong>~6 h 48 min</strong>');
    // 10 left at 1,200 an hour: 30 s, said without a "~" in front of "under".
    expect(rowOf(html, 'soon')).toContain('runs out in <strong>under 1 min</strong>');
    expect(rowOf(html, 'flat')).toContain('not draining');
    expect(rowOf(html, 'young')).toContain('estimate after 1 h of history');
    expect(rowOf(html, 'drain')).toMatch(/<path class="bl" d="M0 \d+([lhv][\d -]+)+"\/>/);
  });

  it('escapes every value that came from configuration or the API', () => {
    const store = new AccountStore();
    store.configure([{ name: '<script>alert(1)</script>', thresholds }]);
    store.recordSuccess('<script>alert(1)</script>', { credits: 5, currency: '<b>X</b>', atMs: NOW - 2 * MIN });
    store.recordFailure('<script>alert(1)</script>', {
      reason: 'client_error',
      message: '<img src=x onerror=alert(2)>',
      status: 400,
      requestId: '"><script>alert(3)</script>',
      attempts: 1,
      atMs: NOW,
    });
    const html = page(store);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
    expect(html).toContain('&lt;b&gt;X&lt;/b&gt;');
  });

  it('escapes the query parameters it reflects into the page', () => {
    const store = new AccountStore();
    store.configure([{ name: 'a', thresholds }]);
    const q = '"><script>alert(4)</script>&\'';
    const html = page(store, { q, state: 'ok' });
    expect(html).not.toContain('<script>');
    expect(html).toContain(`value="${escapeHtml(q.toLowerCase())}"`);
    expect(html).toContain(`href="./?state=ok&amp;q=${escapeHtml(encodeURIComponent(q.toLowerCase()))}`);
    const bad = views(store).page({ state: '<script>x</script>', page: '0' });
    expect(bad.status).toBe(400);
    expect(bad.body).not.toContain('<script>');
    expect(bad.body).toContain(
      'state: must be one of unauthorized, critical, forbidden, error, low, draining, pending, ok',
    );
    expect(bad.body).toContain('page: must be a whole number from 1 to 999999');
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('filters by state and by part of the name, and counts states among the matches', () => {
    const store = new AccountStore();
    store.configure(['prod_eu', 'prod_us', 'staging', 'prod_asia'].map((name) => ({ name, thresholds })));
    store.recordSuccess('prod_eu', { credits: 50, currency: 'USD', atMs: NOW });
    store.recordSuccess('prod_us', { credits: 5000, currency: 'USD', atMs: NOW });
    store.recordSuccess('staging', { credits: 50, currency: 'USD', atMs: NOW });
    expect(names(page(store, { state: 'critical' }))).toEqual(['prod_eu', 'staging']);
    expect(names(page(store, { q: 'PROD' }))).toEqual(['prod_eu', 'prod_asia', 'prod_us']);
    const both = page(store, { q: 'prod', state: 'CRITICAL' });
    expect(names(both)).toEqual(['prod_eu']);
    expect(both).toContain('<input type="hidden" name="state" value="critical">');
    expect(both).toContain('All <strong>3</strong>');
    expect(page(store, { q: 'nothing' })).toContain('no account matches.');
  });
});

describe('DRAINING: an OK balance that runs out within the forecast horizon', () => {
  const START = NOW - 3 * 3600_000;
  /** 1,800 credits an hour (30 a minute) from `from` for each account, polled every minute up to `minutes`. */
  function drainingStore(minutes: number): AccountStore {
    const store = new AccountStore();
    store.configure(
      ['production', 'just_under', 'just_over', 'flat', 'low', 'pending'].map((name) => ({ name, thresholds })),
    );
    const from: Record<string, number> = {
      production: 5000,
      just_under: 129_000 + 30 * minutes,
      just_over: 130_500 + 30 * minutes,
    };
    for (let m = 0; m <= minutes; m++) {
      const atMs = START + m * MIN;
      for (const [name, credits] of Object.entries(from))
        store.recordSuccess(name, { credits: credits - 30 * m, currency: 'USD', atMs });
      store.recordSuccess('flat', { credits: 4250, currency: 'USD', atMs });
      store.recordSuccess('low', { credits: 640, currency: 'USD', atMs });
    }
    return store;
  }
  const at = (store: AccountStore, minutes: number): ReturnType<typeof createStatusViews> =>
    views(store, START + minutes * MIN);

  it('says "estimating" for the first 30 minutes and is OK until an hour of history gives a forecast', () => {
    const store = drainingStore(11);
    const html = at(store, 11).page({}).body;
    // After 11 minutes the 30-minute divisor reads 1,800/h as 660/h: not shown.
    expect(rowOf(html, 'production')).toContain('estimating');
    expect(rowOf(html, 'production')).not.toMatch(/\d\/h/);
    expect(rowOf(html, 'production')).toContain('>OK<');
    const later = drainingStore(45);
    expect(rowOf(at(later, 45).page({}).body, 'production')).toContain('1,800/h');
    expect(rowOf(at(later, 45).page({}).body, 'production')).toContain('>OK<');
  });

  it('turns DRAINING once the forecast says under 72 h, coloured, sorted above PENDING and OK', () => {
    const store = drainingStore(61);
    const html = at(store, 61).page({}).body;
    expect(rowOf(html, 'production')).toMatch(
      /^<tr><th scope="row">production<\/th><td><span class="badge b-draining">DRAINING<\/span>/,
    );
    // 129,000 at 1,800/h is 71.7 h; 130,500 is 72.5 h.
    expect(rowOf(html, 'just_under')).toContain('>DRAINING<');
    expect(rowOf(html, 'just_over')).toContain('>OK<');
    expect(names(html)).toEqual(['low', 'just_under', 'production', 'pending', 'flat', 'just_over']);
    expect(html).toMatch(/\.b-draining\{background:#[0-9a-f]{6}\}/);
    // Time passing without polls does not make it OK again: the forecast only grows closer.
    expect(rowOf(at(store, 90).page({}).body, 'production')).toContain('>DRAINING<');
  });

  it('has a filter chip, and ?state=draining selects it on the page and in the API', () => {
    const store = drainingStore(61);
    const v = at(store, 61);
    const html = v.page({}).body;
    expect(html).toContain(
      '<a href="./?state=draining" title="above the warning threshold, but runs out within 72 h at the burn of the last 6 h"><span class="badge b-draining">DRAINING</span><strong>2</strong></a>',
    );
    expect(names(v.page({ state: 'draining' }).body)).toEqual(['just_under', 'production']);
    const api = JSON.parse(v.accounts({ state: 'DRAINING' }).body) as {
      counts: Record<string, number>;
      accounts: { name: string; state: string }[];
    };
    expect(api.accounts.map((a) => [a.name, a.state])).toEqual([
      ['just_under', 'DRAINING'],
      ['production', 'DRAINING'],
    ]);
    expect(api.counts).toEqual({ LOW: 1, DRAINING: 2, PENDING: 1, OK: 2 });
    expect(JSON.parse(v.account('production').body)).toMatchObject({ state: 'DRAINING' });
    expect(JSON.parse(v.accounts({ state: 'bogus' }).body).problems).toEqual([
      'state: must be one of unauthorized, critical, forbidden, error, low, draining, pending, ok',
    ]);
  });
});

describe('natural sort', () => {
  it('orders digit runs by their value, a2 before a10', () => {
    const sorted = ['a10', 'a2', 'a1', 'a100', 'b', 'a', 'a02', 'a_1', 'x9y10', 'x9y9', 'x10'].sort(naturalCompare);
    expect(sorted).toEqual(['a', 'a1', 'a02', 'a2', 'a10', 'a100', 'a_1', 'b', 'x9y9', 'x9y10', 'x10']);
  });

  it('compares numbers longer than any integer exactly, and is a total order', () => {
    expect(naturalCompare('n123456789012345678901', 'n123456789012345678902')).toBeLessThan(0);
    expect(naturalCompare('n99999999999999999999', 'n100000000000000000000')).toBeLessThan(0);
    expect(naturalCompare('a01', 'a1')).toBeLessThan(0);
    expect(naturalCompare('a1', 'a01')).toBeGreaterThan(0);
    expect(naturalCompare('same', 'same')).toBe(0);
  });

  it('sorts the page by name within each state', () => {
    const store = new AccountStore();
    store.configure(['a10', 'a2', 'a1', 'b3', 'b20'].map((name) => ({ name, thresholds })));
    for (const name of ['a10', 'a2', 'a1', 'b20'])
      store.recordSuccess(name, { credits: 5000, currency: 'USD', atMs: NOW });
    store.recordSuccess('b3', { credits: 5, currency: 'USD', atMs: NOW });
    expect(names(page(store))).toEqual(['b3', 'a1', 'a2', 'a10', 'b20']);
  });
});

describe('pagination', () => {
  it('slices pages of 500, the last one short, a page past the end empty', () => {
    const items = [...Array(1001).keys()];
    expect(PAGE_SIZE).toBe(500);
    expect(paginate(items, 1)).toMatchObject({ page: 1, pages: 3, matching: 1001 });
    expect(paginate(items, 1).items).toHaveLength(500);
    expect(paginate(items, 2).items[0]).toBe(500);
    expect(paginate(items, 3).items).toEqual([1000]);
    expect(paginate(items, 4).items).toEqual([]);
    expect(paginate([...Array(500).keys()], 1).pages).toBe(1);
    expect(paginate([...Array(501).keys()], 1).pages).toBe(2);
    expect(paginate([], 1)).toMatchObject({ pages: 1, items: [] });
  });

  it('reads page, state and q, and refuses bad ones naming the parameter', () => {
    expect(parseAccountQuery({})).toEqual({ ok: true, query: { state: undefined, q: '', page: 1 } });
    expect(parseAccountQuery({ page: '2', state: 'Low', q: ' Prod ' })).toEqual({
      ok: true,
      query: { state: 'LOW', q: 'prod', page: 2 },
    });
    expect(parseAccountQuery({ page: '', state: '' })).toEqual({
      ok: true,
      query: { state: undefined, q: '', page: 1 },
    });
    for (const page of ['0', '-1', '1.5', 'abc', '01', '1000000']) {
      expect(parseAccountQuery({ page })).toEqual({
        ok: false,
        problems: ['page: must be a whole number from 1 to 999999'],
      });
    }
    expect(parseAccountQuery({ state: ['ok', 'low'] })).toEqual({ ok: false, problems: ['state: give it once'] });
    expect(parseAccountQuery({ q: 'x'.repeat(101) })).toEqual({ ok: false, problems: ['q: at most 100 characters'] });
    expect(queryString({ state: 'CRITICAL', q: 'a b&c', page: 2 })).toBe('?state=critical&q=a%20b%26c&page=2');
    expect(queryString({ state: undefined, q: '', page: 1 })).toBe('');
  });

  it('links the pages of 1,234 accounts, keeping the filter', () => {
    const store = new AccountStore();
    const all = Array.from({ length: 1234 }, (_, i) => `acct${i + 1}`);
    store.configure(all.map((name) => ({ name, thresholds })));
    for (const name of all) store.recordSuccess(name, { credits: 5000, currency: 'USD', atMs: NOW });
    const first = page(store, { q: 'acct' });
    expect(names(first)).toHaveLength(500);
    expect(names(first).slice(0, 3)).toEqual(['acct1', 'acct2', 'acct3']);
    expect(first).toContain('Page 1 of 3 · rows 1–500 of 1,234');
    expect(first).toContain('<a href="./?q=acct&amp;page=2" rel="next">');
    expect(first).not.toContain('rel="prev"');
    const last = page(store, { q: 'acct', page: '3' });
    expect(names(last)).toEqual(all.slice(1000));
    expect(last).toContain('rows 1,001–1,234 of 1,234');
    expect(last).not.toContain('rel="next"');
    const past = page(store, { page: '4' });
    expect(names(past)).toEqual([]);
    expect(past).toContain('no rows on this page.');
    expect(past).toContain('<a href="./?page=3" rel="prev">');
    expect(selectAccounts(store.list(), { state: 'OK', q: '', page: 2 }).items[0]?.name).toBe('acct501');
  });
});

describe('formats', () => {
  it('writes durations and burn rates for people', () => {
    expect(formatDurationSeconds(30)).toBe('under 1 min');
    expect(formatDurationSeconds(12 * 60 + 5)).toBe('12 min');
    expect(formatDurationSeconds(5 * 3600 + 20 * 60)).toBe('5 h 20 min');
    expect(formatDurationSeconds(3 * 86400 + 4 * 3600 + 59)).toBe('3 d 4 h');
    expect(formatDurationSeconds(2 * 86400)).toBe('2 d');
    expect(formatBurn(1800)).toBe('1,800/h');
    expect(formatBurn(2)).toBe('48/day');
    expect(formatBurn(0.01)).toBe('0.2/day');
  });
});

describe('status page size: the worst history still fits the first page budget', () => {
  it('10,000 accounts whose balance jumps at every poll for a day: first page at most 300 KB, each sparkline at most 8 points', () => {
    const store = new AccountStore();
    const count = 10_000;
    const name = (i: number): string => `acct_${String(i).padStart(5, '0')}`;
    store.configure(Array.from({ length: count }, (_, i) => ({ name: name(i + 1), thresholds })));
    // A fixed pseudo-random walk (LCG), so the page is the same on every run.
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const DAY_POLLS = 96;
    for (let p = 0; p <= DAY_POLLS; p++) {
      const atMs = NOW - (DAY_POLLS - p) * 15 * MIN;
      for (let i = 1; i <= count; i++)
        store.recordSuccess(name(i), { credits: Math.round(2000 + next() * 998_000), currency: 'USD', atMs });
    }
    for (let i = 1; i <= count; i++)
      store.setKey(name(i), {
        fingerprint: 'a1b2c3d4e5f6',
        source: i % 2 === 0 ? 'file' : 'env',
        lastChangeMs: NOW - (i % 120) * 86_400_000,
        shared: i % 250 === 0,
      });
    const html = page(store);
    const lines = [...html.matchAll(/<tr[^>]*><th scope="row">.*?<path class="bl" d="([^"]*)"\/>/g)].map(
      (m) => m[1] as string,
    );
    expect(lines).toHaveLength(500);
    // Points: the M, then one relative command (l, h or v) per further point.
    const most = Math.max(...lines.map((d) => (d.match(/[Mlhv]/g) ?? []).length));
    expect(most).toBeGreaterThan(2);
    expect(most).toBeLessThanOrEqual(8);
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(300 * 1024);
  });
});
