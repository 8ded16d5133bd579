/**
 * The waiting room in front of bcrypt for basic auth. bcrypt is slow on purpose (about 70 ms at
 * cost 10 here, and bcryptjs runs on the main thread), so checks run one at a time; this queue
 * bounds what may wait for a turn. Unbounded, 200 wrong-password requests made a valid login wait
 * 14.9 s, past Prometheus' default 10 s scrape timeout.
 *
 * - At most `maxQueued` checks wait, and at most `maxQueuedPerClient` of them from one client
 *   address; beyond that a check is refused at once with AuthBusyError (the caller answers 503).
 * - No check waits longer than `maxWaitMs`: it is refused then, never started late.
 * - Clients take turns (round robin by address), so one address flooding the queue delays another
 *   client's check by at most one check per waiting address, not by the whole flood.
 * - A check whose client has gone (its signal aborted) leaves the queue and costs nothing.
 *
 * Credentials already verified never come here: auth.ts answers them from its cache.
 */
import { systemClock, type Clock } from '../../lib/clock.js';

/** Thrown when a check cannot get a turn: the queue is full, or the wait ran out. */
export class AuthBusyError extends Error {
  /** Seconds a client should wait before trying again (the `Retry-After` value). */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = 'AuthBusyError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface AuthQueueLimits {
  /** Checks waiting for a turn, all clients together. */
  maxQueued: number;
  /** Checks waiting for a turn from one client address. */
  maxQueuedPerClient: number;
  /** Longest wait for a turn, in milliseconds. */
  maxWaitMs: number;
}

/**
 * 32 checks of cost 10 take about 2.3 s on one core: a full queue drains within the wait bound;
 * 8 per address leave room for four addresses at once. 2 s of waiting plus one check stays well
 * inside Prometheus' default 10 s scrape timeout.
 */
const DEFAULT_AUTH_QUEUE_LIMITS: AuthQueueLimits = { maxQueued: 32, maxQueuedPerClient: 8, maxWaitMs: 2000 };

interface Waiting {
  client: string;
  start: () => void;
  /** Cancels the wait timer and the abort listener. */
  cancel: AbortController;
}

export class AuthQueue {
  private readonly limits: AuthQueueLimits;
  private readonly clock: Clock;
  /** Waiting checks by client, clients in turn order (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Waiting[]>();
  private count = 0;
  private running = false;

  constructor(limits: Partial<AuthQueueLimits> = {}, clock: Clock = systemClock) {
    this.limits = { ...DEFAULT_AUTH_QUEUE_LIMITS, ...limits };
    this.clock = clock;
  }

  /** Checks waiting for a turn now (the one running not included). */
  get queued(): number {
    return this.count;
  }

  /**
   * Runs `task` when its turn comes, alone. Rejects with AuthBusyError when it cannot get a turn
   * within the limits, and with the signal's reason when `signal` aborts while it waits.
   */
  run<T>(client: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.running) return this.start(task);
    const mine = this.waiting.get(client);
    if (this.count >= this.limits.maxQueued) {
      return Promise.reject(
        new AuthBusyError(`${this.count} password checks are waiting already`, this.retryAfterSeconds()),
      );
    }
    if ((mine?.length ?? 0) >= this.limits.maxQueuedPerClient) {
      return Promise.reject(
        new AuthBusyError(
          `${mine?.length ?? 0} password checks from this address are waiting already`,
          this.retryAfterSeconds(),
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const cancel = new AbortController();
      const entry: Waiting = {
        client,
        start: () => {
          this.start(task).then(resolve, reject);
        },
        cancel,
      };
      if (mine === undefined) this.waiting.set(client, [entry]);
      else mine.push(entry);
      this.count++;
      this.clock.sleep(this.limits.maxWaitMs, cancel.signal).then(
        () => {
          if (this.remove(entry))
            reject(new AuthBusyError(`no turn within ${this.limits.maxWaitMs} ms`, this.retryAfterSeconds()));
        },
        () => undefined, // cancelled: the check started or its client left
      );
      signal?.addEventListener(
        'abort',
        () => {
          if (this.remove(entry)) reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true, signal: cancel.signal },
      );
    });
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.limits.maxWaitMs / 1000));
  }

  private start<T>(task: () => Promise<T>): Promise<T> {
    this.running = true;
    let result: Promise<T>;
    try {
      result = task();
    } catch (error) {
      result = Promise.reject(error instanceof Error ? error : new Error('task failed'));
    }
    return result.finally(() => {
      this.running = false;
      this.next();
    });
  }

  /** Starts the first waiting check of the client whose turn it is; that client goes to the back. */
  private next(): void {
    for (const [client, entries] of this.waiting) {
      const entry = entries.shift();
      this.waiting.delete(client);
      if (entries.length > 0) this.waiting.set(client, entries);
      if (entry === undefined) continue;
      this.count--;
      entry.cancel.abort();
      entry.start();
      return;
    }
  }

  /** Takes `entry` out of the queue; false when it had left already (started or refused). */
  private remove(entry: Waiting): boolean {
    const entries = this.waiting.get(entry.client);
    const index = entries?.indexOf(entry) ?? -1;
    if (entries === undefined || index === -1) return false;
    entries.splice(index, 1);
    if (entries.length === 0) this.waiting.delete(entry.client);
    this.count--;
    entry.cancel.abort();
    return true;
  }
}
