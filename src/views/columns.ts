/**
 * The columns of the status table, in order. Each is a header, a function from an account to
 * the cell's HTML, which must escape whatever it shows, and the column's own look. To add a
 * column, add an entry here (the table, its header row, the row markup and the column's CSS
 * follow).
 *
 * The cells carry no class: 500 rows of `class="num"` and the like cost 25 KB of the 300 KB a
 * first page may weigh (the page-size budget in BENCHMARKS.md), so each column's rules are written once, for its position
 * (`tr>:nth-child(3)`), by {@link columnStyles}.
 */
import { isEstimating } from '../state/consumption.js';
import { escapeHtml } from './escape.js';
import type { AccountView } from './account-view.js';
import { formatAge, formatBurn, formatDurationSeconds, formatNumber, formatTimestamp } from './format.js';
import { fingerprintCell, KEY_AGE_TITLE, KEY_TITLE, keyAgeCell } from './key-columns.js';
import { noHistory, sparkline } from './sparkline.js';

export interface Column {
  header: string;
  /** The header's tooltip, when the header alone does not say what the column holds. */
  title?: string;
  /**
   * CSS rules for the column's cells, header included, with `&` standing for the cell: `&{text-align:right}&
   * small{color:grey}`.
   */
  css?: string;
  /** The account's name: a row header (`<th scope="row">`) rather than a data cell. */
  rowHeader?: boolean;
  cell(view: AccountView): string;
}

/** What each state means, as the badge's tooltip. */
export const STATE_TEXT: Record<string, string> = {
  OK: 'balance above the warning threshold',
  DRAINING: 'above the warning threshold, but runs out within 72 h at the burn of the last 6 h',
  LOW: 'balance at or below the warning threshold',
  CRITICAL: 'balance at or below the critical threshold: sending stops at zero',
  UNAUTHORIZED: 'the key was rejected (401): revoked, malformed or missing',
  FORBIDDEN: 'the key is valid but the plan does not allow reading credits (403)',
  ERROR: 'the latest poll failed',
  PENDING: 'first poll not finished yet',
};

export function stateBadge(state: string): string {
  return `<span class="badge b-${state.toLowerCase()}">${state}</span>`;
}

function balanceCell({ status }: AccountView): string {
  if (status.balance === undefined) return '—';
  return `${escapeHtml(formatNumber(status.balance.credits))} <small>${escapeHtml(status.balance.currency)}</small>`;
}

function historyCell({ series, status, state }: AccountView): string {
  return series === undefined ? noHistory(state) : sparkline(series, status.thresholds, status.balance?.currency);
}

function runsOutCell({ consumption }: AccountView): string {
  if (consumption === undefined) return '—';
  switch (consumption.forecast) {
    case 'not_draining':
      return '<span class="dim">not draining</span>';
    case 'short_history':
      return `<span class="dim">estimate after 1 h of history</span>`;
    case 'ok': {
      const seconds = consumption.secondsToEmpty ?? 0;
      if (seconds <= 0) return '<strong>empty</strong>';
      // "~" marks an estimate; "under 1 min" already says it is not exact.
      const when = formatDurationSeconds(seconds);
      return `runs out in <strong>${when.startsWith('under') ? '' : '~'}${when}</strong>`;
    }
  }
}

function burnCell({ consumption }: AccountView): string {
  if (consumption === undefined) return '—';
  if (isEstimating(consumption))
    return '<span class="dim" title="the burn rate needs 30 min of history">estimating</span>';
  const burn = consumption.perHour > 0 ? formatBurn(consumption.perHour) : '0';
  const topUps =
    consumption.topUps.count === 0
      ? ''
      : `<small>+${escapeHtml(formatNumber(Math.round(consumption.topUps.credits)))} topped up</small>`;
  return `${burn}${topUps}`;
}

function lastSuccessCell({ status, nowMs }: AccountView): string {
  if (status.lastSuccessMs === undefined) return 'never';
  return `${escapeHtml(formatAge(nowMs, status.lastSuccessMs))}<small>${escapeHtml(formatTimestamp(status.lastSuccessMs))}</small>`;
}

function errorCell({ status }: AccountView): string {
  const error = status.lastError;
  if (error === undefined) return '—';
  if (status.up)
    return `<small class="dim">last: ${escapeHtml(error.reason)} at ${escapeHtml(formatTimestamp(error.atMs))}</small>`;
  return [
    // The reason and message are one span, so a phone's card can cut them to two lines and keep the request_id.
    `<span class="em"><strong>${escapeHtml(error.reason)}</strong>`,
    error.status === undefined ? '' : ` (HTTP ${error.status})`,
    `: ${escapeHtml(error.message)}</span>`,
    error.requestId === undefined
      ? ''
      : `<small class="rid">request_id <code>${escapeHtml(error.requestId)}</code></small>`,
    error.attempts > 1 ? ` <small class="dim">after ${error.attempts} attempts</small>` : '',
  ].join('');
}

/** A `<small>` under the value, on a line of its own (a `<br>` in every cell would cost bytes). */
const SMALL_BELOW = '& small{display:block}';

export const COLUMNS: readonly Column[] = [
  {
    header: 'Account',
    css: '&{white-space:nowrap}tbody &{font-weight:600}',
    rowHeader: true,
    cell: ({ status }) => escapeHtml(status.name),
  },
  { header: 'State', cell: ({ state }) => stateBadge(state) },
  { header: 'Balance', css: '&{text-align:right;white-space:nowrap}& small{white-space:normal}', cell: balanceCell },
  { header: 'History', cell: historyCell },
  { header: 'Burn', css: SMALL_BELOW, cell: burnCell },
  { header: 'Runs out', cell: runsOutCell },
  {
    header: 'Last success',
    css: `&{white-space:nowrap}& small{color:var(--dim)}${SMALL_BELOW}`,
    cell: lastSuccessCell,
  },
  { header: 'Key', title: KEY_TITLE, css: `& code{font-size:12px}${SMALL_BELOW}`, cell: fingerprintCell },
  {
    header: 'Key age',
    title: KEY_AGE_TITLE,
    css: `&{white-space:nowrap}& small{white-space:normal;max-width:9em}${SMALL_BELOW}`,
    cell: keyAgeCell,
  },
  {
    header: 'Last error',
    css: `tbody &{min-width:200px;max-width:420px;overflow-wrap:anywhere;font-size:13px}${SMALL_BELOW}`,
    cell: errorCell,
  },
];

/** Each column's rules, for its position in the row: `&` becomes `tr>:nth-child(k)`. */
export function columnStyles(columns: readonly Column[] = COLUMNS): string {
  return columns
    .map((c, k) => (c.css === undefined ? '' : c.css.replaceAll('&', `tr>:nth-child(${k + 1})`)))
    .join('\n');
}

export function headerRow(columns: readonly Column[] = COLUMNS): string {
  const title = (c: Column): string => (c.title === undefined ? '' : ` title="${escapeHtml(c.title)}"`);
  return `<tr>${columns.map((c) => `<th scope="col"${title(c)}>${escapeHtml(c.header)}</th>`).join('')}</tr>`;
}

export function row(view: AccountView, columns: readonly Column[] = COLUMNS): string {
  const cells = columns.map((c) =>
    c.rowHeader === true ? `<th scope="row">${c.cell(view)}</th>` : `<td>${c.cell(view)}</td>`,
  );
  // Only a state with a colour bar marks its row: most rows are OK and need no class. (Not
  // `tr:has(.b-low)`: :has() made Chromium's load of 500 rows ~40% slower, measured.) DRAINING
  // has its badge's colour only: a page of draining rows with a class each outgrew 300 KB.
  const barred = view.state !== 'OK' && view.state !== 'PENDING' && view.state !== 'DRAINING';
  return `<tr${barred ? ` class="s-${view.state.toLowerCase()}"` : ''}>${cells.join('')}</tr>`;
}
