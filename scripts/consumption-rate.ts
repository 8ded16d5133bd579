/**
 * The consumption rate behind ZexaCreditsExhaustionForecast, as PromQL, for the dashboard and
 * the tests. prometheus/alerts.yml spells the same expression out (it is the source of the rule);
 * test/ops/dashboard.test.ts checks that the rule and the dashboard contain exactly this text.
 *
 * Definition (docs/monitoring.md, the forecast's consumption rate): the sum of the balance's decreases over the
 * last 6 hours, divided by the time those 6 hours hold data, but by no less than 30 minutes. The
 * decreases are taken per 5-minute step from zexa_credits_consumed_total (which counts decreases
 * only, so top-ups never hide the drain), the largest of any exporter per account (an HA pair
 * sees the same drain twice; a rollout's two pods follow each other).
 */

/** Credits per second. `selector` goes inside the braces, e.g. `account=~"$account"`. */
export function consumptionRate(selector = '', window = '6h'): string {
  const step = `max by (account) (increase(zexa_credits_consumed_total${selector === '' ? '' : `{${selector}}`}[5m]))`;
  return `sum_over_time(${step}[${window}:5m]) / clamp_min(count_over_time(${step}[${window}:5m]) * 300, 1800)`;
}

/** The balance the rules use: the lowest latest balance any exporter reported in 15 minutes. */
export function balance(selector = ''): string {
  return `min by (account, currency) (last_over_time(zexa_credits_remaining${selector === '' ? '' : `{${selector}}`}[15m]))`;
}
