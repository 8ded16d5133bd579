/**
 * What `zexa-exporter check` prints and returns: one row per account from its status after one
 * poll, the exit code by the monitoring-plugin convention, and the table or JSON text. Pure.
 */
import { stateOf, type AccountStatus } from '../state/account-store.js';
import type { PollErrorReason } from '../zexa/errors.js';

export const CHECK_EXIT = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type CheckExitCode = (typeof CHECK_EXIT)[keyof typeof CHECK_EXIT];

type CheckState = 'OK' | 'LOW' | 'CRITICAL' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'ERROR';

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

function exitCodeOf(state: CheckState, shared: boolean): CheckExitCode {
  switch (state) {
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

export function checkRow(status: AccountStatus, source: 'file' | 'env', sharedWith: readonly string[]): CheckRow {
  const accountState = stateOf(status);
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
    exit_code: exitCodeOf(state, sharedWith.length > 0),
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

export const CHECK_COLUMNS = ['account', 'state', 'balance', 'currency', 'warning/critical', 'key fingerprint', 'detail'] as const;

export function renderCheckTable(rows: readonly CheckRow[]): string {
  const table = renderTable(
    CHECK_COLUMNS,
    rows.map((r) => [
      r.account,
      r.state,
      r.balance === null ? '-' : String(r.balance),
      r.currency ?? '-',
      `${r.warning}/${r.critical}`,
      r.key_fingerprint ?? '-',
      detail(r),
    ]),
  );
  return `${table}${summary(rows)}\n`;
}

/** `CRITICAL: 1 CRITICAL, 1 UNAUTHORIZED, 2 OK; 1 shared key (exit 2)`. */
function summary(rows: readonly CheckRow[]): string {
  const code = worstExitCode(rows.map((r) => r.exit_code));
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const order: CheckState[] = ['CRITICAL', 'UNAUTHORIZED', 'FORBIDDEN', 'ERROR', 'LOW', 'OK'];
  const states = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  const shared = rows.filter((r) => r.key_shared_with.length > 0).length;
  const sharedText = shared === 0 ? '' : `; ${shared} accounts share a key with another`;
  return `${EXIT_NAMES[code]}: ${rows.length} account${rows.length === 1 ? '' : 's'}, ${states.join(', ')}${sharedText} (exit ${code})`;
}

export function renderCheckJson(rows: readonly CheckRow[]): string {
  return `${JSON.stringify(rows, null, 2)}\n`;
}
