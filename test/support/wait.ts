/**
 * The one way tests wait for a condition: vi.waitFor, re-checking until `check` holds, with a
 * message naming what was awaited when it never does. No test sleeps for a fixed time instead.
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
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
