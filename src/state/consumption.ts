/**
 * How fast an account burns credits and when it runs out, from its balance history: the same
 * definition as the `ZexaCreditsExhaustionForecast` alert in prometheus/alerts.yml.
 *
 * - Consumption rate: the credits consumed over the last 6 hours (the sum of every decrease
 *   between consecutive polls, so a top-up in the window does not hide the drain), divided by
 *   the time the history covers in that window, but by at least 30 minutes. A history shorter
 *   than 6 hours thus divides by its own length, not by 6 hours, so a young history is not
 *   under-read; under 30 minutes the rate errs low, never high. This is the alert's divisor too
 *   (`clamp_min(… * 300, 1800)` over its 5-minute steps).
 * - Time to empty: balance / rate, only when the rate is above 0 and the history is at least
 *   1 hour long (a few minutes of polls make a noisy forecast).
 * - Top-ups: the credits added in the same window, and in how many buckets.
 */
import type { BalanceHistory, WindowSums } from './history.js';

export const RATE_WINDOW_MS = 6 * 3600_000;
export const MIN_FORECAST_HISTORY_MS = 3600_000;
/** The rate is never divided by less: a few minutes of polls would read a burst as a trend. */
const MIN_RATE_DIVISOR_MS = 30 * 60_000;
/**
 * An account that runs out sooner is DRAINING: the horizon of the ZexaCreditsExhaustionForecast
 * alert (`< 72 * 3600` in prometheus/alerts.yml), so the page and the alert agree.
 */
const DRAINING_HORIZON_MS = 72 * 3600_000;

export interface Consumption {
  /** Credits consumed per hour over the window; 0 when nothing was consumed. */
  perHour: number;
  /** Seconds until the balance reaches 0 at that rate; undefined when not draining or the history is too short. */
  secondsToEmpty: number | undefined;
  /** Why there is no time to empty, when there is none. */
  forecast: 'ok' | 'not_draining' | 'short_history';
  topUps: { count: number; credits: number };
  /** How long the history is (ms). */
  historyMs: number;
}

/** Pure: the rate and time to empty from the window's sums and the current balance. */
function consumptionFrom(sums: WindowSums, balance: number): Consumption {
  const perHour = sums.consumed > 0 ? (sums.consumed / Math.max(sums.coveredMs, MIN_RATE_DIVISOR_MS)) * 3600_000 : 0;
  const topUps = { count: sums.topUps, credits: sums.added };
  if (perHour <= 0)
    return { perHour: 0, secondsToEmpty: undefined, forecast: 'not_draining', topUps, historyMs: sums.historyMs };
  if (sums.historyMs < MIN_FORECAST_HISTORY_MS) {
    return { perHour, secondsToEmpty: undefined, forecast: 'short_history', topUps, historyMs: sums.historyMs };
  }
  const secondsToEmpty = Math.max(0, (balance / perHour) * 3600);
  return { perHour, secondsToEmpty, forecast: 'ok', topUps, historyMs: sums.historyMs };
}

/** The account's consumption now; undefined before its first successful poll. */
export function consumptionOf(
  history: BalanceHistory,
  name: string,
  balance: number,
  nowMs: number,
): Consumption | undefined {
  const sums = history.windowSums(name, nowMs, RATE_WINDOW_MS);
  return sums === undefined ? undefined : consumptionFrom(sums, balance);
}

/** Whether the balance runs out within DRAINING_HORIZON_MS at the current rate (a forecast needs 1 h of history). */
export function isDraining(consumption: Consumption | undefined): boolean {
  return consumption?.secondsToEmpty !== undefined && consumption.secondsToEmpty * 1000 < DRAINING_HORIZON_MS;
}

/**
 * Whether the rate is still an estimate: under MIN_RATE_DIVISOR_MS of history the divisor is
 * longer than the history, so the rate reads low (668/h after 11 minutes of a 1,800/h drain).
 */
export function isEstimating(consumption: Consumption): boolean {
  return consumption.historyMs < MIN_RATE_DIVISOR_MS;
}
