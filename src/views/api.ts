/**
 * The JSON of `/api/v1/accounts` and `/api/v1/accounts/{name}`: what the status page shows, for
 * scripts. Times are RFC 3339 (UTC, to the second); a value not known yet is `null`, never
 * left out. Nothing here can carry a key: the fields come from the account's status (names,
 * numbers, the API's error message and request_id, which the client already redacts) and its
 * balance history.
 */
import type { AccountView } from './account-view.js';
import { keyJson, type KeyJson } from './key-columns.js';
import { formatTimestamp } from './format.js';
import type { Selection } from './selection.js';

interface AccountJson {
  name: string;
  state: string;
  balance: number | null;
  currency: string | null;
  thresholds: { warning: number; critical: number };
  lastSuccess: string | null;
  lastError: { reason: string; status: number | null; requestId: string | null; message: string; at: string } | null;
  /** Credits consumed per hour over the last 6 h (the ZexaCreditsExhaustionForecast rate). */
  consumptionPerHour: number | null;
  /** Seconds until empty at that rate; null when not draining or with under 1 h of history. */
  secondsToEmpty: number | null;
  topUps: { count: number; credits: number } | null;
  /** How long the balance history is, in seconds. */
  historySeconds: number | null;
  /** The key's fingerprint, age and hygiene (rotation due, shared key); null before the key was first read. */
  key: KeyJson | null;
}

interface HistoryPointJson {
  at: string;
  balance: number;
  /** Credits consumed and added since the previous point. */
  consumed: number;
  added: number;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

function accountJson(view: AccountView): AccountJson {
  const { status, consumption } = view;
  const error = status.lastError;
  return {
    name: status.name,
    state: view.state,
    balance: status.balance?.credits ?? null,
    currency: status.balance?.currency ?? null,
    thresholds: { warning: status.thresholds.warning, critical: status.thresholds.critical },
    lastSuccess: status.lastSuccessMs === undefined ? null : formatTimestamp(status.lastSuccessMs),
    lastError:
      error === undefined
        ? null
        : {
            reason: error.reason,
            status: error.status ?? null,
            requestId: error.requestId ?? null,
            message: error.message,
            at: formatTimestamp(error.atMs),
          },
    consumptionPerHour: consumption === undefined ? null : round2(consumption.perHour),
    secondsToEmpty: consumption?.secondsToEmpty === undefined ? null : Math.round(consumption.secondsToEmpty),
    topUps:
      consumption === undefined
        ? null
        : { count: consumption.topUps.count, credits: round2(consumption.topUps.credits) },
    historySeconds: consumption === undefined ? null : Math.round(consumption.historyMs / 1000),
    key: keyJson(view),
  };
}

/** The history as points, oldest first: where it starts, then the end of each bucket with a poll. */
function historyJson(view: AccountView): { bucketSeconds: number | null; history: HistoryPointJson[] } {
  const series = view.series;
  if (series === undefined) return { bucketSeconds: null, history: [] };
  const points: HistoryPointJson[] = [
    { at: formatTimestamp(series.sinceMs), balance: round2(series.startBalance), consumed: 0, added: 0 },
  ];
  for (const bucket of series.buckets) {
    points.push({
      at: formatTimestamp(bucket.endMs),
      balance: round2(bucket.balance),
      consumed: round2(bucket.consumed),
      added: round2(bucket.added),
    });
  }
  return { bucketSeconds: series.bucketMs / 1000, history: points };
}

export function accountListJson(selection: Selection, views: readonly AccountView[], nowMs: number): string {
  return JSON.stringify({
    generatedAt: formatTimestamp(nowMs),
    page: selection.page,
    pages: selection.pages,
    pageSize: selection.pageSize,
    matching: selection.matching,
    total: selection.total,
    counts: Object.fromEntries(selection.counts),
    accounts: views.map(accountJson),
  });
}

export function accountDetailJson(view: AccountView): string {
  return JSON.stringify({ ...accountJson(view), ...historyJson(view) });
}

export function apiError(message: string, problems: readonly string[] = []): string {
  return JSON.stringify(problems.length === 0 ? { error: message } : { error: message, problems });
}
