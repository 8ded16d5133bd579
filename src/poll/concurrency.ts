/**
 * The two limits on requests to the API across all accounts: how many may be in flight at once
 * (a FIFO semaphore) and how many may start per second (an even pacer). Both wait on the injected
 * clock and give up at once when the poll is aborted.
 */
import { abortReason, type Clock } from '../lib/clock.js';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class Semaphore {
  private available: number;
  private readonly queue: Waiter[] = [];

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  /** Resolves with a release function once a slot is free; the release is idempotent. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortReason(signal);
    if (this.available > 0 && this.queue.length === 0) {
      this.available--;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next === undefined) {
        this.available++;
        return;
      }
      // The slot passes straight to the next waiter.
      if (next.signal !== undefined && next.onAbort !== undefined)
        next.signal.removeEventListener('abort', next.onAbort);
      next.resolve();
    };
  }
}

/**
 * Spaces request starts at least 1/rate seconds apart. Each caller reserves the next free start
 * time, so callers are served in order and the rate holds over any window.
 */
export class RatePacer {
  private nextStart = -Infinity;
  private readonly spacingMs: number;

  constructor(
    private readonly clock: Clock,
    requestsPerSecond: number,
  ) {
    this.spacingMs = 1000 / requestsPerSecond;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    const now = this.clock.monotonic();
    const start = Math.max(now, this.nextStart);
    this.nextStart = start + this.spacingMs;
    if (start > now) await this.clock.sleep(start - now, signal);
  }
}
