/**
 * Which failures of one poll are retried, and after how long. The decisions (`isRetryable`,
 * `backoffDelayMs`, `retryDelayMs`) are pure and made here only (the error classes say what
 * failed, not whether to retry it); `withRetries` runs the attempts with p-retry and waits with
 * the injected Clock, so tests drive the back-off with a fake clock.
 */
import pRetry, { AbortError } from 'p-retry';
import { abortReason, type Clock } from '../lib/clock.js';
import type { PollErrorReason } from '../zexa/errors.js';

export interface RetryPolicy {
  /** Attempts per poll, the first included. */
  maxAttempts: number;
  /** Upper bound of the first back-off; doubles with every retry. */
  baseDelayMs: number;
  /** No back-off is longer than this (a `Retry-After` may be: the API asked for it). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
});

/** The failures for which asking again may get another answer; every other one is final. */
const RETRYABLE_REASONS: ReadonlySet<PollErrorReason> = new Set<PollErrorReason>([
  'timeout',
  'network',
  'server_error',
  'rate_limited',
]);

/**
 * True for `timeout`, `network`, `server_error` and `rate_limited`: asking again may get another
 * answer. Everything else, including errors that carry no `reason`, is final.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' && RETRYABLE_REASONS.has(reason as PollErrorReason);
}

/** Throws a RangeError naming the first field that is not usable. */
function assertRetryPolicy(policy: RetryPolicy): void {
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry policy: maxAttempts must be an integer >= 1, got ${String(policy.maxAttempts)}`);
  }
  if (!Number.isFinite(policy.baseDelayMs) || policy.baseDelayMs < 0) {
    throw new RangeError(`retry policy: baseDelayMs must be a number >= 0, got ${String(policy.baseDelayMs)}`);
  }
  if (!Number.isFinite(policy.maxDelayMs) || policy.maxDelayMs < policy.baseDelayMs) {
    throw new RangeError(
      `retry policy: maxDelayMs must be a number >= baseDelayMs (${policy.baseDelayMs}), got ${String(policy.maxDelayMs)}`,
    );
  }
}

/**
 * Exponential back-off with "equal jitter": the ceiling is `baseDelayMs * 2^(retryNumber-1)`,
 * capped at `maxDelayMs`, and the delay is uniformly between half the ceiling and the ceiling.
 * Half of it is guaranteed, so a retry never hammers a struggling API right away, while the other
 * half spreads the retries of many accounts apart. Below the cap, a delay is never shorter than
 * the one before it.
 * `random` returns values in [0, 1), like Math.random.
 */
export function backoffDelayMs(retryNumber: number, policy: RetryPolicy, random: () => number): number {
  if (!Number.isSafeInteger(retryNumber) || retryNumber < 1) {
    throw new RangeError(`retryNumber must be an integer >= 1, got ${String(retryNumber)}`);
  }
  assertRetryPolicy(policy);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
  const r = random();
  const jitter = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
  return Math.round(ceiling / 2 + (jitter * ceiling) / 2);
}

/**
 * How long to wait before retry number `retryNumber` after `error`. A `Retry-After` on 429 or 503
 * wins and is honoured exactly, even past `maxDelayMs`: retrying earlier than asked only earns
 * another 429. `withRetries` gives up instead when that wait would end after its deadline.
 */
export function retryDelayMs(error: unknown, retryNumber: number, policy: RetryPolicy, random: () => number): number {
  if (typeof error === 'object' && error !== null) {
    const { status, retryAfterMs } = error as { status?: unknown; retryAfterMs?: unknown };
    if (
      (status === 429 || status === 503) &&
      typeof retryAfterMs === 'number' &&
      Number.isFinite(retryAfterMs) &&
      retryAfterMs >= 0
    ) {
      return retryAfterMs;
    }
  }
  return backoffDelayMs(retryNumber, policy, random);
}

export type RetryOutcome<T> =
  { ok: true; value: T; attempts: number } | { ok: false; error: unknown; attempts: number };

export interface WithRetriesOptions {
  policy: RetryPolicy;
  clock: Clock;
  /** Shutdown: aborts the wait between attempts at once, and is passed to every attempt. */
  signal?: AbortSignal;
  /**
   * A `clock.monotonic()` value, usually the next scheduled poll. A retry whose wait would end
   * after it is not made; the outcome is then the last error.
   */
  deadline?: number;
  random?: () => number;
  /** Called before each wait, with the attempt that failed and the wait about to start. */
  onRetry?: (info: { attemptNumber: number; error: unknown; delayMs: number }) => void;
}

/**
 * Carries whatever an attempt threw through p-retry unchanged: p-retry replaces a non-Error with a
 * TypeError of its own and never retries a TypeError that does not look like a network error,
 * both before `shouldRetry` is asked. Wrapped, the decision is `isRetryable`'s alone.
 */
class AttemptFailure extends Error {
  constructor(readonly original: unknown) {
    super('attempt failed');
    this.name = 'AttemptFailure';
  }
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not retryable, runs out of
 * attempts, or the next wait would end after `deadline`. Resolves with the outcome and the number
 * of attempts made. Rejects only with the signal's reason when `signal` aborts (or with what an
 * `onRetry` callback throws, which is a bug of the caller).
 *
 * p-retry counts the attempts and asks `shouldRetry` after each failure. It cannot do the wait
 * itself: its delay depends on the retry number only (a `Retry-After` is per answer), and it
 * waits with its own setTimeout and Math.random, where the exporter's schedule runs on the
 * injected Clock. So `shouldRetry` decides, and when the answer is yes it waits before saying so;
 * p-retry's own delay is zero.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number, signal: AbortSignal | undefined) => Promise<T>,
  options: WithRetriesOptions,
): Promise<RetryOutcome<T>> {
  const { policy, clock, signal, deadline, onRetry } = options;
  const random = options.random ?? Math.random;
  assertRetryPolicy(policy);
  if (deadline !== undefined && Number.isNaN(deadline)) throw new RangeError('deadline must be a number, got NaN');
  if (signal?.aborted) throw abortReason(signal);

  let attempts = 0;
  try {
    const value = await pRetry(
      async (attemptNumber) => {
        // A shutdown that raced the end of a wait must not start another attempt.
        if (signal?.aborted) throw new AbortError(abortReason(signal));
        attempts = attemptNumber;
        try {
          return await attempt(attemptNumber, signal);
        } catch (error) {
          // p-retry rethrows an AbortError's original error at once, without asking shouldRetry.
          if (signal?.aborted) throw new AbortError(abortReason(signal));
          throw new AttemptFailure(error);
        }
      },
      {
        retries: policy.maxAttempts - 1,
        minTimeout: 0,
        shouldRetry: async ({ error, attemptNumber }) => {
          const original = error instanceof AttemptFailure ? error.original : error;
          if (!isRetryable(original)) return false;
          const delayMs = retryDelayMs(original, attemptNumber, policy, random);
          if (deadline !== undefined && clock.monotonic() + delayMs > deadline) return false;
          onRetry?.({ attemptNumber, error: original, delayMs });
          await clock.sleep(delayMs, signal);
          return true;
        },
      },
    );
    return { ok: true, value, attempts };
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    if (error instanceof AttemptFailure) return { ok: false, error: error.original, attempts };
    throw error;
  }
}
