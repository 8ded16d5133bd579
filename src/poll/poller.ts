/**
 * Schedules the polls. Every account waits in one due-time queue served by a single timer; when
 * its time comes it is polled, and only when that poll has ended is it queued again for its next
 * slot, so polls of one account never
 * overlap, however slow the API. Start times are spread over the interval (account i of n is
 * phased i/n of an interval after the first), so the API sees an even request rate rather than a
 * burst every interval. The very first round is compressed, at most `startupSpacingMs` apart and
 * over at most {@link FIRST_ROUND_MS} whatever the number of accounts, so a small setup reports
 * within seconds of start and a large one is ready as soon as the concurrency and rate limits
 * allow (not after a whole interval); each account then settles on its phase.
 *
 * Across accounts, at most `maxConcurrency` requests are in flight and, when set, at most
 * `maxRequestsPerSecond` start per second. Retries of one poll stop before the account's next
 * scheduled poll. Time comes from the injected clock.
 */
import { abortReason, type Clock } from '../lib/clock.js';
import { RatePacer, Semaphore } from './concurrency.js';
import { KeyUnavailableError, NetworkError, PollError, type PollErrorReason } from '../zexa/errors.js';
import type { RetryPolicy } from './retry.js';
import { withRetries } from './retry.js';
import type { ZexaClient } from '../zexa/client.js';
import type { Credits } from '../zexa/parse.js';

/** The longest the first round's start times are spread over; the limits may stretch it further. */
const FIRST_ROUND_MS = 1_000;

/** Fewest polls allowed to wait for a request slot at once, however low the request concurrency. */
export const MIN_POLLS_WAITING = 16;

export interface PolledAccount {
  name: string;
}

export type PollResult =
  | { account: string; ok: true; credits: Credits; attempts: number; atMs: number }
  | {
      account: string;
      ok: false;
      reason: PollErrorReason;
      /** What failed: the API's answer (with its status and request id) or the key. */
      error: PollError;
      attempts: number;
      atMs: number;
    };

export interface PollerOptions<A extends PolledAccount> {
  clock: Clock;
  client: ZexaClient;
  /** Reads the account's key now (files are re-read every poll); throws KeyUnavailableError. */
  readKey: (account: A) => string | Promise<string>;
  policy: RetryPolicy;
  intervalMs: number;
  maxConcurrency: number;
  maxRequestsPerSecond?: number | undefined;
  /** Largest gap between first polls at start-up (default 100 ms). */
  startupSpacingMs?: number;
  random?: () => number;
  onResult: (result: PollResult) => void;
  /** Called before a poll whose key differs from the previous poll's key. */
  onKeyChange?: (account: A, previousKey: string, currentKey: string) => void;
  onRetry?: (account: A, info: { attemptNumber: number; error: unknown; delayMs: number }) => void;
}

interface Schedule<A> {
  account: A;
  /** Start of this account's grid: its phase within the interval. */
  anchor: number;
  /** Monotonic time of the next poll, while waiting in the queue. */
  due: number;
  /** Set while a poll runs; aborted on removal or stop. */
  controller: AbortController | undefined;
  removed: boolean;
  lastKey: string | undefined;
}

/**
 * A binary min-heap of schedules by due time. One timer serves them all: at 10,000 accounts,
 * an async loop with its own timer, promise and abort listener per account cost ~3.5 KB each.
 */
class DueQueue<A> {
  private readonly items: Schedule<A>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Schedule<A> | undefined {
    return this.items[0];
  }

  push(item: Schedule<A>): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as Schedule<A>).due <= item.due) break;
      items[i] = items[parent] as Schedule<A>;
      i = parent;
    }
    items[i] = item;
  }

  pop(): Schedule<A> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && (items[right] as Schedule<A>).due < (items[left] as Schedule<A>).due ? right : left;
      if ((items[child] as Schedule<A>).due >= last.due) break;
      items[i] = items[child] as Schedule<A>;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** The client throws only these; anything else is a transport failure nobody classified. */
function asPollError(error: unknown): PollError {
  if (error instanceof PollError) return error;
  return new NetworkError('the request failed', { cause: error });
}

export class Poller<A extends PolledAccount> {
  private readonly schedules = new Map<string, Schedule<A>>();
  private readonly queue = new DueQueue<A>();
  private readonly semaphore: Semaphore;
  /**
   * Polls started but still waiting for their first request slot. With thousands of accounts due
   * together (the first round), every started poll would hold its retry machinery, timers and
   * controller while it queues for one of `maxConcurrency` slots: hundreds of them living long
   * enough to be promoted to V8's old space, which then grows by megabytes a second. Beyond this
   * many, due accounts stay in the queue as entries of the heap. A poll leaves the count when its
   * first request starts, so polls in flight or waiting out a back-off never block due ones.
   */
  private readonly admission: Semaphore;
  private readonly pacer: RatePacer | undefined;
  private readonly running = new Set<Promise<void>>();
  private readonly stopController = new AbortController();
  /** Aborted to wake the dispatcher early: a poll finished, or accounts were added. */
  private wake: AbortController = new AbortController();
  private dispatcher: Promise<void> | undefined;
  /** When the dispatcher's current sleep ends; -Infinity while it is awake (nothing to wake). */
  private sleepingUntil = -Infinity;
  private stopped = false;

  constructor(private readonly options: PollerOptions<A>) {
    this.semaphore = new Semaphore(options.maxConcurrency);
    this.admission = new Semaphore(Math.max(MIN_POLLS_WAITING, options.maxConcurrency));
    this.pacer =
      options.maxRequestsPerSecond === undefined
        ? undefined
        : new RatePacer(options.clock, options.maxRequestsPerSecond);
  }

  get accountNames(): string[] {
    return [...this.schedules.keys()];
  }

  /**
   * Starts polling `accounts`, or makes the running set match them (on reload): new accounts are
   * phased in over the interval, removed ones are stopped (their in-flight request is aborted),
   * and accounts that stay keep their schedule but use their new settings.
   */
  update(accounts: readonly A[]): void {
    if (this.stopped) return;
    const wanted = new Map(accounts.map((a) => [a.name, a]));
    for (const [name, schedule] of this.schedules) {
      if (!wanted.has(name)) {
        schedule.removed = true;
        schedule.controller?.abort(new Error(`account ${name} removed`));
        this.schedules.delete(name);
      }
    }
    // Phases follow name order: /metrics caches its lines in blocks of accounts by name, so
    // accounts polled one after another change one block instead of touching many.
    const added = accounts
      .filter((a) => !this.schedules.has(a.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const account of accounts) {
      const existing = this.schedules.get(account.name);
      if (existing !== undefined) existing.account = account;
    }
    const { clock, intervalMs } = this.options;
    const start = clock.monotonic();
    const count = added.length;
    const spacing = Math.min(this.options.startupSpacingMs ?? 100, FIRST_ROUND_MS / count);
    added.forEach((account, index) => {
      const phase = (intervalMs * index) / count;
      const schedule: Schedule<A> = {
        account,
        anchor: start + phase,
        due: start + Math.min(phase, index * spacing),
        controller: undefined,
        removed: false,
        lastKey: undefined,
      };
      this.schedules.set(account.name, schedule);
      this.queue.push(schedule);
    });
    if (this.dispatcher === undefined) {
      this.dispatcher = this.dispatch().catch(() => {
        // Only stop() ends the dispatcher.
      });
    } else {
      this.wakeUp();
    }
  }

  /** Stops polling, aborting waits and in-flight requests, and resolves when all have ended. */
  async stop(): Promise<void> {
    if (this.stopped) {
      await this.dispatcher;
      return;
    }
    this.stopped = true;
    const stopping = new Error('exporter stopping');
    this.stopController.abort(stopping);
    for (const schedule of this.schedules.values()) schedule.controller?.abort(stopping);
    this.schedules.clear();
    this.wakeUp();
    await this.dispatcher;
    await Promise.allSettled([...this.running]);
  }

  /** Wakes the dispatcher if it sleeps past `due` (or at all, when `due` is not given). */
  private wakeUp(due?: number): void {
    if (due === undefined || due < this.sleepingUntil) this.wake.abort();
  }

  /** Starts every due poll (as admission allows), then sleeps until the next one is due. */
  private async dispatch(): Promise<void> {
    const { clock } = this.options;
    const stop = this.stopController.signal;
    while (!this.stopped) {
      const next = this.queue.peek();
      if (next !== undefined && next.removed) {
        this.queue.pop();
        continue;
      }
      const now = clock.monotonic();
      if (next !== undefined && next.due <= now) {
        // Due accounts wait here, as a queue entry, until a poll may start.
        const admitted = await this.admission.acquire(stop);
        this.queue.pop();
        if (next.removed) {
          admitted();
          continue;
        }
        this.start(next, admitted);
        continue;
      }
      if (this.wake.signal.aborted) this.wake = new AbortController();
      // With nothing queued, sleep until woken (a day stands for "until further notice").
      const wait = next === undefined ? 86_400_000 : next.due - now;
      this.sleepingUntil = now + wait;
      try {
        await clock.sleep(wait, this.wake.signal);
      } catch {
        // Woken early (stop() wakes it too): look at the queue again.
      }
      this.sleepingUntil = -Infinity;
    }
  }

  private start(schedule: Schedule<A>, admitted: () => void): void {
    const { clock, intervalMs } = this.options;
    const controller = new AbortController();
    schedule.controller = controller;
    /** The first slot of this account's grid strictly after `t`. */
    const slotAfter = (t: number): number =>
      schedule.anchor + (Math.floor((t - schedule.anchor) / intervalMs) + 1) * intervalMs;
    // The next slot is the first of the grid at least half an interval away: on the grid that is
    // one interval on; after the compressed first round or a late poll it lets the account rejoin
    // its phase without an extra request in between.
    const nextSlot = slotAfter(schedule.due + intervalMs / 2);
    const run = this.pollAdmitted(schedule, nextSlot, controller.signal, admitted)
      .catch(() => {
        // Aborted: the account was removed or the poller is stopping.
      })
      .finally(() => {
        admitted(); // idempotent: usually released when the first request slot was taken
        schedule.controller = undefined;
        this.running.delete(run);
        if (schedule.removed || this.stopped) return;
        // A poll that overran its slot (an API slower than the interval) is followed at once by
        // the next: late, but never overlapping, since the next is queued only now.
        schedule.due = Math.max(nextSlot, clock.monotonic());
        this.queue.push(schedule);
        this.wakeUp(schedule.due);
      });
    this.running.add(run);
  }

  private async pollAdmitted(
    schedule: Schedule<A>,
    deadline: number,
    signal: AbortSignal,
    admitted: () => void,
  ): Promise<void> {
    const { clock, client, policy } = this.options;
    const account = schedule.account;
    let key: string;
    try {
      key = await this.options.readKey(account);
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      const failure =
        error instanceof PollError ? error : new KeyUnavailableError('the key could not be read', { cause: error });
      this.options.onResult({
        account: account.name,
        ok: false,
        reason: failure.reason,
        error: failure,
        attempts: 0,
        atMs: clock.now(),
      });
      return;
    }
    if (schedule.lastKey !== undefined && schedule.lastKey !== key) {
      this.options.onKeyChange?.(account, schedule.lastKey, key);
    }
    schedule.lastKey = key;

    const outcome = await withRetries(
      async (_attemptNumber, attemptSignal) => {
        const s = attemptSignal ?? signal;
        const release = await this.semaphore.acquire(s);
        admitted();
        try {
          if (this.pacer !== undefined) await this.pacer.wait(s);
          return await client.fetchCredits(key, s);
        } finally {
          release();
        }
      },
      {
        policy,
        clock,
        signal,
        deadline,
        ...(this.options.random === undefined ? {} : { random: this.options.random }),
        onRetry: (info) => this.options.onRetry?.(account, info),
      },
    );
    if (signal.aborted) throw abortReason(signal);
    const atMs = clock.now();
    if (outcome.ok) {
      this.options.onResult({
        account: account.name,
        ok: true,
        credits: outcome.value,
        attempts: outcome.attempts,
        atMs,
      });
      return;
    }
    const error = asPollError(outcome.error);
    this.options.onResult({
      account: account.name,
      ok: false,
      reason: error.reason,
      error,
      attempts: outcome.attempts,
      atMs,
    });
  }
}
