import { describe, expect, it } from 'vitest';
import { AccountStore } from '../../src/account-state.js';
import { escapeHtml, renderStatusPage } from '../../src/status-page.js';

const thresholds = { warning: 1000, critical: 100 };
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

function page(store: AccountStore): string {
  return renderStatusPage({ version: '1.0.0', nowMs: NOW, intervalMs: 60_000, accounts: store.list() });
}

function rowOf(html: string, name: string): string {
  const match = new RegExp(`<tr class="s-[a-z]+"><td class="name">${name}</td>.*?</tr>`).exec(html);
  if (match === null) throw new Error(`no row for ${name}`);
  return match[0];
}

describe('status page', () => {
  it('shows every state with balance, thresholds, last success and the error with its request_id', () => {
    const store = new AccountStore();
    const names = ['ok', 'low', 'crit', 'revoked', 'forbidden', 'flaky', 'pending'];
    store.configure(names.map((name) => ({ name, thresholds })));
    store.recordSuccess('ok', { credits: 4250, currency: 'USD', atMs: NOW - 30_000 });
    store.recordSuccess('low', { credits: 640, currency: 'USD', atMs: NOW - 30_000 });
    store.recordSuccess('crit', { credits: 42, currency: 'USD', atMs: NOW - 30_000 });
    store.recordFailure('revoked', { reason: 'unauthorized', message: 'key rejected', status: 401, requestId: 'req_abc123', attempts: 1, atMs: NOW });
    store.recordFailure('forbidden', { reason: 'forbidden', message: 'plan', status: 403, requestId: 'req_f', attempts: 1, atMs: NOW });
    store.recordSuccess('flaky', { credits: 3000, currency: 'USD', atMs: NOW - 600_000 });
    store.recordFailure('flaky', { reason: 'server_error', message: 'HTTP 503', status: 503, requestId: undefined, attempts: 3, atMs: NOW });
    const html = page(store);
    expect(rowOf(html, 'ok')).toContain('>OK<');
    expect(rowOf(html, 'ok')).toContain('4,250 USD');
    expect(rowOf(html, 'low')).toContain('>LOW<');
    expect(rowOf(html, 'crit')).toContain('>CRITICAL<');
    expect(rowOf(html, 'revoked')).toContain('>UNAUTHORIZED<');
    expect(rowOf(html, 'revoked')).toContain('req_abc123');
    expect(rowOf(html, 'forbidden')).toContain('>FORBIDDEN<');
    expect(rowOf(html, 'flaky')).toContain('>ERROR<');
    expect(rowOf(html, 'flaky')).toContain('3,000 USD');
    expect(rowOf(html, 'flaky')).toContain('after 3 attempts');
    expect(rowOf(html, 'flaky')).toContain('(10m ago)');
    expect(rowOf(html, 'pending')).toContain('>PENDING<');
    expect(rowOf(html, 'ok')).toContain('1,000 / 100');
    expect(html).toContain('href="metrics"');
    // Trouble first: the worst states are listed before the healthy ones.
    expect(html.indexOf('>revoked<')).toBeLessThan(html.indexOf('>ok<'));
    expect(html.indexOf('>crit<')).toBeLessThan(html.indexOf('>low<'));
  });

  it('escapes every value that came from configuration or the API', () => {
    const store = new AccountStore();
    store.configure([{ name: '<script>alert(1)</script>', thresholds }]);
    store.recordFailure('<script>alert(1)</script>', {
      reason: 'client_error',
      message: '<img src=x onerror=alert(2)>',
      status: 400,
      requestId: '"><script>alert(3)</script>',
      attempts: 1,
      atMs: NOW,
    });
    const html = page(store);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
