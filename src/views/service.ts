/**
 * The status page and the JSON API over the live account store: parses the query, selects the
 * accounts, builds views of the ones shown and renders them. The caller's cache keeps each
 * query's answer for a moment (src/runtime/status-page-cache.ts).
 */
import {
  consumptionNow,
  stateWithForecast,
  type AccountState,
  type AccountStatus,
  type AccountStore,
} from '../state/account-store.js';
import { accountDetailJson, accountListJson, apiError } from './api.js';
import type { Clock } from '../lib/clock.js';
import { viewOf, type SharedWith } from './account-view.js';
import { parseAccountQuery, queryString } from './query.js';
import { renderQueryError, renderStatusPage, type PageContext } from './render.js';
import { selectAccounts } from './selection.js';

export interface Rendered {
  status: number;
  body: string;
}

export interface StatusViews {
  /** The HTML of `/` for these query parameters. */
  page(rawQuery: Record<string, unknown>): Rendered;
  /** The JSON of `/api/v1/accounts`. */
  accounts(rawQuery: Record<string, unknown>): Rendered;
  /** The JSON of `/api/v1/accounts/{name}`. */
  account(name: string): Rendered;
}

export interface StatusViewsDeps {
  store: AccountStore;
  clock: Clock;
  /** Read at every render: a reload can change them. */
  context: () => Omit<PageContext, 'nowMs'>;
  /** Keeps the answer of a query (by key) for a moment; renders every time when not given. */
  cached?: (key: string, render: () => Rendered) => Rendered;
  /** Names the accounts sharing a key; without it a shared key is shown as shared with "another account". */
  sharedWith?: SharedWith;
}

/** How long an account's DRAINING verdict is kept while the account does not change. */
const STATE_REUSE_MS = 60_000;

export function createStatusViews(deps: StatusViewsDeps): StatusViews {
  const { store, clock } = deps;
  // Telling DRAINING reads each OK account's history: at 10,000 accounts that made a selection
  // several times slower (measured). The verdict is kept per account until it changes or a
  // minute passes (the rate window slides that slowly).
  const states = new WeakMap<AccountStatus, { version: number; atMs: number; state: AccountState }>();
  const stateNow = (status: AccountStatus, nowMs: number): AccountState => {
    const kept = states.get(status);
    if (
      kept !== undefined &&
      kept.version === status.version &&
      nowMs >= kept.atMs &&
      nowMs - kept.atMs < STATE_REUSE_MS
    )
      return kept.state;
    const state = stateWithForecast(status, () => consumptionNow(status, store.history, nowMs));
    states.set(status, { version: status.version, atMs: nowMs, state });
    return state;
  };
  const cached = deps.cached ?? ((_key: string, render: () => Rendered): Rendered => render());

  const list = (rawQuery: Record<string, unknown>, kind: 'page' | 'api'): Rendered => {
    const parsed = parseAccountQuery(rawQuery);
    const context = { ...deps.context(), nowMs: clock.now() };
    if (!parsed.ok) {
      return {
        status: 400,
        body: kind === 'page' ? renderQueryError(context, parsed.problems) : apiError('bad query', parsed.problems),
      };
    }
    const { query } = parsed;
    return cached(`${kind}${queryString(query)}`, () => {
      const selection = selectAccounts(store.list(), query, (status) => stateNow(status, context.nowMs));
      const views = selection.items.map((status) => viewOf(status, store.history, context.nowMs, deps.sharedWith));
      const body =
        kind === 'page'
          ? renderStatusPage(context, selection, query, views)
          : accountListJson(selection, views, context.nowMs);
      return { status: 200, body };
    });
  };

  return {
    page: (rawQuery) => list(rawQuery, 'page'),
    accounts: (rawQuery) => list(rawQuery, 'api'),
    account(name) {
      const status = store.get(name);
      // The name is not echoed: like every 404 here, the answer never repeats the path.
      if (status === undefined) return { status: 404, body: apiError('no such account') };
      return { status: 200, body: accountDetailJson(viewOf(status, store.history, clock.now(), deps.sharedWith)) };
    },
  };
}
