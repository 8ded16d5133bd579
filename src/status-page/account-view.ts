/**
 * Everything the page and the JSON API say about one account, derived from its status and its
 * balance history at one instant. Built only for the accounts a response shows.
 */
import { healthOf, type AccountHealth, type AccountStatus } from '../account-state.js';
import { consumptionOf, type Consumption } from '../consumption.js';
import type { BalanceHistory, HistorySeries } from '../history.js';

export interface AccountView {
  status: AccountStatus;
  health: AccountHealth;
  /** Undefined before the first successful poll. */
  consumption: Consumption | undefined;
  series: HistorySeries | undefined;
  nowMs: number;
}

export function viewOf(status: AccountStatus, history: BalanceHistory, nowMs: number): AccountView {
  const balance = status.balance?.credits;
  return {
    status,
    health: healthOf(status),
    consumption: balance === undefined ? undefined : consumptionOf(history, status.name, balance, nowMs),
    series: history.series(status.name),
    nowMs,
  };
}
