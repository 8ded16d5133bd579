/**
 * Everything the page and the JSON API say about one account, derived from its status and its
 * balance history at one instant. Built only for the accounts a response shows.
 */
import { consumptionNow, stateWithForecast, type AccountState, type AccountStatus } from '../state/account-store.js';
import type { Consumption } from '../state/consumption.js';
import type { BalanceHistory, HistorySeries } from '../state/history.js';

export interface AccountView {
  status: AccountStatus;
  state: AccountState;
  /** Undefined before the first successful poll. */
  consumption: Consumption | undefined;
  series: HistorySeries | undefined;
  /** The other accounts polling with this account's key; empty unless the key is shared. */
  sharedWith: readonly string[];
  nowMs: number;
}

/** The other accounts of this exporter that poll with `name`'s key (poll/key-tracker.ts). */
export type SharedWith = (name: string) => readonly string[];

export function viewOf(
  status: AccountStatus,
  history: BalanceHistory,
  nowMs: number,
  sharedWith?: SharedWith,
): AccountView {
  const consumption = consumptionNow(status, history, nowMs);
  return {
    status,
    state: stateWithForecast(status, () => consumption),
    consumption,
    series: history.series(status.name),
    sharedWith: status.key?.shared === true && sharedWith !== undefined ? sharedWith(status.name) : [],
    nowMs,
  };
}
