import type { Clock } from './clock.js';

/**
 * Counts events and reports them at most once per `intervalMs`, with how many there were since the
 * last report: for floods (refused connections, refused logins) that would otherwise write one
 * log line each.
 */
export function throttledCount(clock: Clock, intervalMs: number, report: (count: number) => void): () => void {
  let count = 0;
  let lastAt = -Infinity;
  return () => {
    count++;
    const now = clock.monotonic();
    if (now - lastAt < intervalMs) return;
    report(count);
    lastAt = now;
    count = 0;
  };
}
