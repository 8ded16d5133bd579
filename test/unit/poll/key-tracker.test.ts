import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyAgeCell, keyFacts } from '../../../src/views/key-columns.js';
import type { AccountView } from '../../../src/views/account-view.js';
import { AccountStore } from '../../../src/state/account-store.js';
import { keyFingerprint } from '../../../src/config/keys.js';
import { KeyTracker, type SharedKeyChange, type TrackedAccount } from '../../../src/poll/key-tracker.js';
import { FakeClock } from '../../support/fake-clock.js';

const thresholds = { warning: 1000, critical: 100 };
const KEY_A = 'zx_unit_key_AAAAAAAAAAAA';
const KEY_B = 'zx_unit_key_BBBBBBBBBBBB';

function env(name: string): TrackedAccount {
  return { name, key: { kind: 'env', variable: `ZEXA_API_KEY_${name.toUpperCase()}` } };
}

function file(name: string): TrackedAccount {
  return { name, key: { kind: 'file', path: `/keys/${name}`, origin: 'test' } };
}

function setup(names: string[], mtimes: Record<string, number> = {}) {
  const store = new AccountStore();
  store.configure(names.map((name) => ({ name, thresholds })));
  const clock = new FakeClock({ now: 1_000_000 });
  const changes: SharedKeyChange[] = [];
  const tracker = new KeyTracker(store, {
    clock,
    mtimeMs: (path) => {
      const mtime = mtimes[path];
      if (mtime === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return mtime;
    },
    onSharedChange: (change) => changes.push(change),
  });
  return { store, clock, changes, tracker, mtimes };
}

describe('KeyTracker', () => {
  it('records fingerprint, source and first-read time of an environment key', () => {
    const { store, tracker, clock } = setup(['a']);
    tracker.observe(env('a'), KEY_A);
    expect(store.get('a')?.key).toEqual({
      fingerprint: keyFingerprint(KEY_A),
      source: 'env',
      lastChangeMs: 1_000_000,
      shared: false,
    });
    expect(store.get('a')?.key?.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    // Later reads of the same key change nothing, so /metrics keeps its cached block.
    void clock.advance(60_000);
    const version = store.version;
    tracker.observe(env('a'), KEY_A);
    expect(store.version).toBe(version);
    expect(store.get('a')?.key?.lastChangeMs).toBe(1_000_000);
  });

  it("takes a key file's mtime when the key changes, not when the same key is written again", () => {
    const { store, tracker, mtimes } = setup(['a'], { '/keys/a': 5_000.7 });
    tracker.observe(file('a'), KEY_A);
    expect(store.get('a')?.key?.lastChangeMs).toBe(5_000);
    mtimes['/keys/a'] = 9_000;
    tracker.observe(file('a'), KEY_A);
    expect(store.get('a')?.key?.lastChangeMs).toBe(5_000);
    tracker.observe(file('a'), KEY_B);
    expect(store.get('a')?.key).toMatchObject({
      fingerprint: keyFingerprint(KEY_B),
      source: 'file',
      lastChangeMs: 9_000,
    });
  });

  it('leaves the time out while the file cannot be stat-ed, and fills it in at a later read', () => {
    const { store, tracker, mtimes } = setup(['a']);
    tracker.observe(file('a'), KEY_A);
    expect(store.get('a')?.key).toMatchObject({ fingerprint: keyFingerprint(KEY_A), lastChangeMs: undefined });
    mtimes['/keys/a'] = 7_000;
    tracker.observe(file('a'), KEY_A);
    expect(store.get('a')?.key?.lastChangeMs).toBe(7_000);
  });

  it('flags every account sharing a key, reports each change once, and clears the flag when sharing ends', () => {
    const { store, tracker, changes } = setup(['a', 'b', 'c']);
    tracker.observe(env('a'), KEY_A);
    tracker.observe(env('b'), KEY_A);
    tracker.observe(env('a'), KEY_A);
    tracker.observe(env('b'), KEY_A);
    expect(store.get('a')?.key?.shared).toBe(true);
    expect(store.get('b')?.key?.shared).toBe(true);
    expect(changes).toEqual([{ account: 'b', others: ['a'], shared: true, fingerprint: keyFingerprint(KEY_A) }]);

    tracker.observe(env('c'), KEY_A);
    expect(tracker.sharedWith('c')).toEqual(['a', 'b']);
    expect(changes.at(-1)).toEqual({
      account: 'c',
      others: ['a', 'b'],
      shared: true,
      fingerprint: keyFingerprint(KEY_A),
    });

    // c rotates away: a and b still share.
    tracker.observe(env('c'), KEY_B);
    expect(store.get('c')?.key?.shared).toBe(false);
    expect(store.get('a')?.key?.shared).toBe(true);
    expect(changes.at(-1)).toEqual({
      account: 'c',
      others: ['a', 'b'],
      shared: false,
      fingerprint: keyFingerprint(KEY_A),
    });

    // b rotates to c's key: a is alone, b and c share.
    tracker.observe(env('b'), KEY_B);
    expect(store.get('a')?.key?.shared).toBe(false);
    expect(store.get('b')?.key?.shared).toBe(true);
    expect(store.get('c')?.key?.shared).toBe(true);
    expect(tracker.sharedWith('a')).toEqual([]);
    expect(changes.slice(-2)).toEqual([
      { account: 'b', others: ['a'], shared: false, fingerprint: keyFingerprint(KEY_A) },
      { account: 'b', others: ['c'], shared: true, fingerprint: keyFingerprint(KEY_B) },
    ]);
  });

  it('forgets removed accounts, so the one left with the key is no longer shared', () => {
    const { store, tracker, changes } = setup(['a', 'b']);
    tracker.observe(env('a'), KEY_A);
    tracker.observe(env('b'), KEY_A);
    store.configure([{ name: 'a', thresholds }]);
    tracker.forget(['b']);
    expect(store.get('a')?.key?.shared).toBe(false);
    expect(changes.at(-1)).toEqual({ account: 'b', others: ['a'], shared: false, fingerprint: keyFingerprint(KEY_A) });
    // b comes back with the same key: shared again.
    store.configure([
      { name: 'a', thresholds },
      { name: 'b', thresholds },
    ]);
    tracker.observe(env('b'), KEY_A);
    expect(store.get('a')?.key?.shared).toBe(true);
  });

  it('ignores accounts the store does not know', () => {
    const { store, tracker } = setup([]);
    tracker.observe(env('ghost'), KEY_A);
    expect(store.get('ghost')).toBeUndefined();
    expect(tracker.sharedWith('ghost')).toEqual([]);
  });
});

describe('KeyTracker with a key file dated in the future', () => {
  // `touch -d 2099-01-01 keyfile`: the mtime would make the key read as new for ever.
  const FUTURE_S = Date.UTC(2099, 0, 1) / 1000;
  const dir = mkdtempSync(join(tmpdir(), 'zexa-future-mtime-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the key from its first read, says so once, and lets rotation fall due', () => {
    const path = join(dir, 'a.key');
    writeFileSync(path, `${KEY_A}\n`);
    utimesSync(path, FUTURE_S, FUTURE_S);
    const store = new AccountStore();
    store.configure([{ name: 'a', thresholds }]);
    const clock = new FakeClock({ now: Date.UTC(2026, 0, 1) });
    const reported: { account: string; fingerprint: string; mtimeMs: number }[] = [];
    const tracker = new KeyTracker(store, { clock, onFutureMtime: (event) => reported.push(event) });
    const account: TrackedAccount = { name: 'a', key: { kind: 'file', path, origin: 'test' } };
    const firstRead = clock.now();
    tracker.observe(account, KEY_A);
    expect(store.get('a')?.key).toEqual({
      fingerprint: keyFingerprint(KEY_A),
      source: 'file',
      lastChangeMs: firstRead,
      mtimeInFuture: true,
      shared: false,
    });
    // Polled for 91 days with the same key: still counted from the first read, reported once.
    for (let day = 0; day < 91; day += 1) {
      clock.advance(86_400_000);
      tracker.observe(account, KEY_A);
    }
    expect(reported).toEqual([{ account: 'a', fingerprint: keyFingerprint(KEY_A), mtimeMs: FUTURE_S * 1000 }]);
    const key = store.get('a')?.key;
    expect(key?.lastChangeMs).toBe(firstRead);
    expect(keyFacts(key!, clock.now())).toEqual({ ageSeconds: 91 * 86_400, rotationDue: true });
    // A rotated key in a file dated in the past is taken at its mtime again.
    writeFileSync(path, `${KEY_B}\n`);
    const past = clock.now() / 1000 - 3600;
    utimesSync(path, past, past);
    tracker.observe(account, KEY_B);
    expect(store.get('a')?.key).toEqual({
      fingerprint: keyFingerprint(KEY_B),
      source: 'file',
      lastChangeMs: past * 1000,
      shared: false,
    });
  });

  it('marks the age on the status page as a lower bound, not a fresh key', () => {
    const key = {
      fingerprint: 'abc',
      source: 'file' as const,
      lastChangeMs: 1_000,
      mtimeInFuture: true as const,
      shared: false,
    };
    const cell = keyAgeCell({ status: { key }, nowMs: 1_000 + 3 * 60_000, sharedWith: [] } as unknown as AccountView);
    expect(cell).toBe('≥ 3 min<small>file · mtime in the future</small>');
  });
});
