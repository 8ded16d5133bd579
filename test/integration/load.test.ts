/**
 * The small version of the load test (issue 4 §6) that runs in `npm test`: the built exporter
 * as a process with 100 simulated accounts, 10 concurrent clients on `/metrics` and `/` for 5 s.
 * It asserts only that no request failed (connection error, timeout, non-2xx or an incomplete
 * body) and that the load was real; speed and poll slip are for `npm run load` to report, as a
 * busy CI machine cannot promise them.
 */
import { describe, expect, it } from 'vitest';
import type { SimRequestRecord } from '../../src/simulator/index.js';
import { pollSlip, runLoad, verdict } from '../../bench/load.js';

describe('load: 100 accounts, /metrics and / under 10 concurrent clients for 5 s', () => {
  it('answers every request completely and with 2xx', async () => {
    const figures = await runLoad({ accounts: 100, connections: 10, durationSeconds: 5, intervalSeconds: 5 });
    for (const endpoint of figures.endpoints) {
      expect(endpoint.failures, `failures on ${endpoint.path}`).toEqual({
        errors: 0,
        timeouts: 0,
        non2xx: 0,
        incomplete: 0,
      });
      expect(endpoint.requests, `requests sent to ${endpoint.path}`).toBeGreaterThan(10);
    }
    expect(figures.endpoints.map((e) => e.path)).toEqual(['/metrics', '/']);
    expect(figures.failedRequests).toBe(0);
    expect(figures.totalRequests).toBe(figures.endpoints[0]!.requests + figures.endpoints[1]!.requests);
    // The exporter really polled while it was being loaded, and every poll succeeded.
    expect(figures.slip.failedPolls).toBe(0);
    expect(figures.rss.peakBytes).toBeGreaterThan(10 * 1024 * 1024);
  }, 90_000);
});

describe('pollSlip', () => {
  const record = (account: string, at: number, status: SimRequestRecord['status'] = 200): SimRequestRecord => ({
    account,
    at,
    status,
    authorization: 'ok',
    requestId: 'req_x',
  });

  it('measures gaps from the second poll on, against the interval', () => {
    const slip = pollSlip(
      [
        // a: the start-up gap (0 → 300) is left out; then 10,000 and 10,400.
        record('a', 0),
        record('a', 300),
        record('a', 10_300),
        record('a', 20_700),
        // b: polled only twice, so nothing to measure yet.
        record('b', 100),
        record('b', 5_000),
        record('c', 50),
        record('c', 9_000),
        record('c', 18_900, 503),
        // Requests without a known key do not count.
        { account: undefined, at: 1, status: 401, authorization: 'missing', requestId: 'req_y' },
      ],
      ['a', 'b', 'c'],
      10_000,
    );
    expect(slip).toEqual({
      accountsMeasured: 2,
      accountsTotal: 3,
      gaps: 3,
      maxSlipMs: 400,
      maxSlipFraction: 0.04,
      worstAccount: 'a',
      failedPolls: 1,
    });
  });

  it('fails a run on failed requests, a slip over 10 % or accounts never measured', () => {
    const base = {
      options: { accounts: 2, connections: 2, durationSeconds: 1, intervalSeconds: 10 },
      endpoints: [],
      totalRequests: 4,
      totalRequestsPerSecond: 4,
      failedRequests: 0,
      rss: { beforeLoadBytes: 1, maxDuringLoadBytes: 1, peakBytes: 1 },
      simulatorDelayP99Ms: 1,
      slip: {
        accountsMeasured: 2,
        accountsTotal: 2,
        gaps: 2,
        maxSlipMs: 1_000,
        maxSlipFraction: 0.1,
        worstAccount: 'a',
        failedPolls: 0,
      },
    };
    expect(verdict(base)).toEqual([]);
    expect(verdict({ ...base, failedRequests: 3 })).toEqual(['3 failed request(s)']);
    expect(verdict({ ...base, slip: { ...base.slip, maxSlipMs: 1_001, maxSlipFraction: 0.1001 } })).toEqual([
      'a poll slipped by 10.0 % of the interval (limit 10 %)',
    ]);
    expect(verdict({ ...base, slip: { ...base.slip, accountsMeasured: 1 } })).toEqual([
      'only 1 of 2 accounts were polled three times',
    ]);
  });
});
