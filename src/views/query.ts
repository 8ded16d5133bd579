/**
 * The query parameters of `/` and `/api/v1/accounts`: `state` (one state, any case), `q` (part
 * of the account name, any case) and `page` (from 1). Pure: parsing, the links that carry a query
 * on, and the page slicing. Bad values are refused with a message naming the parameter;
 * parameters this page does not know are ignored, as a cache-busting `?_=…` should be.
 */
import type { AccountState } from '../state/account-store.js';

/** Rows per page of `/` and of `/api/v1/accounts`. */
export const PAGE_SIZE = 500;
/** Longer than any account name (64), short enough to bound the work of a search. */
const MAX_SEARCH_LENGTH = 100;

/** Worst first: the order of the page, and of the summary. */
export const STATE_ORDER: readonly AccountState[] = [
  'UNAUTHORIZED',
  'CRITICAL',
  'FORBIDDEN',
  'ERROR',
  'LOW',
  'DRAINING',
  'PENDING',
  'OK',
];

export interface AccountQuery {
  state: AccountState | undefined;
  /** Lower-cased; '' when not searching. */
  q: string;
  page: number;
}

export type ParsedQuery = { ok: true; query: AccountQuery } | { ok: false; problems: string[] };

function single(raw: Record<string, unknown>, name: string, problems: string[]): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    problems.push(`${name}: give it once`);
    return undefined;
  }
  return value;
}

export function parseAccountQuery(raw: Record<string, unknown>): ParsedQuery {
  const problems: string[] = [];
  const query: AccountQuery = { state: undefined, q: '', page: 1 };
  const state = single(raw, 'state', problems);
  if (state !== undefined && state !== '') {
    const upper = state.toUpperCase() as AccountState;
    if (STATE_ORDER.includes(upper)) query.state = upper;
    else problems.push(`state: must be one of ${STATE_ORDER.map((s) => s.toLowerCase()).join(', ')}`);
  }
  const q = single(raw, 'q', problems);
  if (q !== undefined) {
    if (q.length > MAX_SEARCH_LENGTH) problems.push(`q: at most ${MAX_SEARCH_LENGTH} characters`);
    else query.q = q.trim().toLowerCase();
  }
  const page = single(raw, 'page', problems);
  if (page !== undefined && page !== '') {
    if (/^[1-9][0-9]{0,5}$/.test(page)) query.page = Number(page);
    else problems.push('page: must be a whole number from 1 to 999999');
  }
  return problems.length === 0 ? { ok: true, query } : { ok: false, problems };
}

/** `?state=…&q=…&page=…` with only what differs from the defaults; '' for the defaults. */
export function queryString(query: AccountQuery): string {
  const parts: string[] = [];
  if (query.state !== undefined) parts.push(`state=${query.state.toLowerCase()}`);
  if (query.q !== '') parts.push(`q=${encodeURIComponent(query.q)}`);
  if (query.page !== 1) parts.push(`page=${query.page}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

export interface PageSlice<T> {
  items: T[];
  page: number;
  /** At least 1, also when nothing matches. */
  pages: number;
  pageSize: number;
  matching: number;
}

/** Page `page` (from 1) of `items`; a page past the end is empty (its number is kept). */
export function paginate<T>(items: readonly T[], page: number, pageSize = PAGE_SIZE): PageSlice<T> {
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  const start = (page - 1) * pageSize;
  return { items: items.slice(start, start + pageSize), page, pages, pageSize, matching: items.length };
}
