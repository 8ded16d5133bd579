/**
 * Schedules the polls. Each account runs its own loop: poll, then wait for its next slot. The
 * next poll is scheduled only when the previous one has ended, so polls of one account never
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
import { abortReason, type Clock } from './clock.js';
import { RatePacer, Semaphore } from './concurrency.js';
import { KeyUnavailableError, ZexaApiError, type FailureReason } from './errors.js';
import type { RetryPolicy } from './retry.js';
import { withRetries } from './retry.js';
import type { Credits, ZexaClient } from './zexa-client.js';

/** The longest the first round's start times are spread over; the limits may stretch it further. */
export const FIRST_ROUND_MS = 1_000;

export interface PolledAccount {
  name: string;
}

export type PollResult =
  | { account: string; ok: true; credits: Credits; attempts: number; atMs: number }
  | {
      account: string;
      ok: false;
      reason: FailureReason;
      error: Error;
      attempts: number;
      atMs: number;
    };

export interface PollerOptions<A extends PolledAccount> {
  clock: Clock;
  client: ZexaClient;
  /** Reads the account's key now (files are re-read every poll); throws KeyUnavailableError. */
  readKey: (account: A) => string;
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
  controller: AbortController;
  done: Promise<void>;
  lastKey: string | undefined;
}

export class Poller<A extends PolledAccount> {
  private readonly schedules = new Map<string, Schedule<A>>();
  private readonly semaphore: Semaphore;
  private readonly pacer: RatePacer | undefined;
  private readonly stopController = new AbortController();
  private stopped = false;

  constructor(private readonly options: PollerOptions<A>) {
    this.semaphore = new Semaphore(options.maxConcurrency);
    this.pacer =
      options.maxRequestsPerSecond === undefined ? undefined : new RatePacer(options.clock, options.maxRequestsPerSecond);
  }

  /** Requests in flight right now, across accounts. */
  get inFlight(): number {
    return this.semaphore.inFlight;
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
        schedule.controller.abort(new Error(`account ${name} removed`));
        this.schedules.delete(name);
      }
    }
    const added = accounts.filter((a) => !this.schedules.has(a.name));
    for (const account of accounts) {
      const existing = this.schedules.get(account.name);
      if (existing !== undefined) existing.account = account;
    }
    const start = this.options.clock.monotonic();
    added.forEach((account, i) => this.startLoop(account, i, added.length, start));
  }

  /** Stops every loop, aborting waits and in-flight requests, and resolves when all have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort(new Error('exporter stopping'));
    const loops = [...this.schedules.values()].map((s) => s.done);
    this.schedules.clear();
    await Promise.allSettled(loops);
  }

  private startLoop(account: A, index: number, count: number, start: number): void {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.stopController.signal]);
    const schedule: Schedule<A> = { account, controller, done: Promise.resolve(), lastKey: undefined };
    const { intervalMs } = this.options;
    const spacing = Math.min(this.options.startupSpacingMs ?? 100, FIRST_ROUND_MS / count);
    const phase = (intervalMs * index) / count;
    const anchor = start + phase;
    const firstDue = start + Math.min(phase, index * spacing);
    schedule.done = this.loop(schedule, anchor, firstDue, signal).catch(() => {
      // Only an abort ends a loop: the account was removed or the exporter is stopping.
    });
    this.schedules.set(account.name, schedule);
  }

  private async loop(schedule: Schedule<A>, anchor: number, firstDue: number, signal: AbortSignal): Promise<void> {
    const { clock, intervalMs } = this.options;
    /** The first slot of this account's grid strictly after `t`. */
    const slotAfter = (t: number): number => anchor + (Math.floor((t - anchor) / intervalMs) + 1) * intervalMs;
    let due = firstDue;
    for (;;) {
      const wait = due - clock.monotonic();
      if (wait > 0) await clock.sleep(wait, signal);
      if (signal.aborted) throw abortReason(signal);
      // The next slot is the first of the grid at least half an interval away: on the grid that
      // is one interval on; after the compressed first round or a late poll it lets the account
      // rejoin its phase without an extra request in between.
      const nextSlot = slotAfter(due + intervalMs / 2);
      await this.pollOnce(schedule, nextSlot, signal);
      // A poll that overran its slot (an API slower than the interval) is followed at once by
      // the next: late, but never overlapping.
      due = Math.max(nextSlot, clock.monotonic());
    }
  }

  private async pollOnce(schedule: Schedule<A>, deadline: number, signal: AbortSignal): Promise<void> {
    const { clock, client, policy } = this.options;
    const account = schedule.account;
    let key: string;
    try {
      key = this.options.readKey(account);
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      const failure = error instanceof KeyUnavailableError ? error : new KeyUnavailableError('the key could not be read', { cause: error });
      this.options.onResult({ account: account.name, ok: false, reason: 'key_unavailable', error: failure, attempts: 0, atMs: clock.now() });
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
      this.options.onResult({ account: account.name, ok: true, credits: outcome.value, attempts: outcome.attempts, atMs });
      return;
    }
    const error = outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
    const reason: FailureReason =
      error instanceof ZexaApiError ? error.reason : error instanceof KeyUnavailableError ? 'key_unavailable' : 'network';
    this.options.onResult({ account: account.name, ok: false, reason, error, attempts: outcome.attempts, atMs });
  }
}
