import { describe, expect, it } from 'vitest';
import { AccountStore } from '../../../src/state/account-store.js';
import { BalanceHistory, BASE_BUCKET_MS, BUCKETS, MAX_LEVEL } from '../../../src/state/history.js';

const T0 = Date.UTC(2026, 10, 26, 0, 0, 0);
const MIN = 60_000;
const HOUR = 3600_000;

describe('balance history', () => {
  it('keeps one bucket per minute at first, with the balance after each', () => {
    const history = new BalanceHistory();
    for (let m = 0; m <= 10; m++) history.record('a', T0 + m * MIN + 5000, 1000 - 3 * m);
    const series = history.series('a');
    expect(series?.bucketMs).toBe(BASE_BUCKET_MS);
    expect(series?.sinceMs).toBe(T0 + 5000);
    expect(series?.startBalance).toBe(1000);
    expect(series?.buckets.map((b) => b.balance)).toEqual([...Array(11).keys()].map((m) => 1000 - 3 * m));
    expect(series?.buckets.at(-1)?.endMs).toBe(T0 + 10 * MIN + 5000);
  });

  it('several polls in a bucket add up; the balance walks back through top-ups', () => {
    const history = new BalanceHistory();
    const polls: Array<[number, number]> = [
      [0, 500],
      [10_000, 490],
      [20_000, 480],
      [30_000, 980],
      [40_000, 970], // +500 at 30 s
      [60_000, 960],
      [70_000, 950],
    ];
    for (const [t, credits] of polls) history.record('a', T0 + t, credits);
    const series = history.series('a');
    expect(series?.buckets.map((b) => [b.consumed, b.added, b.balance])).toEqual([
      [30, 500, 970],
      [20, 0, 950],
    ]);
    expect(series?.startBalance).toBe(500);
  });

  it('keeps at least 24 h and at most 96 buckets, merging to 16-minute buckets', () => {
    const history = new BalanceHistory();
    const at = (m: number): number => 1_000_000 - 7 * m + (m >= 600 ? 20_000 : 0);
    for (let m = 0; m <= 30 * 60; m += 2) history.record('a', T0 + m * MIN, at(m));
    const series = history.series('a');
    expect(series?.bucketMs).toBe(BASE_BUCKET_MS << MAX_LEVEL);
    expect(series?.buckets.length).toBeLessThanOrEqual(BUCKETS);
    const span = T0 + 30 * HOUR - (series?.sinceMs ?? 0);
    expect(span).toBeGreaterThanOrEqual(24 * HOUR);
    expect(span).toBeLessThanOrEqual(BUCKETS * (BASE_BUCKET_MS << MAX_LEVEL));
    // Every bucket's balance is the balance of the last poll in it, exactly (integers in float32).
    const buckets = series?.buckets ?? [];
    for (const bucket of buckets) {
      // Polls are every 2 minutes; the newest bucket ends at its last poll.
      const endMinute = (bucket.endMs - T0) / MIN;
      expect(bucket.balance).toBe(at(bucket === buckets.at(-1) ? endMinute : endMinute - 2));
    }
    // The balance where the kept history starts is the one of the last poll before it.
    expect(series?.startBalance).toBe(at(((series?.sinceMs ?? 0) - T0) / MIN - 2));
    const sums = history.windowSums('a', T0 + 30 * HOUR, 30 * HOUR);
    expect(sums?.historyMs).toBe(span);
  });

  it('merges into coarser buckets without losing a credit', () => {
    const history = new BalanceHistory();
    // 201 minutes do not fit in 96 two-minute buckets: four-minute ones.
    for (let m = 0; m <= 200; m++) history.record('a', T0 + m * MIN, 100_000 - m * 11);
    const series = history.series('a');
    expect(series?.bucketMs).toBe(4 * BASE_BUCKET_MS);
    const consumed = (series?.buckets ?? []).reduce((sum, b) => sum + b.consumed, 0);
    expect(consumed).toBe(200 * 11);
    expect(series?.buckets.at(-1)?.balance).toBe(100_000 - 200 * 11);
  });

  it('a gap longer than the ring starts the kept history after the gap', () => {
    const history = new BalanceHistory();
    for (let m = 0; m <= 30 * 60; m += 10) history.record('a', T0 + m * MIN, 5000);
    history.record('a', T0 + 60 * HOUR, 4000);
    const series = history.series('a');
    expect(series?.buckets.length).toBe(1);
    expect(series?.buckets[0]?.consumed).toBe(1000);
    expect(T0 + 60 * HOUR - (series?.sinceMs ?? 0)).toBeLessThanOrEqual(BUCKETS * (BASE_BUCKET_MS << MAX_LEVEL));
  });

  it('a wall clock that steps back adds to the newest bucket', () => {
    const history = new BalanceHistory();
    history.record('a', T0 + 10 * MIN, 100);
    history.record('a', T0 + 5 * MIN, 90);
    const series = history.series('a');
    expect(series?.buckets).toHaveLength(1);
    expect(series?.buckets[0]).toMatchObject({ consumed: 10, balance: 90 });
  });

  it('a currency change starts the account over; forget frees the slot for a new account', () => {
    const history = new BalanceHistory();
    history.record('a', T0, 100);
    history.record('a', T0 + MIN, 50);
    history.record('a', T0 + 2 * MIN, 7, false);
    expect(history.series('a')).toMatchObject({
      sinceMs: T0 + 2 * MIN,
      startBalance: 7,
      buckets: [{ consumed: 0, balance: 7 }],
    });
    history.forget('a');
    expect(history.series('a')).toBeUndefined();
    history.record('b', T0 + 3 * MIN, 20);
    expect(history.series('b')?.buckets).toEqual([
      { startMs: T0 + 3 * MIN, endMs: T0 + 3 * MIN, consumed: 0, added: 0, balance: 20 },
    ]);
    expect(history.size).toBe(1);
  });

  it('holds accounts in many chunks apart from one another', () => {
    const history = new BalanceHistory();
    for (let n = 0; n < 600; n++) history.record(`a${n}`, T0, n);
    for (let n = 0; n < 600; n++) history.record(`a${n}`, T0 + MIN, n - 1);
    expect(history.series('a0')?.buckets.map((b) => b.balance)).toEqual([0, -1]);
    expect(history.series('a599')?.buckets.map((b) => b.balance)).toEqual([599, 598]);
    expect(history.windowSums('a300', T0 + MIN, HOUR)).toMatchObject({ consumed: 1, coveredMs: MIN });
  });

  it('is fed by the account store, which forgets removed accounts and restarts on a currency change', () => {
    const store = new AccountStore();
    store.configure([{ name: 'x', thresholds: { warning: 10, critical: 1 } }]);
    store.recordSuccess('x', { credits: 100, currency: 'USD', atMs: T0 });
    store.recordSuccess('x', { credits: 80, currency: 'USD', atMs: T0 + MIN });
    expect(store.history.series('x')?.buckets.map((b) => b.balance)).toEqual([100, 80]);
    store.recordSuccess('x', { credits: 9, currency: 'EUR', atMs: T0 + 2 * MIN });
    expect(store.history.series('x')?.buckets.map((b) => b.balance)).toEqual([9]);
    store.configure([]);
    expect(store.history.series('x')).toBeUndefined();
  });
});
