/**
 * Which accounts a query shows, in the page's order: worst state first, then the names in
 * natural order (a2 before a10), and the count per state of the accounts the search matches.
 * Done per request in one pass over the accounts, which are put in natural order only when the
 * set of accounts changes.
 */
import { stateOf, type AccountState, type AccountStatus } from '../state/account-store.js';
import { naturalCompare } from './natural-sort.js';
import { paginate, STATE_ORDER, type AccountQuery, type PageSlice } from './query.js';

export interface Selection extends PageSlice<AccountStatus> {
  /** Accounts of each state among those the search matches (every state filter's count). */
  counts: ReadonlyMap<AccountState, number>;
  /** Accounts the search matches, in every state. */
  searched: number;
  total: number;
}

const naturalOrders = new WeakMap<readonly AccountStatus[], readonly AccountStatus[]>();

/** `list` in natural order of names; computed once per list (the store keeps one until the accounts change). */
function inNaturalOrder(list: readonly AccountStatus[]): readonly AccountStatus[] {
  let sorted = naturalOrders.get(list);
  if (sorted === undefined) {
    sorted = [...list].sort((a, b) => naturalCompare(a.name, b.name));
    naturalOrders.set(list, sorted);
  }
  return sorted;
}

/** @param stateOfAccount each account's state; stateOf (no DRAINING) when not given. */
export function selectAccounts(
  list: readonly AccountStatus[],
  query: AccountQuery,
  stateOfAccount: (status: AccountStatus) => AccountState = stateOf,
): Selection {
  const byState = new Map<AccountState, AccountStatus[]>(STATE_ORDER.map((s) => [s, []]));
  const counts = new Map<AccountState, number>();
  let searched = 0;
  for (const status of inNaturalOrder(list)) {
    if (query.q !== '' && !status.name.toLowerCase().includes(query.q)) continue;
    searched++;
    const state = stateOfAccount(status);
    counts.set(state, (counts.get(state) ?? 0) + 1);
    if (query.state === undefined || query.state === state) byState.get(state)?.push(status);
  }
  const ordered = STATE_ORDER.flatMap((s) => byState.get(s) ?? []);
  return { ...paginate(ordered, query.page), counts, searched, total: list.length };
}
