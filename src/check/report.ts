/**
 * What `zexa-exporter check` prints and returns: one row per account from its status after one
 * poll, the exit code by the monitoring-plugin convention, and the text: the plugin status line
 * first (Nagios, Icinga, Naemon and Sensu show the first line as the service status, and read
 * what follows its `|` as performance data), then the table as long output; or JSON. Pure.
 */
import { stateOf, type AccountState, type AccountStatus } from '../state/account-store.js';
import { formatDurationMs } from '../config/values.js';
import type { PollErrorReason } from '../zexa/errors.js';

export const CHECK_EXIT = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type CheckExitCode = (typeof CHECK_EXIT)[keyof typeof CHECK_EXIT];

type CheckState = 'OK' | 'DRAINING' | 'LOW' | 'CRITICAL' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'ERROR';

/** One account in `--output=json`; docs/check.md documents every field. */
export interface CheckRow {
  account: string;
  state: CheckState;
  /** Credits from this poll; null when it failed. */
  balance: number | null;
  currency: string | null;
  warning: number;
  critical: number;
  /** First 12 hex digits of the key's SHA-256; null when the key could not be read. */
  key_fingerprint: string | null;
  key_source: 'file' | 'env';
  /** Other accounts checked that poll with the same key. */
  key_shared_with: string[];
  reason: PollErrorReason | null;
  http_status: number | null;
  request_id: string | null;
  /** The failure, in words (never the key). */
  error: string | null;
  /** This account's own exit code; the process exits with the most severe. */
  exit_code: CheckExitCode;
}

/** monitoring-plugins' max_state_alt: OK < UNKNOWN < WARNING < CRITICAL (a known problem beats an unknown one). */
const SEVERITY: Record<CheckExitCode, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };

export function worstExitCode(codes: readonly CheckExitCode[]): CheckExitCode {
  return codes.reduce<CheckExitCode>((worst, code) => (SEVERITY[code] > SEVERITY[worst] ? code : worst), CHECK_EXIT.OK);
}

export interface RowOptions {
  /** The account's state with the balance history read (stateWithForecast); stateOf's when not given. */
  state?: AccountState;
  /** DRAINING is a WARNING (`--warn-draining`); otherwise it counts as OK, as before it existed. */
  warnDraining?: boolean;
}

function exitCodeOf(state: CheckState, shared: boolean, warnDraining: boolean): CheckExitCode {
  switch (state) {
    case 'DRAINING':
      return warnDraining || shared ? CHECK_EXIT.WARNING : CHECK_EXIT.OK;
    case 'CRITICAL':
    case 'UNAUTHORIZED':
    case 'FORBIDDEN':
      return CHECK_EXIT.CRITICAL;
    case 'LOW':
      return CHECK_EXIT.WARNING;
    case 'ERROR':
      return shared ? CHECK_EXIT.WARNING : CHECK_EXIT.UNKNOWN;
    case 'OK':
      return shared ? CHECK_EXIT.WARNING : CHECK_EXIT.OK;
  }
}

export function checkRow(
  status: AccountStatus,
  source: 'file' | 'env',
  sharedWith: readonly string[],
  options: RowOptions = {},
): CheckRow {
  const accountState = options.state ?? stateOf(status);
  // Every account has been polled once when rows are made; PENDING cannot occur.
  const state: CheckState = accountState === 'PENDING' ? 'ERROR' : accountState;
  const failed = !status.up ? status.lastError : undefined;
  return {
    account: status.name,
    state,
    balance: status.up ? (status.balance?.credits ?? null) : null,
    currency: status.up ? (status.balance?.currency ?? null) : null,
    warning: status.thresholds.warning,
    critical: status.thresholds.critical,
    key_fingerprint: status.key?.fingerprint ?? null,
    key_source: source,
    key_shared_with: [...sharedWith],
    reason: failed?.reason ?? null,
    http_status: failed?.status ?? null,
    request_id: failed?.requestId ?? null,
    error: failed?.message ?? null,
    exit_code: exitCodeOf(state, sharedWith.length > 0, options.warnDraining === true),
  };
}

const EXIT_NAMES: Record<CheckExitCode, string> = { 0: 'OK', 1: 'WARNING', 2: 'CRITICAL', 3: 'UNKNOWN' };

/** reason, HTTP status and request_id of a failure, and the key sharing. */
function detail(row: CheckRow): string {
  const parts: string[] = [];
  if (row.reason !== null) {
    parts.push(row.reason);
    if (row.http_status !== null) parts.push(`HTTP ${row.http_status}`);
    if (row.request_id !== null) parts.push(`request_id ${row.request_id}`);
    // The words add what the status does not say (refused, timed out, which file).
    if (row.http_status === null && row.error !== null) parts.push(row.error);
  }
  if (row.key_shared_with.length > 0) parts.push(`key shared with ${row.key_shared_with.join(', ')}`);
  return parts.join(', ');
}

/** Cells that cannot break the table: pipes escaped, line breaks as spaces. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** A Markdown table, padded so it also reads well in a terminal. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, c) => Math.max(3, ...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => `| ${r.map((v, c) => v.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head ?? []), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n') + '\n';
}

export const CHECK_COLUMNS = [
  'account',
  'state',
  'balance',
  'currency',
  'warning/critical',
  'key fingerprint',
  'detail',
] as const;

/** What one run of the check found. */
export interface CheckOutcome {
  /** The accounts that answered, in name order. */
  rows: readonly CheckRow[];
  /** When the deadline passed first: the deadline and the accounts still without an answer. */
  timedOut?: { afterMs: number; unanswered: readonly string[] };
}

/** The exit code: the worst row's, or UNKNOWN when the deadline passed. */
export function outcomeExitCode(outcome: CheckOutcome): CheckExitCode {
  return outcome.timedOut === undefined ? worstExitCode(outcome.rows.map((r) => r.exit_code)) : CHECK_EXIT.UNKNOWN;
}

export function renderCheckTable(outcome: CheckOutcome): string {
  const table = renderTable(
    CHECK_COLUMNS,
    outcome.rows.map((r) => [
      r.account,
      r.state,
      r.balance === null ? '-' : String(r.balance),
      r.currency ?? '-',
      `${r.warning}/${r.critical}`,
      r.key_fingerprint ?? '-',
      detail(r),
    ]),
  );
  const unanswered =
    outcome.timedOut === undefined
      ? ''
      : `no answer within ${formatDurationMs(outcome.timedOut.afterMs)}: ${outcome.timedOut.unanswered.join(', ')}\n`;
  return `${statusLine(outcome)}\n${table}${unanswered}`;
}

/**
 * A performance-data label: always quoted, a quote inside doubled (the monitoring-plugins
 * guidelines' escape). Account names hold neither, but the form must survive any label.
 */
function perfLabel(label: string): string {
  return `'${label.replace(/'/g, "''")}'`;
}

/** `'label'=value;warn;crit;min` for every account with a balance, space-separated. */
export function perfdata(rows: readonly CheckRow[]): string {
  return rows
    .filter((r) => r.balance !== null)
    .map((r) => `${perfLabel(r.account)}=${r.balance};${r.warning};${r.critical};0`)
    .join(' ');
}

const SUMMARY_ORDER: readonly CheckState[] = [
  'CRITICAL',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'ERROR',
  'LOW',
  'DRAINING',
  'OK',
];

function stateCounts(rows: readonly CheckRow[]): string {
  const counts = new Map<CheckState, number>();
  for (const row of rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  return SUMMARY_ORDER.filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s.toLowerCase()}`)
    .join(', ');
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The plugin status line: `ZEXA CRITICAL - 6 accounts: 1 critical, 1 low, 4 ok | 'production'=4999;1000;100;0 …`;
 * `ZEXA UNKNOWN - timed out after 30s …` with what was known when the deadline passed.
 */
export function statusLine(outcome: CheckOutcome): string {
  const { rows, timedOut } = outcome;
  const code = outcomeExitCode(outcome);
  const counts = stateCounts(rows);
  const shared = rows.filter((r) => r.key_shared_with.length > 0).length;
  const sharedText = shared === 0 ? '' : `; ${shared} share a key with another`;
  const text =
    timedOut === undefined
      ? `${plural(rows.length, 'account')}: ${counts}${sharedText}`
      : `timed out after ${formatDurationMs(timedOut.afterMs)} with ${timedOut.unanswered.length} of ${plural(rows.length + timedOut.unanswered.length, 'account')} unanswered` +
        `${rows.length === 0 ? '' : `; known: ${counts}${sharedText}`}`;
  const perf = perfdata(rows);
  return `ZEXA ${EXIT_NAMES[code]} - ${text}${perf === '' ? '' : ` | ${perf}`}`;
}

export function renderCheckJson(outcome: CheckOutcome): string {
  return `${JSON.stringify(outcome.rows, null, 2)}\n`;
}
