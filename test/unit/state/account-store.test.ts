import { describe, expect, it } from 'vitest';
import type { PollErrorReason } from '../../../src/zexa/errors.js';
import { AccountStore, stateOf } from '../../../src/state/account-store.js';

const thresholds = { warning: 1000, critical: 100 };

function storeWith(...names: string[]): AccountStore {
  const store = new AccountStore();
  store.configure(names.map((name) => ({ name, thresholds })));
  return store;
}

function failure(reason: PollErrorReason, atMs = 2000) {
  return {
    reason,
    message: `failed: ${reason}`,
    status: reason === 'timeout' ? undefined : 401,
    requestId: 'req_1',
    attempts: 1,
    atMs,
  };
}

describe('AccountStore', () => {
  it('counts decreases as consumed and increases as added', () => {
    const store = storeWith('a');
    store.recordSuccess('a', { credits: 5000, currency: 'USD', atMs: 1 });
    store.recordSuccess('a', { credits: 4200, currency: 'USD', atMs: 2 });
    store.recordSuccess('a', { credits: 4000, currency: 'USD', atMs: 3 });
    store.recordSuccess('a', { credits: 9000, currency: 'USD', atMs: 4 });
    store.recordSuccess('a', { credits: 9000, currency: 'USD', atMs: 5 });
    const a = store.get('a');
    expect(a?.consumedTotal).toBe(1000);
    expect(a?.addedTotal).toBe(5000);
    expect(a?.balance).toEqual({ credits: 9000, currency: 'USD' });
  });

  it('keeps both counters finite even when handed balances that overflow a delta', () => {
    const store = storeWith('a');
    store.recordSuccess('a', { credits: 100, currency: 'USD', atMs: 1 });
    store.recordSuccess('a', { credits: 1e308, currency: 'USD', atMs: 2 });
    store.recordSuccess('a', { credits: -1e308, currency: 'USD', atMs: 3 });
    store.recordSuccess('a', { credits: 1e308, currency: 'USD', atMs: 4 });
    const a = store.get('a');
    expect(Number.isFinite(a?.consumedTotal)).toBe(true);
    expect(Number.isFinite(a?.addedTotal)).toBe(true);
  });

  it('does not count the first balance as consumption or top-up', () => {
    const store = storeWith('a');
    store.recordSuccess('a', { credits: 5000, currency: 'USD', atMs: 1 });
    expect(store.get('a')?.consumedTotal).toBe(0);
    expect(store.get('a')?.addedTotal).toBe(0);
  });

  it('replaces the balance on a currency change without counting a delta', () => {
    const store = storeWith('a');
    store.recordSuccess('a', { credits: 5000, currency: 'USD', atMs: 1 });
    store.recordSuccess('a', { credits: 300, currency: 'EUR', atMs: 2 });
    expect(store.get('a')?.balance).toEqual({ credits: 300, currency: 'EUR' });
    expect(store.get('a')?.consumedTotal).toBe(0);
    expect(store.get('a')?.addedTotal).toBe(0);
  });

  it('keeps the last good balance and success time while polls fail', () => {
    const store = storeWith('a');
    store.recordSuccess('a', { credits: 700, currency: 'USD', atMs: 1000 });
    store.recordFailure('a', failure('timeout', 2000));
    const a = store.get('a');
    expect(a?.up).toBe(false);
    expect(a?.balance).toEqual({ credits: 700, currency: 'USD' });
    expect(a?.lastSuccessMs).toBe(1000);
    expect(a?.lastError?.reason).toBe('timeout');
    expect(a?.pollErrors.get('timeout')).toBe(1);
  });

  it('counts failed polls by reason per account, each account on its own', () => {
    const store = storeWith('a', 'b');
    store.recordFailure('a', failure('timeout', 1));
    store.recordFailure('a', failure('timeout', 2));
    store.recordFailure('a', failure('server_error', 3));
    expect([...(store.get('a')?.pollErrors ?? [])]).toEqual([
      ['timeout', 2],
      ['server_error', 1],
    ]);
    expect(store.get('b')?.pollErrors.size).toBe(0);
    store.recordFailure('b', failure('network', 4));
    expect([...(store.get('b')?.pollErrors ?? [])]).toEqual([['network', 1]]);
    expect(store.get('a')?.pollErrors.get('network')).toBeUndefined();
    expect(storeWith('c').get('c')?.pollErrors.size).toBe(0);
  });

  it('counts 401 and 403 in the auth counters', () => {
    const store = storeWith('a');
    store.recordFailure('a', failure('unauthorized'));
    store.recordFailure('a', failure('unauthorized'));
    store.recordFailure('a', failure('forbidden'));
    store.recordFailure('a', failure('timeout'));
    expect(store.get('a')?.authErrors).toEqual({ '401': 2, '403': 1 });
  });

  it('reports recovery after a failure', () => {
    const store = storeWith('a');
    expect(store.recordSuccess('a', { credits: 1, currency: 'USD', atMs: 1 }).recovered).toBe(false);
    store.recordFailure('a', failure('timeout'));
    expect(store.recordSuccess('a', { credits: 1, currency: 'USD', atMs: 3 }).recovered).toBe(true);
    expect(store.recordSuccess('a', { credits: 1, currency: 'USD', atMs: 4 }).recovered).toBe(false);
  });

  it('derives the state shown on the status page', () => {
    const store = storeWith('a');
    const a = store.get('a');
    if (a === undefined) throw new Error('missing');
    expect(stateOf(a)).toBe('PENDING');
    store.recordSuccess('a', { credits: 5000, currency: 'USD', atMs: 1 });
    expect(stateOf(a)).toBe('OK');
    store.recordSuccess('a', { credits: 1000, currency: 'USD', atMs: 2 });
    expect(stateOf(a)).toBe('LOW');
    store.recordSuccess('a', { credits: 100, currency: 'USD', atMs: 3 });
    expect(stateOf(a)).toBe('CRITICAL');
    store.recordFailure('a', failure('unauthorized'));
    expect(stateOf(a)).toBe('UNAUTHORIZED');
    store.recordFailure('a', failure('forbidden'));
    expect(stateOf(a)).toBe('FORBIDDEN');
    store.recordFailure('a', failure('timeout'));
    expect(stateOf(a)).toBe('ERROR');
  });

  it('adds, removes and re-thresholds accounts on configure, bumping versions', () => {
    const store = storeWith('a', 'b');
    store.recordSuccess('a', { credits: 5, currency: 'USD', atMs: 1 });
    const before = store.get('a')?.version ?? -1;
    const removed = store.configure([
      { name: 'a', thresholds: { warning: 50, critical: 5 } },
      { name: 'c', thresholds },
    ]);
    expect(removed).toEqual(['b']);
    expect(store.list().map((s) => s.name)).toEqual(['a', 'c']);
    expect(store.get('a')?.thresholds).toEqual({ warning: 50, critical: 5 });
    expect(store.get('a')?.version).toBeGreaterThan(before);
    expect(store.get('a')?.balance?.credits).toBe(5);
    expect(store.allPolled()).toBe(false);
    store.recordFailure('c', failure('timeout'));
    expect(store.allPolled()).toBe(true);
  });

  it('ignores results for accounts it does not know (removed while polling)', () => {
    const store = storeWith('a');
    const version = store.version;
    store.recordSuccess('gone', { credits: 5, currency: 'USD', atMs: 1 });
    store.recordFailure('gone', failure('timeout'));
    expect(store.version).toBe(version);
    expect(store.get('gone')).toBeUndefined();
  });
});
