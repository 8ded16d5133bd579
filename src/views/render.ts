/**
 * The HTML of `/`: the summary of states (each a link filtering to it), the search, one page of
 * the table and the links to the other pages. A pure function of what it is given; every value
 * from configuration, the API or the query string is escaped, and the page carries no script
 * (the server's CSP forbids scripts too). Filters and pages are plain links and a GET form, so
 * everything works without JavaScript; `<meta http-equiv="refresh">` reloads the same URL, so
 * the filter and the page survive the refresh.
 */
import type { AccountState } from '../state/account-store.js';
import type { AccountView } from './account-view.js';
import { COLUMNS, headerRow, row, stateBadge, STATE_TEXT } from './columns.js';
import { escapeHtml } from './escape.js';
import { formatNumber, formatTimestamp } from './format.js';
import { queryString, STATE_ORDER, type AccountQuery } from './query.js';
import type { Selection } from './selection.js';
import { SPARKLINE_DEFS } from './sparkline.js';
import { STYLE } from './style.js';

export interface PageContext {
  version: string;
  nowMs: number;
  intervalMs: number;
  shard?: { index: number; count: number } | undefined;
}

/** An href for `query`: `./` plus the query string, escaped for an attribute. */
function href(query: AccountQuery): string {
  return escapeHtml(`./${queryString(query)}`);
}

function stateLinks(selection: Selection, query: AccountQuery): string {
  const all = `<a class="all" href="${href({ ...query, state: undefined, page: 1 })}"${query.state === undefined ? ' aria-current="page"' : ''}>All <strong>${formatNumber(selection.searched)}</strong></a>`;
  const links = STATE_ORDER.filter((s) => selection.counts.has(s) || s === query.state).map((state: AccountState) => {
    const current = state === query.state ? ' aria-current="page"' : '';
    return `<a href="${href({ ...query, state, page: 1 })}" title="${escapeHtml(STATE_TEXT[state] ?? '')}"${current}>${stateBadge(state)}<strong>${formatNumber(selection.counts.get(state) ?? 0)}</strong></a>`;
  });
  return `<nav class="states" aria-label="Filter by state">${all}${links.join('')}</nav>`;
}

/** The legend's samples, drawn at the size they are shown (36 × 10 px) with the sparkline's strokes. */
const LEGEND =
  '<span class="legend"><svg viewBox="0 0 36 10" aria-hidden="true"><path class="bl" d="M0 5H36"/></svg> balance ' +
  '<svg viewBox="0 0 36 10" aria-hidden="true"><path class="tw" d="M0 5H36"/></svg> warning ' +
  '<svg viewBox="0 0 36 10" aria-hidden="true"><path class="tc" d="M0 5H36"/></svg> critical · burn over the last 6 h</span>';

function searchForm(query: AccountQuery): string {
  const state =
    query.state === undefined
      ? ''
      : `<input type="hidden" name="state" value="${escapeHtml(query.state.toLowerCase())}">`;
  const clear = query.q === '' ? '' : ` <a href="${href({ ...query, q: '', page: 1 })}">clear search</a>`;
  return `<form class="search" method="get" action="./" role="search"><label for="q">Account name</label><input id="q" type="search" name="q" value="${escapeHtml(query.q)}" placeholder="part of a name">${state}<button type="submit">Search</button>${clear}${LEGEND}</form>`;
}

function pageLinks(selection: Selection, query: AccountQuery): string {
  if (selection.pages <= 1 && selection.page === 1) return '';
  const first = (selection.page - 1) * selection.pageSize + 1;
  const last = Math.min(selection.matching, selection.page * selection.pageSize);
  const shown =
    selection.items.length === 0
      ? 'no rows on this page'
      : `rows ${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(selection.matching)}`;
  const link = (page: number, text: string, rel: string): string =>
    `<a href="${href({ ...query, page })}" rel="${rel}">${text}</a>`;
  const parts = [
    selection.page > 1 ? link(1, '« first', 'first') : '',
    selection.page > 1 ? link(Math.min(selection.page - 1, selection.pages), '‹ previous', 'prev') : '',
    `<span>Page ${formatNumber(selection.page)} of ${formatNumber(selection.pages)} · ${shown}</span>`,
    selection.page < selection.pages ? link(selection.page + 1, 'next ›', 'next') : '',
    selection.page < selection.pages ? link(selection.pages, 'last »', 'last') : '',
  ];
  return `<nav class="pages" aria-label="Pages">${parts.filter((p) => p !== '').join('')}</nav>`;
}

function document(context: PageContext, title: string, body: string): string {
  const refresh = Math.max(1, Math.round(context.intervalMs / 1000));
  const shard = context.shard === undefined ? '' : ` · shard ${context.shard.index}/${context.shard.count}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refresh}">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Zexa Exporter</h1>
<p>version ${escapeHtml(context.version)} · polling every ${refresh}s${shard} · <a href="metrics">/metrics</a> · <a href="api/v1/accounts">/api/v1/accounts</a> · <a href="healthz">/healthz</a> · <a href="readyz">/readyz</a> · <a href="-/healthy">/-/healthy</a> · <a href="-/ready">/-/ready</a></p>
</header>
<main>
${body}
</main>
<footer>Generated ${escapeHtml(formatTimestamp(context.nowMs))}; refreshes every ${refresh}s. Quote the request_id to Zexa support when asking about a failed request.</footer>
</body>
</html>
`;
}

export function renderStatusPage(
  context: PageContext,
  selection: Selection,
  query: AccountQuery,
  views: readonly AccountView[],
): string {
  const caption = [
    `${formatNumber(selection.total)} account(s)`,
    query.q === '' ? '' : `, ${formatNumber(selection.searched)} matching “${escapeHtml(query.q)}”`,
    query.state === undefined ? '' : `, ${formatNumber(selection.matching)} ${query.state}`,
    views.length === 0 ? '' : '; worst state first, then by name',
  ].join('');
  const table =
    views.length === 0
      ? `<p class="empty">${caption}: ${selection.matching === 0 ? 'no account matches.' : 'no rows on this page.'}</p>`
      : `${SPARKLINE_DEFS}<table>\n<caption>${caption}</caption>\n<thead>${headerRow(COLUMNS)}</thead>\n<tbody>\n${views.map((v) => row(v, COLUMNS)).join('\n')}\n</tbody>\n</table>`;
  const body = `${stateLinks(selection, query)}\n${searchForm(query)}\n${table}\n${pageLinks(selection, query)}`;
  const filtered = query.state !== undefined || query.q !== '' || query.page !== 1;
  return document(context, filtered ? `Zexa Exporter (${selection.matching} shown)` : 'Zexa Exporter', body);
}

/** The page for a query that could not be read: what is wrong, and a way back. */
export function renderQueryError(context: PageContext, problems: readonly string[]): string {
  const items = problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('');
  return document(
    context,
    'Zexa Exporter: bad query',
    `<p><strong>This address has a query the page does not understand:</strong></p><ul>${items}</ul><p><a href="./">Show every account</a></p>`,
  );
}
