/**
 * A manual Clock for tests: time stands still until the test moves it. `sleep` registers a timer
 * that fires when `advance`, `advanceTo`, `runNext` or `runUntilIdle` moves the monotonic time to
 * its due time; timers fire in due-time order, ties in the order they were created, and after
 * each one the promise callbacks it unblocked run before the next fires (so code that sleeps again
 * right away is scheduled within the same `advance`). Aborting a sleep's signal removes its timer
 * and rejects at once, like `systemClock`.
 *
 *   const clock = new FakeClock();
 *   const done = somethingThatSleeps(clock);
 *   await clock.waitForTimers(1);     // until the code under test is waiting
 *   await clock.advance(500);         // fires every timer due within 500 ms
 *   await clock.runUntilIdle();       // or: fire everything, however far away
 */
import { abortReason, type Clock } from '../../src/lib/clock.js';

export interface FakeClockOptions {
  /** Initial wall-clock time, ms since the epoch. Default 2025-01-01T00:00:00Z. */
  now?: number;
  /** Initial monotonic time. Default 0. */
  monotonic?: number;
  /**
   * Event-loop turns given to the code under test after each timer fires (and by `flush`). One
   * turn runs every pending promise callback; more lets code that also uses setImmediate or
   * process.nextTick settle. Default 3.
   */
  flushTurns?: number;
}

export interface SleepRecord {
  /** The `ms` requested. */
  ms: number;
  /** `monotonic()` when the sleep started. */
  at: number;
}

interface Timer {
  dueAt: number;
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class FakeClock implements Clock {
  #wall: number;
  #monotonic: number;
  /** Sorted by due time, ties in creation order. */
  #timers: Timer[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  readonly #flushTurns: number;
  /** Every sleep ever requested, in order, including aborted ones. */
  readonly sleeps: SleepRecord[] = [];

  constructor(options: FakeClockOptions = {}) {
    this.#wall = options.now ?? Date.UTC(2025, 0, 1);
    this.#monotonic = options.monotonic ?? 0;
    this.#flushTurns = options.flushTurns ?? 3;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#monotonic;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (typeof ms !== 'number' || Number.isNaN(ms)) {
      return Promise.reject(new RangeError(`FakeClock.sleep: ms must be a number, got ${String(ms)}`));
    }
    this.sleeps.push({ ms, at: this.#monotonic });
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = {
        dueAt: this.#monotonic + Math.max(0, ms),
        resolve,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        timer.onAbort = () => {
          this.#remove(timer);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', timer.onAbort, { once: true });
      }
      this.#insert(timer);
      this.#notifyWaiters();
    });
  }

  /** Timers registered and neither fired nor aborted. */
  pendingTimers(): number {
    return this.#timers.length;
  }

  /** Milliseconds until the next timer is due (0 if overdue), or undefined when none is pending. */
  nextTimerIn(): number | undefined {
    const next = this.#timers[0];
    return next === undefined ? undefined : Math.max(0, next.dueAt - this.#monotonic);
  }

  /** Moves both clocks forward by `ms`, firing every timer due up to then, in order. Returns how many fired. */
  async advance(ms: number): Promise<number> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    return this.advanceTo(this.#monotonic + ms);
  }

  /** Moves the monotonic time to `target` (and the wall clock by as much), firing due timers. */
  async advanceTo(target: number): Promise<number> {
    if (!Number.isFinite(target) || target < this.#monotonic) {
      throw new RangeError(`FakeClock.advanceTo: target must be >= monotonic() (${this.#monotonic}), got ${target}`);
    }
    let fired = 0;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.dueAt > target) break;
      await this.#fire(next);
      fired++;
    }
    this.#moveTo(target);
    await this.flush();
    return fired;
  }

  /** Jumps to the next finite timer and fires it (with any others due at the same time). False when none. */
  async runNext(): Promise<boolean> {
    const next = this.#timers[0];
    if (next === undefined || !Number.isFinite(next.dueAt)) return false;
    await this.advanceTo(Math.max(this.#monotonic, next.dueAt));
    return true;
  }

  /**
   * Fires timers, jumping from one due time to the next, until none with a finite due time is
   * left. Throws after `maxTimers` firings: the code under test probably loops forever.
   */
  async runUntilIdle(maxTimers = 10_000): Promise<number> {
    await this.flush();
    let fired = 0;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || !Number.isFinite(next.dueAt)) return fired;
      if (fired >= maxTimers) {
        throw new Error(`FakeClock.runUntilIdle: still busy after ${maxTimers} timers; an endless schedule?`);
      }
      await this.#fire(next);
      fired++;
    }
  }

  /** Resolves once at least `count` timers are pending (at once if they already are). */
  waitForTimers(count = 1): Promise<void> {
    if (this.#timers.length >= count) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Moves the wall clock only (an NTP step or a manual change); monotonic time and timers are unaffected. */
  setWallTime(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`FakeClock.setWallTime: ms must be finite, got ${ms}`);
    this.#wall = ms;
  }

  /** Lets the code under test run its pending promise callbacks without moving time. */
  async flush(): Promise<void> {
    for (let i = 0; i < this.#flushTurns; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async #fire(timer: Timer): Promise<void> {
    this.#remove(timer);
    if (timer.dueAt > this.#monotonic) this.#moveTo(timer.dueAt);
    if (timer.signal !== undefined && timer.onAbort !== undefined) {
      timer.signal.removeEventListener('abort', timer.onAbort);
    }
    timer.resolve();
    await this.flush();
  }

  #moveTo(target: number): void {
    this.#wall += target - this.#monotonic;
    this.#monotonic = target;
  }

  #insert(timer: Timer): void {
    // Before the first strictly later timer, so equal due times keep their creation order.
    let index = this.#timers.findIndex((t) => t.dueAt > timer.dueAt);
    if (index < 0) index = this.#timers.length;
    this.#timers.splice(index, 0, timer);
  }

  #remove(timer: Timer): void {
    const index = this.#timers.indexOf(timer);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  #notifyWaiters(): void {
    const ready = this.#waiters.filter((w) => this.#timers.length >= w.count);
    this.#waiters = this.#waiters.filter((w) => this.#timers.length < w.count);
    for (const waiter of ready) waiter.resolve();
  }
}
