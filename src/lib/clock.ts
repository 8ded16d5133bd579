/**
 * Time as the exporter sees it. Everything that waits or reads the time takes a Clock, so tests
 * drive schedules and back-off with a fake one instead of patching globals.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (for timestamps shown to people and Prometheus). */
  now(): number;
  /** Monotonic milliseconds, for measuring durations and scheduling. */
  monotonic(): number;
  /**
   * Resolves after `ms` milliseconds. Rejects with the signal's reason as soon as `signal` aborts,
   * so shutdown never waits for a back-off or a schedule to run out.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Rejects the way `sleep` does when a signal is already aborted or aborts later. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};
