import { describe, expect, it } from 'vitest';
import { consumptionOf, MIN_FORECAST_HISTORY_MS, RATE_WINDOW_MS } from '../../../src/state/consumption.js';
import { BalanceHistory } from '../../../src/state/history.js';

const T0 = Date.UTC(2026, 10, 26, 0, 0, 0);
const MIN = 60_000;
const HOUR = 3600_000;

/** Feeds `history` one poll a minute from `fromMin` to `toMin` (inclusive) with `balanceAt(minute)`. */
function feed(
  history: BalanceHistory,
  name: string,
  fromMin: number,
  toMin: number,
  balanceAt: (minute: number) => number,
  everyMin = 1,
): void {
  for (let m = fromMin; m <= toMin; m += everyMin) history.record(name, T0 + m * MIN, balanceAt(m));
}

describe('consumption rate and time to empty', () => {
  it('drain: 100 credits a minute is 6,000 an hour, and the balance lasts balance / rate', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 120, (m) => 100_000 - 100 * m);
    const c = consumptionOf(history, 'a', 88_000, T0 + 120 * MIN);
    expect(c?.perHour).toBeCloseTo(6000, 6);
    expect(c?.forecast).toBe('ok');
    expect(c?.secondsToEmpty).toBeCloseTo((88_000 / 6000) * 3600, 3);
    expect(c?.topUps).toEqual({ count: 0, credits: 0 });
  });

  it('top-up: a top-up in the window does not hide the drain, and it is counted', () => {
    const history = new BalanceHistory();
    // 100 a minute for 3 h, with 5,000 added at minute 90. Polls see net changes only, so the
    // minute of the top-up shows +4,900 and no use: 179 minutes of drain are seen, not 180.
    feed(history, 'a', 0, 180, (m) => 50_000 - 100 * m + (m >= 90 ? 5000 : 0));
    const balance = 50_000 - 18_000 + 5000;
    const c = consumptionOf(history, 'a', balance, T0 + 180 * MIN);
    expect(c?.perHour).toBeCloseTo((179 * 100) / 3, 6);
    expect(c?.topUps.count).toBe(1);
    expect(c?.topUps.credits).toBe(4900);
    expect(c?.secondsToEmpty).toBeCloseTo((balance / ((179 * 100) / 3)) * 3600, 3);
  });

  it('a top-up bigger than the drain: still the gross drain, never a negative rate', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 120, (m) => 1000 - 5 * m + (m >= 60 ? 100_000 : 0));
    const c = consumptionOf(history, 'a', 101_000 - 600, T0 + 120 * MIN);
    // 5 a minute, less the minute of the top-up.
    expect(c?.perHour).toBeCloseTo((119 * 5) / 2, 6);
    expect(c?.forecast).toBe('ok');
  });

  it('flat: no decrease is "not draining", with no time to empty', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 240, () => 4250);
    const c = consumptionOf(history, 'a', 4250, T0 + 240 * MIN);
    expect(c).toMatchObject({ perHour: 0, secondsToEmpty: undefined, forecast: 'not_draining' });
  });

  it('rising only (top-ups, no use): not draining', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 120, (m) => 1000 + m);
    expect(consumptionOf(history, 'a', 1120, T0 + 120 * MIN)).toMatchObject({ perHour: 0, forecast: 'not_draining' });
  });

  it('short history: the rate divides by the history, not by 6 h; no time to empty before 1 h', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 30, (m) => 10_000 - 10 * m);
    const early = consumptionOf(history, 'a', 9700, T0 + 30 * MIN);
    expect(early?.perHour).toBeCloseTo(600, 6);
    expect(early?.forecast).toBe('short_history');
    expect(early?.secondsToEmpty).toBeUndefined();
    feed(history, 'a', 31, 60, (m) => 10_000 - 10 * m);
    const hour = consumptionOf(history, 'a', 9400, T0 + 60 * MIN);
    expect(hour?.historyMs).toBe(MIN_FORECAST_HISTORY_MS);
    expect(hour?.forecast).toBe('ok');
    expect(hour?.secondsToEmpty).toBeCloseTo((9400 / 600) * 3600, 3);
  });

  it('under 30 minutes of history the rate is divided by 30 minutes, as the alert does: low, never high', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 10, (m) => 10_000 - 10 * m);
    // 100 used in 10 minutes: 600 an hour in truth, 200 an hour over the 30-minute floor.
    expect(consumptionOf(history, 'a', 9900, T0 + 10 * MIN)?.perHour).toBeCloseTo(200, 6);
    feed(history, 'a', 11, 45, (m) => 10_000 - 10 * m);
    expect(consumptionOf(history, 'a', 9550, T0 + 45 * MIN)?.perHour).toBeCloseTo(600, 6);
  });

  it('one poll only: no rate yet, and no account without a poll at all', () => {
    const history = new BalanceHistory();
    history.record('a', T0, 500);
    expect(consumptionOf(history, 'a', 500, T0)).toMatchObject({ perHour: 0, forecast: 'not_draining', historyMs: 0 });
    expect(consumptionOf(history, 'never', 0, T0)).toBeUndefined();
  });

  it('restart: a new exporter starts with an empty history, so a short one, and forecasts again after 1 h', () => {
    const before = new BalanceHistory();
    feed(before, 'a', 0, 300, (m) => 100_000 - 20 * m);
    expect(consumptionOf(before, 'a', 94_000, T0 + 300 * MIN)?.forecast).toBe('ok');
    // The process restarts at minute 400: what it knew is gone; the balance carried on draining.
    const after = new BalanceHistory();
    feed(after, 'a', 400, 440, (m) => 100_000 - 20 * m);
    const young = consumptionOf(after, 'a', 91_200, T0 + 440 * MIN);
    expect(young?.perHour).toBeCloseTo(1200, 6);
    expect(young?.forecast).toBe('short_history');
    feed(after, 'a', 441, 460, (m) => 100_000 - 20 * m);
    expect(consumptionOf(after, 'a', 90_800, T0 + 460 * MIN)?.secondsToEmpty).toBeCloseTo((90_800 / 1200) * 3600, 3);
  });

  it('an outage: the drain across a gap in the polls counts, spread over the time it covers', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 60, (m) => 50_000 - 10 * m);
    // No successful poll for 2 h; then the balance shows what was used meanwhile.
    feed(history, 'a', 180, 240, (m) => 50_000 - 10 * m);
    const c = consumptionOf(history, 'a', 47_600, T0 + 240 * MIN);
    expect(c?.perHour).toBeCloseTo(600, 6);
  });

  it('only the last 6 hours count: an older, faster drain is out of the window', () => {
    const history = new BalanceHistory();
    // 200 a minute for 4 h, then 50 a minute for 6 h.
    const at = (m: number): number => (m <= 240 ? 1_000_000 - 200 * m : 1_000_000 - 48_000 - 50 * (m - 240));
    feed(history, 'a', 0, 600, at);
    const c = consumptionOf(history, 'a', at(600), T0 + 600 * MIN);
    // Within one poll of the exact 3,000: the poll at the window's edge brings the minute before it.
    expect(Math.abs((c?.perHour ?? 0) - 3000)).toBeLessThanOrEqual(200 / 6 + 1e-9);
    expect(c?.historyMs).toBe(10 * HOUR);
    expect(RATE_WINDOW_MS).toBe(6 * HOUR);
  });

  it('an empty balance that is draining runs out in 0 s', () => {
    const history = new BalanceHistory();
    feed(history, 'a', 0, 90, (m) => Math.max(0, 60 - m));
    expect(consumptionOf(history, 'a', 0, T0 + 90 * MIN)?.secondsToEmpty).toBe(0);
  });
});
