/**
 * The status page's key columns and History placeholder, and the JSON API's `key` field
 * (issues 13 and 14), rendered from an AccountStore on a fixed clock.
 */
import { describe, expect, it } from 'vitest';
import { AccountStore, type KeyInfo } from '../../../src/state/account-store.js';
import { formatKeyAge, keyFacts } from '../../../src/views/key-columns.js';
import { createStatusViews } from '../../../src/views/service.js';
import { pathData } from '../../../src/views/sparkline.js';
import { FakeClock } from '../../support/fake-clock.js';

const thresholds = { warning: 1000, critical: 100 };
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const DAY = 86_400_000;

function key(overrides: Partial<KeyInfo>): KeyInfo {
  return { fingerprint: '3f9a0c1b2d4e', source: 'file', lastChangeMs: NOW - DAY, shared: false, ...overrides };
}

function views(store: AccountStore, sharedWith?: (name: string) => string[]): ReturnType<typeof createStatusViews> {
  return createStatusViews({
    store,
    clock: new FakeClock({ now: NOW }),
    context: () => ({ version: '1.0.0', intervalMs: 60_000 }),
    ...(sharedWith === undefined ? {} : { sharedWith }),
  });
}

/** The cells of `name`'s row, in column order (the account's `<th>` first). */
function cellsOf(html: string, name: string): string[] {
  const row = new RegExp(`<tr(?: class="s-[a-z]+")?><th scope="row">${name}</th>(.*?)</tr>`).exec(html)?.[1];
  if (row === undefined) throw new Error(`no row for ${name}`);
  return [...row.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1] as string);
}

/** The header texts, to find a column by name. */
function headers(html: string): string[] {
  return [...html.matchAll(/<th scope="col"[^>]*>([^<]*)<\/th>/g)].map((m) => m[1] as string);
}

function cell(html: string, name: string, header: string): string {
  const index = headers(html).indexOf(header);
  if (index < 1) throw new Error(`no column ${header}`);
  return cellsOf(html, name)[index - 1] as string;
}

describe('key age and rotation', () => {
  it('marks a file key older than 90 days, never an environment key', () => {
    expect(keyFacts(key({ lastChangeMs: NOW - 91 * DAY }), NOW)).toEqual({
      ageSeconds: 91 * 86_400,
      rotationDue: true,
    });
    expect(keyFacts(key({ lastChangeMs: NOW - 90 * DAY }), NOW)).toEqual({
      ageSeconds: 90 * 86_400,
      rotationDue: false,
    });
    expect(keyFacts(key({ source: 'env', lastChangeMs: NOW - 400 * DAY }), NOW)).toEqual({
      ageSeconds: 400 * 86_400,
      rotationDue: false,
    });
    expect(keyFacts(key({ lastChangeMs: undefined }), NOW)).toEqual({ ageSeconds: undefined, rotationDue: false });
    // A file written "in the future" (clock skew) is new, not negative.
    expect(keyFacts(key({ lastChangeMs: NOW + 60_000 }), NOW)).toEqual({ ageSeconds: 0, rotationDue: false });
  });

  it('writes ages in days from a day on', () => {
    expect(formatKeyAge(30)).toBe('under 1 min');
    expect(formatKeyAge(5 * 3600 + 20 * 60)).toBe('5 h 20 min');
    expect(formatKeyAge(86_400)).toBe('1 d');
    expect(formatKeyAge(93.9 * 86_400)).toBe('93 d');
  });
});

describe('the Key and Key age columns', () => {
  function store(): AccountStore {
    const s = new AccountStore();
    s.configure(
      ['fresh', 'old_file', 'old_env', 'lost', 'shared_a', 'shared_b', 'unread'].map((name) => ({ name, thresholds })),
    );
    for (const name of ['fresh', 'old_file', 'old_env', 'lost', 'shared_a', 'shared_b', 'unread'])
      s.recordSuccess(name, { credits: 5000, currency: 'USD', atMs: NOW });
    s.setKey('fresh', key({ fingerprint: 'aaaaaaaaaaa1', lastChangeMs: NOW - 3 * 3600_000 }));
    s.setKey('old_file', key({ fingerprint: 'aaaaaaaaaaa2', lastChangeMs: NOW - 93 * DAY - 3600_000 }));
    s.setKey('old_env', key({ fingerprint: 'aaaaaaaaaaa3', source: 'env', lastChangeMs: NOW - 200 * DAY }));
    s.setKey('lost', key({ fingerprint: 'aaaaaaaaaaa4', lastChangeMs: undefined }));
    s.setKey('shared_a', key({ fingerprint: 'bbbbbbbbbbbb', shared: true }));
    s.setKey('shared_b', key({ fingerprint: 'bbbbbbbbbbbb', source: 'env', shared: true }));
    return s;
  }

  it('shows the fingerprint in <code>, the age with its source, and marks a due rotation in words', () => {
    const html = views(store()).page({}).body;
    expect(headers(html)).toContain('Key');
    expect(headers(html)).toContain('Key age');
    expect(cell(html, 'fresh', 'Key')).toBe('<code>aaaaaaaaaaa1</code>');
    expect(cell(html, 'fresh', 'Key age')).toBe('3 h<small>file</small>');
    expect(cell(html, 'old_file', 'Key age')).toBe(
      '<strong class="alert">⚠ 93 d</strong><small>file · rotation due</small>',
    );
    expect(cell(html, 'old_env', 'Key age')).toBe('200 d<small>env</small>');
    expect(cell(html, 'lost', 'Key age')).toBe('unknown<small>file</small>');
    // Before the key was first read there is nothing to show.
    expect(cell(html, 'unread', 'Key')).toBe('—');
    expect(cell(html, 'unread', 'Key age')).toBe('—');
    // The header says where the age comes from and what the limit is.
    expect(html).toContain('File keys older than 90 days are marked &quot;rotation due&quot;.');
  });

  it('names the other accounts of a shared key, escaped, and counts those beyond two', () => {
    const others: Record<string, string[]> = { shared_a: ['shared_b'], shared_b: ['<i>x</i>', 'shared_a', 'c', 'd'] };
    const html = views(store(), (name) => others[name] ?? []).page({}).body;
    expect(cell(html, 'shared_a', 'Key')).toBe(
      '<code>bbbbbbbbbbbb</code><small class="alert">⚠ shared with shared_b</small>',
    );
    expect(cell(html, 'shared_b', 'Key')).toBe(
      '<code>bbbbbbbbbbbb</code><small class="alert">⚠ shared with &lt;i&gt;x&lt;/i&gt;, shared_a and 2 more</small>',
    );
    // Without the tracker's names the mark is still there.
    expect(cell(views(store()).page({}).body, 'shared_a', 'Key')).toContain('⚠ shared with another account');
  });

  it('gives the same in the JSON API', () => {
    const v = views(store(), (name) => (name === 'shared_a' ? ['shared_b'] : name === 'shared_b' ? ['shared_a'] : []));
    const old = JSON.parse(v.account('old_file').body) as { key: unknown };
    expect(old.key).toEqual({
      fingerprint: 'aaaaaaaaaaa2',
      source: 'file',
      lastChange: '2026-08-25T11:00:00Z',
      ageSeconds: 93 * 86_400 + 3600,
      rotationDue: true,
      shared: false,
      sharedWith: [],
    });
    const list = JSON.parse(v.accounts({}).body) as {
      accounts: Array<{
        name: string;
        key: { shared: boolean; sharedWith: string[]; lastChange: string | null } | null;
      }>;
    };
    const byName = new Map(list.accounts.map((a) => [a.name, a.key]));
    expect(byName.get('shared_a')).toMatchObject({ shared: true, sharedWith: ['shared_b'] });
    expect(byName.get('lost')).toMatchObject({ lastChange: null });
    expect(byName.get('unread')).toBeNull();
  });
});

describe('the History cell without a balance', () => {
  it('says why there is nothing to draw instead of an empty chart, and keeps the history an account had', () => {
    const s = new AccountStore();
    s.configure(['rejected', 'forbidden', 'failing', 'pending', 'revoked_later'].map((name) => ({ name, thresholds })));
    const failure = { message: 'm', requestId: 'req_1', attempts: 1, atMs: NOW };
    s.recordFailure('rejected', { ...failure, reason: 'unauthorized', status: 401 });
    s.recordFailure('forbidden', { ...failure, reason: 'forbidden', status: 403 });
    s.recordFailure('failing', { ...failure, reason: 'server_error', status: 503 });
    for (let m = 0; m <= 30; m++)
      s.recordSuccess('revoked_later', { credits: 3000 - 10 * m, currency: 'USD', atMs: NOW - (40 - m) * 60_000 });
    s.recordFailure('revoked_later', { ...failure, reason: 'unauthorized', status: 401 });
    const html = views(s).page({}).body;
    expect(cell(html, 'rejected', 'History')).toBe('<span class="nodata">no data — key rejected (401)</span>');
    expect(cell(html, 'forbidden', 'History')).toBe(
      '<span class="nodata">no data — plan forbids reading credits (403)</span>',
    );
    expect(cell(html, 'failing', 'History')).toBe('<span class="nodata">no data — every poll failed so far</span>');
    expect(cell(html, 'pending', 'History')).toBe('<span class="nodata">no data yet — first poll running</span>');
    // Its key was rejected 10 minutes after the last good poll: the 30 minutes it had are drawn.
    const drawn = cell(html, 'revoked_later', 'History');
    expect(drawn).toMatch(/^<svg role="img"><title>3,000 → 2,700 USD, 30 min; warning 1,000, critical 100<\/title>/);
    expect(drawn).toMatch(/<path class="bl" d="M0 \d+l132 \d+"\/><\/svg>$/);
  });
});

describe('sparkline paths', () => {
  it('writes integer points as relative commands, level and vertical steps with one number', () => {
    expect(
      pathData([
        { x: 0, y: 10 },
        { x: 5, y: 10 },
        { x: 5, y: 4 },
        { x: 10, y: 7 },
        { x: 240, y: 2 },
      ]),
    ).toBe('M0 10h5v-6l5 3l230-5');
    expect(
      pathData([
        { x: 0, y: 7 },
        { x: 240, y: 7 },
      ]),
    ).toBe('M0 7h240');
  });

  it("draws the latest balance's dot with one marker per page, not a circle per row", () => {
    const s = new AccountStore();
    s.configure(['a', 'b'].map((name) => ({ name, thresholds })));
    for (const name of ['a', 'b']) s.recordSuccess(name, { credits: 5000, currency: 'USD', atMs: NOW });
    const html = views(s).page({}).body;
    expect(html.match(/<marker id="end"/g)).toHaveLength(1);
    expect(html).not.toContain('<circle cx=');
    expect(html).toContain('marker-end:url(#end)');
  });
});
