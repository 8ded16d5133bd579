/**
 * The one way tests wait for a condition: vi.waitFor, re-checking until `check` holds, with a
 * message naming what was awaited when it never does. No test sleeps for a fixed time instead.
 * Benchmarks (bench/monitoring.ts) reuse the test helpers that call this outside vitest, where
 * vi.waitFor has no worker state and throws; there the same re-checking runs on plain timers.
 */
import { vi } from 'vitest';

/**
 * Resolves once `check` returns true; rejects naming `what` after `timeoutMs` (default 15 s: a
 * busy 2-core machine needs slack, and a passing test never waits that long).
 */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  what = 'condition',
  intervalMs = 50,
): Promise<void> {
  const message = `timed out after ${timeoutMs} ms waiting for ${what}`;
  if (process.env.VITEST === undefined) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(message);
      // eslint-disable-next-line no-restricted-syntax -- the re-check interval of this wait, as vi.waitFor's `interval`
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return;
  }
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(message);
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
