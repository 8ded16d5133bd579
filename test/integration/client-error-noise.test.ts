/**
 * A client that sends malformed paths as fast as it can: `GET /api/v1/accounts/%25AAAA…%` of
 * 15 KB answers 400, which is right, but each once wrote an error-level line quoting the whole
 * path, unauthenticated. They are counted in zexa_exporter_http_client_errors_total{code} and
 * logged at debug level at most once a minute, cut to 200 characters.
 */
import { describe, expect, it } from 'vitest';
import { startHarness } from '../support/exporter-harness.js';

const REQUESTS = 50;

describe('client errors', () => {
  it('are counted, not logged one by one', { timeout: 60_000 }, async () => {
    const h = await startHarness({
      accounts: [{ name: 'alpha', key: 'zx_client_errors_7c1d9e2f4a', credits: 10 }],
      logLevel: 'debug',
    });
    try {
      await h.until(async () => (await h.sample('zexa_up{account="alpha"}')) === 1);
      const path = `/api/v1/accounts/%25${'A'.repeat(15 * 1024)}%`;
      for (let i = 0; i < REQUESTS; i++) {
        const response = await fetch(`${h.exporter.url}${path}`);
        expect(response.status).toBe(400);
        await response.arrayBuffer();
      }
      expect(await h.sample('zexa_exporter_http_client_errors_total{code="400"}')).toBe(REQUESTS);
      const records = h.logs.records();
      expect(records.filter((r) => (r.level as number) >= 50).map((r) => r.msg)).toEqual([]);
      const logged = records.filter((r) => r.msg === 'client error');
      expect(logged).toHaveLength(1);
      expect((logged[0]?.error as string).length).toBeLessThanOrEqual(200);
      expect(Math.max(...h.logs.lines.map((line) => line.length))).toBeLessThan(2048);
    } finally {
      await h.close();
    }
  });
});
