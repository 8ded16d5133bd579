/**
 * The HTML of `/`: which account is in trouble and why, at a glance. A pure function of the
 * account statuses; every value that came from configuration or from the API is HTML-escaped,
 * and the page carries no script at all (the server also sends a CSP that forbids scripts).
 */
import { healthOf, type AccountHealth, type AccountStatus } from './account-state.js';

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface StatusPageView {
  version: string;
  nowMs: number;
  intervalMs: number;
  accounts: readonly AccountStatus[];
  shard?: { index: number; count: number } | undefined;
}

const HEALTH_ORDER: readonly AccountHealth[] = ['UNAUTHORIZED', 'CRITICAL', 'FORBIDDEN', 'ERROR', 'LOW', 'PENDING', 'OK'];

const HEALTH_TEXT: Record<AccountHealth, string> = {
  OK: 'balance above the warning threshold',
  LOW: 'balance at or below the warning threshold',
  CRITICAL: 'balance at or below the critical threshold: sending stops at zero',
  UNAUTHORIZED: 'the key was rejected (401): revoked, malformed or missing',
  FORBIDDEN: 'the key is valid but the plan does not allow reading credits (403)',
  ERROR: 'the latest poll failed',
  PENDING: 'first poll not finished yet',
};

function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
}

function formatAge(nowMs: number, atMs: number | undefined): string {
  if (atMs === undefined) return 'never';
  const seconds = Math.max(0, Math.round((nowMs - atMs) / 1000));
  const iso = new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (seconds < 120) return `${iso} (${seconds}s ago)`;
  if (seconds < 7200) return `${iso} (${Math.round(seconds / 60)}m ago)`;
  return `${iso} (${Math.round(seconds / 3600)}h ago)`;
}

function row(status: AccountStatus, nowMs: number): string {
  const health = healthOf(status);
  const balance =
    status.balance === undefined
      ? '—'
      : `${escapeHtml(formatNumber(status.balance.credits))} ${escapeHtml(status.balance.currency)}`;
  const error = status.lastError;
  const errorCell =
    error === undefined || status.up
      ? error === undefined
        ? '—'
        : `<span class="old">last: ${escapeHtml(error.reason)} at ${escapeHtml(new Date(error.atMs).toISOString())}</span>`
      : [
          `<strong>${escapeHtml(error.reason)}</strong>`,
          error.status === undefined ? '' : ` (HTTP ${error.status})`,
          `: ${escapeHtml(error.message)}`,
          error.requestId === undefined ? '' : `<br><span class="rid">request_id <code>${escapeHtml(error.requestId)}</code></span>`,
          error.attempts > 1 ? ` <span class="old">after ${error.attempts} attempts</span>` : '',
        ].join('');
  return [
    `<tr class="s-${health.toLowerCase()}">`,
    `<td class="name">${escapeHtml(status.name)}</td>`,
    `<td><span class="badge b-${health.toLowerCase()}" title="${escapeHtml(HEALTH_TEXT[health])}">${health}</span></td>`,
    `<td class="num">${balance}</td>`,
    `<td class="num">${escapeHtml(formatNumber(status.thresholds.warning))} / ${escapeHtml(formatNumber(status.thresholds.critical))}</td>`,
    `<td>${escapeHtml(formatAge(nowMs, status.lastSuccessMs))}</td>`,
    `<td class="err">${errorCell}</td>`,
    '</tr>',
  ].join('');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:18px}
header p{margin:4px 0 0;color:#b9c0cf}header a{color:#9cc3ff}
main{padding:16px 24px}.summary span{display:inline-block;margin:0 10px 10px 0}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:8px 10px;border-bottom:1px solid #e6e8ec;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}td.num{text-align:right;white-space:nowrap}td.name{font-weight:600}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#fff}
.b-ok{background:#2e7d32}.b-low{background:#ef8f00}.b-critical{background:#c62828}.b-unauthorized{background:#6a1b9a}
.b-forbidden{background:#ad1457}.b-error{background:#5d4037}.b-pending{background:#78909c}
.old{color:#6b7280}.rid code{background:#f1f3f6;padding:0 4px}td.err{max-width:520px;word-break:break-word}
footer{padding:8px 24px;color:#6b7280;font-size:12px}
`;

export function renderStatusPage(view: StatusPageView): string {
  const counts = new Map<AccountHealth, number>();
  for (const status of view.accounts) {
    const health = healthOf(status);
    counts.set(health, (counts.get(health) ?? 0) + 1);
  }
  const sorted = [...view.accounts].sort(
    (a, b) => HEALTH_ORDER.indexOf(healthOf(a)) - HEALTH_ORDER.indexOf(healthOf(b)) || a.name.localeCompare(b.name),
  );
  const summary = HEALTH_ORDER.filter((h) => counts.has(h))
    .map((h) => `<span><span class="badge b-${h.toLowerCase()}">${h}</span> ${counts.get(h)}</span>`)
    .join('');
  const shard = view.shard === undefined ? '' : ` · shard ${view.shard.index}/${view.shard.count}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zexa Exporter</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Zexa Exporter</h1>
<p>version ${escapeHtml(view.version)} · polling every ${Math.round(view.intervalMs / 1000)}s · ${view.accounts.length} account(s)${shard} · <a href="metrics">/metrics</a> · <a href="healthz">/healthz</a> · <a href="readyz">/readyz</a></p>
</header>
<main>
<div class="summary">${summary}</div>
<table>
<thead><tr><th>Account</th><th>State</th><th>Balance</th><th>Warning / critical</th><th>Last success</th><th>Last error</th></tr></thead>
<tbody>
${sorted.map((s) => row(s, view.nowMs)).join('\n')}
</tbody>
</table>
</main>
<footer>Generated ${escapeHtml(new Date(view.nowMs).toISOString())}. Quote the request_id to Zexa support when asking about a failed request.</footer>
</body>
</html>
`;
}
