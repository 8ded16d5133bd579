/**
 * The columns of the status table, in order. Each is a header and a function from an account to
 * the cell's HTML, which must escape whatever it shows. To add a column, add an entry here (the
 * table, its header row and the row markup follow).
 */
import { escapeHtml } from './escape.js';
import type { AccountView } from './account-view.js';
import { formatAge, formatBurn, formatDuration, formatNumber, formatTimestamp } from './format.js';
import { sparkline } from './sparkline.js';

export interface Column {
  header: string;
  /** Class of the cells (and the header), for alignment and width. */
  className?: string;
  /** The account's name: a row header (`<th scope="row">`) rather than a data cell. */
  rowHeader?: boolean;
  cell(view: AccountView): string;
}

/** What each state means, as the badge's tooltip. */
export const STATE_TEXT: Record<string, string> = {
  OK: 'balance above the warning threshold',
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

function runsOutCell({ consumption }: AccountView): string {
  if (consumption === undefined) return '—';
  switch (consumption.forecast) {
    case 'not_draining':
      return '<span class="flat">not draining</span>';
    case 'short_history':
      return `<span class="dim">estimate after 1 h of history</span>`;
    case 'ok': {
      const seconds = consumption.secondsToEmpty ?? 0;
      return seconds <= 0 ? '<strong>empty</strong>' : `runs out in <strong>~${formatDuration(seconds)}</strong>`;
    }
  }
}

function burnCell({ consumption }: AccountView): string {
  if (consumption === undefined) return '—';
  const burn = consumption.perHour > 0 ? formatBurn(consumption.perHour) : '0';
  const topUps = consumption.topUps.count === 0 ? '' : `<br><small>+${escapeHtml(formatNumber(Math.round(consumption.topUps.credits)))} topped up</small>`;
  return `${burn}${topUps}`;
}

function lastSuccessCell({ status, nowMs }: AccountView): string {
  if (status.lastSuccessMs === undefined) return 'never';
  return `${escapeHtml(formatAge(nowMs, status.lastSuccessMs))}<br><small>${escapeHtml(formatTimestamp(status.lastSuccessMs))}</small>`;
}

function errorCell({ status }: AccountView): string {
  const error = status.lastError;
  if (error === undefined) return '—';
  if (status.up) return `<small class="dim">last: ${escapeHtml(error.reason)} at ${escapeHtml(formatTimestamp(error.atMs))}</small>`;
  return [
    `<strong>${escapeHtml(error.reason)}</strong>`,
    error.status === undefined ? '' : ` (HTTP ${error.status})`,
    `: ${escapeHtml(error.message)}`,
    error.requestId === undefined ? '' : `<br><small class="rid">request_id <code>${escapeHtml(error.requestId)}</code></small>`,
    error.attempts > 1 ? ` <small class="dim">after ${error.attempts} attempts</small>` : '',
  ].join('');
}

export const COLUMNS: readonly Column[] = [
  { header: 'Account', className: 'name', rowHeader: true, cell: ({ status }) => escapeHtml(status.name) },
  { header: 'State', cell: ({ health }) => stateBadge(health) },
  { header: 'Balance', className: 'num', cell: balanceCell },
  { header: 'History', cell: ({ series, status }) => sparkline(series, status.thresholds, status.balance?.currency) },
  { header: 'Burn', cell: burnCell },
  { header: 'Runs out', cell: runsOutCell },
  { header: 'Last success', className: 'when', cell: lastSuccessCell },
  { header: 'Last error', className: 'err', cell: errorCell },
];

export function headerRow(columns: readonly Column[] = COLUMNS): string {
  return `<tr>${columns.map((c) => `<th scope="col"${c.className === undefined ? '' : ` class="${c.className}"`}>${escapeHtml(c.header)}</th>`).join('')}</tr>`;
}

export function row(view: AccountView, columns: readonly Column[] = COLUMNS): string {
  const cells = columns.map((c) => {
    const tag = c.rowHeader === true ? 'th scope="row"' : 'td';
    const close = c.rowHeader === true ? 'th' : 'td';
    return `<${tag}${c.className === undefined ? '' : ` class="${c.className}"`}>${c.cell(view)}</${close}>`;
  });
  return `<tr class="s-${view.health.toLowerCase()}">${cells.join('')}</tr>`;
}
