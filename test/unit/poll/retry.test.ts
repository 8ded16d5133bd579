import { describe, expect, it } from 'vitest';
import {
  ClientError,
  ForbiddenError,
  InvalidResponseError,
  KeyUnavailableError,
  NetworkError,
  RateLimitedError,
  ServerError,
  TimeoutError,
  UnauthorizedError,
} from '../../../src/zexa/errors.js';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  isRetryable,
  retryDelayMs,
  withRetries,
  type RetryOutcome,
  type RetryPolicy,
} from '../../../src/poll/retry.js';
import { FakeClock } from '../../support/fake-clock.js';

const POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 };
const half = (): number => 0.5;

/** Deterministic PRNG (mulberry32) so the jitter bounds are checked over many values. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fires the fake clock's timers until `promise` settles; bounded so a bug cannot hang the test. */
async function drive<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  for (let i = 0; i < 100 && !settled; i++) {
    await clock.runUntilIdle();
  }
  expect(settled).toBe(true);
  return tracked;
}

/** An attempt function that fails with the given errors in turn, then succeeds with `value`. */
function scripted<T>(clock: FakeClock, failures: unknown[], value: T) {
  const calls: Array<{ attemptNumber: number; at: number; signal: AbortSignal | undefined }> = [];
  const attempt = async (attemptNumber: number, signal: AbortSignal | undefined): Promise<T> => {
    calls.push({ attemptNumber, at: clock.monotonic(), signal });
    const index = calls.length - 1;
    if (index < failures.length) throw failures[index];
    return value;
  };
  return { attempt, calls };
}

const server = (): ServerError => new ServerError('server error', { status: 500 });

describe('isRetryable', () => {
  it.each([
    ['timeout', new TimeoutError('t'), true],
    ['network', new NetworkError('n'), true],
    ['server_error', new ServerError('s', { status: 502 }), true],
    ['rate_limited', new RateLimitedError('r', { status: 429 }), true],
    ['unauthorized', new UnauthorizedError('u', { status: 401 }), false],
    ['forbidden', new ForbiddenError('f', { status: 403 }), false],
    ['client_error', new ClientError('c', { status: 404 }), false],
    ['invalid_response', new InvalidResponseError('i', { status: 200 }), false],
    ['key_unavailable', new KeyUnavailableError('k'), false],
    ['plain Error', new Error('x'), false],
    ['TypeError', new TypeError('fetch failed'), false],
    ['string', 'boom', false],
    ['null', null, false],
    ['undefined', undefined, false],
    ['object with an unknown reason', { reason: 'nope' }, false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });
});

describe('backoffDelayMs (equal jitter)', () => {
  it('is half the ceiling with random 0 and the ceiling with random → 1, ceiling doubling up to maxDelayMs', () => {
    const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
    ceilings.forEach((ceiling, i) => {
      expect(backoffDelayMs(i + 1, POLICY, () => 0)).toBe(ceiling / 2);
      expect(backoffDelayMs(i + 1, POLICY, () => 0.999_999_999)).toBe(ceiling);
      expect(backoffDelayMs(i + 1, POLICY, half)).toBe((ceiling * 3) / 4);
    });
  });

  it('stays within [ceiling/2, ceiling] and never shrinks from one retry to the next below the cap', () => {
    const random = seeded(42);
    for (let run = 0; run < 500; run++) {
      let previous = 0;
      for (let retry = 1; retry <= 10; retry++) {
        const ceiling = Math.min(POLICY.maxDelayMs, POLICY.baseDelayMs * 2 ** (retry - 1));
        const delay = backoffDelayMs(retry, POLICY, random);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
        // Once capped, the ceiling stops doubling, so only the bounds above still hold.
        if (ceiling < POLICY.maxDelayMs) expect(delay).toBeGreaterThanOrEqual(previous);
        previous = delay;
      }
    }
  });

  it('does not overflow for huge retry numbers and clamps a misbehaving random', () => {
    expect(backoffDelayMs(5000, POLICY, () => 0)).toBe(15_000);
    expect(backoffDelayMs(1, POLICY, () => 7)).toBe(500);
    expect(backoffDelayMs(1, POLICY, () => -3)).toBe(250);
    expect(backoffDelayMs(1, POLICY, () => Number.NaN)).toBe(250);
  });

  it('rejects bad input with a message naming it', () => {
    expect(() => backoffDelayMs(0, POLICY, half)).toThrow(/retryNumber must be an integer >= 1, got 0/);
    expect(() => backoffDelayMs(1.5, POLICY, half)).toThrow(/retryNumber/);
    expect(() => backoffDelayMs(1, { ...POLICY, baseDelayMs: -1 }, half)).toThrow(/baseDelayMs/);
    expect(() => backoffDelayMs(1, { ...POLICY, maxDelayMs: 100 }, half)).toThrow(
      /maxDelayMs must be a number >= baseDelayMs/,
    );
    expect(() => backoffDelayMs(1, { ...POLICY, maxAttempts: 0 }, half)).toThrow(/maxAttempts/);
  });
});

describe('retryDelayMs', () => {
  it.each([
    ['429 with Retry-After', new RateLimitedError('r', { status: 429, retryAfterMs: 7000 }), 7000],
    ['429 with Retry-After past maxDelayMs', new RateLimitedError('r', { status: 429, retryAfterMs: 45_000 }), 45_000],
    ['429 with Retry-After 0', new RateLimitedError('r', { status: 429, retryAfterMs: 0 }), 0],
    ['503 with Retry-After', new ServerError('s', { status: 503, retryAfterMs: 3000 }), 3000],
    // Back-off of retry 2 with random 0: half of 1000.
    ['502 with Retry-After (not honoured)', new ServerError('s', { status: 502, retryAfterMs: 3000 }), 500],
    ['429 without Retry-After', new RateLimitedError('r', { status: 429 }), 500],
    ['timeout', new TimeoutError('t'), 500],
  ])('%s → %s ms', (_name, error, expected) => {
    expect(retryDelayMs(error, 2, POLICY, () => 0)).toBe(expected);
  });
});

describe('withRetries', () => {
  it('returns the value of a first successful attempt without waiting', async () => {
    const clock = new FakeClock();
    const { attempt, calls } = scripted(clock, [], 'ok');
    const outcome = await drive(clock, withRetries(attempt, { policy: POLICY, clock }));
    expect(outcome).toEqual({ ok: true, value: 'ok', attempts: 1 });
    expect(calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it.each([1, 2, 3, 5])('makes exactly maxAttempts=%d attempts when every one fails retryably', async (maxAttempts) => {
    const clock = new FakeClock();
    const errors = Array.from({ length: 10 }, server);
    const { attempt, calls } = scripted(clock, errors, 'never');
    const outcome = await drive(
      clock,
      withRetries(attempt, { policy: { ...POLICY, maxAttempts }, clock, random: half }),
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.attempts).toBe(maxAttempts);
    expect(calls.map((c) => c.attemptNumber)).toEqual(Array.from({ length: maxAttempts }, (_, i) => i + 1));
    // The last error is the outcome, and there is no wait after it.
    expect((outcome as { error: unknown }).error).toBe(errors[maxAttempts - 1]);
    expect(clock.sleeps).toHaveLength(maxAttempts - 1);
  });

  it('uses DEFAULT_RETRY_POLICY: 3 attempts, 500 ms base, 30 s cap', async () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 });
    const clock = new FakeClock();
    const { attempt, calls } = scripted(clock, [server(), server(), server(), server()], 'never');
    const outcome = await drive(clock, withRetries(attempt, { policy: DEFAULT_RETRY_POLICY, clock, random: () => 0 }));
    expect(outcome.attempts).toBe(3);
    expect(calls.map((c) => c.at)).toEqual([0, 250, 750]);
  });

  class TypeErrorWithReason extends TypeError {
    readonly reason = 'network';
  }

  it.each([
    ['401', new UnauthorizedError('u', { status: 401 })],
    ['403', new ForbiddenError('f', { status: 403 })],
    ['404', new ClientError('c', { status: 404 })],
    ['invalid_response', new InvalidResponseError('i', { status: 200 })],
    ['key_unavailable', new KeyUnavailableError('k')],
    ['a plain Error', new Error('bug')],
    ['a TypeError', new TypeError('x is not a function')],
    ['a network-looking TypeError', new TypeError('fetch failed')],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['an object', { code: 42 }],
  ])('makes exactly one attempt for %s and returns that very value as the error', async (_name, error) => {
    const clock = new FakeClock();
    const { attempt, calls } = scripted(clock, [error, error], 'never');
    let retried = 0;
    const outcome = await drive(clock, withRetries(attempt, { policy: POLICY, clock, onRetry: () => retried++ }));
    expect(outcome).toEqual({ ok: false, error, attempts: 1 });
    expect((outcome as { error: unknown }).error).toBe(error);
    expect(calls).toHaveLength(1);
    expect(retried).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  it("retries a retryable error even when it is a TypeError (p-retry's TypeError rule does not apply)", async () => {
    const clock = new FakeClock();
    const { attempt, calls } = scripted(clock, [new TypeErrorWithReason('socket hang up')], 'second time');
    const outcome = await drive(clock, withRetries(attempt, { policy: POLICY, clock, random: half }));
    expect(outcome).toEqual({ ok: true, value: 'second time', attempts: 2 });
    expect(calls).toHaveLength(2);
  });

  it('waits with growing, jittered back-off between attempts and reports each retry', async () => {
    const clock = new FakeClock();
    const first = new TimeoutError('t1');
    const second = new NetworkError('n2');
    const { attempt, calls } = scripted(clock, [first, second], 4250);
    const retries: Array<{ attemptNumber: number; error: unknown; delayMs: number }> = [];
    const outcome = await drive(
      clock,
      withRetries(attempt, { policy: POLICY, clock, random: half, onRetry: (info) => retries.push(info) }),
    );
    expect(outcome).toEqual({ ok: true, value: 4250, attempts: 3 });
    // random 0.5: 250 + 125, then 500 + 250.
    expect(retries).toEqual([
      { attemptNumber: 1, error: first, delayMs: 375 },
      { attemptNumber: 2, error: second, delayMs: 750 },
    ]);
    expect(retries[0]?.error).toBe(first);
    expect(clock.sleeps.map((s) => s.ms)).toEqual([375, 750]);
    expect(calls.map((c) => c.at)).toEqual([0, 375, 1125]);
  });

  it('waits exactly the Retry-After of a 429, even beyond maxDelayMs', async () => {
    const clock = new FakeClock();
    const limited = new RateLimitedError('r', { status: 429, retryAfterMs: 42_000 });
    const { attempt, calls } = scripted(clock, [limited], 'ok');
    const retries: number[] = [];
    const outcome = await drive(
      clock,
      withRetries(attempt, { policy: POLICY, clock, random: half, onRetry: (i) => retries.push(i.delayMs) }),
    );
    expect(outcome).toEqual({ ok: true, value: 'ok', attempts: 2 });
    expect(retries).toEqual([42_000]);
    expect(calls.map((c) => c.at)).toEqual([0, 42_000]);
  });

  it('does not wait until the Retry-After when that is after the deadline', async () => {
    const clock = new FakeClock({ monotonic: 10_000 });
    const limited = new RateLimitedError('r', { status: 429, retryAfterMs: 5000 });
    const { attempt, calls } = scripted(clock, [limited], 'ok');
    let retried = 0;
    const outcome = await drive(
      clock,
      withRetries(attempt, { policy: POLICY, clock, deadline: 14_999, onRetry: () => retried++ }),
    );
    expect(outcome).toEqual({ ok: false, error: limited, attempts: 1 });
    expect(calls).toHaveLength(1);
    expect(retried).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  it('makes a retry whose wait ends exactly at the deadline', async () => {
    const clock = new FakeClock({ monotonic: 10_000 });
    const limited = new RateLimitedError('r', { status: 429, retryAfterMs: 5000 });
    const { attempt, calls } = scripted(clock, [limited], 'ok');
    const outcome = await drive(clock, withRetries(attempt, { policy: POLICY, clock, deadline: 15_000 }));
    expect(outcome).toEqual({ ok: true, value: 'ok', attempts: 2 });
    expect(calls.map((c) => c.at)).toEqual([10_000, 15_000]);
  });

  it('stops backing off once the next wait would end after the deadline', async () => {
    const clock = new FakeClock();
    const errors = [server(), server(), server()];
    const { attempt, calls } = scripted(clock, errors, 'never');
    const outcome = await drive(
      clock,
      withRetries(attempt, { policy: { ...POLICY, maxAttempts: 5 }, clock, random: half, deadline: 1000 }),
    );
    // 375 ms fits before 1000; the next 750 ms would end at 1125.
    expect(outcome).toEqual({ ok: false, error: errors[1], attempts: 2 });
    expect(calls.map((c) => c.at)).toEqual([0, 375]);
  });

  it('passes the signal to every attempt', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const { attempt, calls } = scripted(clock, [server()], 'ok');
    await drive(clock, withRetries(attempt, { policy: POLICY, clock, signal: controller.signal }));
    expect(calls.map((c) => c.signal)).toEqual([controller.signal, controller.signal]);
  });

  it('rejects with the abort reason as soon as the signal aborts during a wait, without another attempt', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const { attempt, calls } = scripted(clock, [server(), server()], 'ok');
    const running = withRetries(attempt, { policy: POLICY, clock, signal: controller.signal, random: half });
    const settled = running.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await clock.waitForTimers(1);
    const shutdown = new Error('shutting down');
    controller.abort(shutdown);
    // No time passes: the wait is cut short, not run out.
    const result = await settled;
    expect(result).toEqual({ error: shutdown });
    expect((result as { error: unknown }).error).toBe(shutdown);
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.monotonic()).toBe(0);
    await clock.runUntilIdle();
    expect(calls).toHaveLength(1);
  });

  it('rejects with the abort reason when the signal aborts during an attempt, even if the attempt fails retryably', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    let calls = 0;
    const attempt = (_n: number, signal: AbortSignal | undefined): Promise<never> => {
      calls++;
      return new Promise<never>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new NetworkError('connection torn down')), { once: true });
      });
    };
    const running = withRetries(attempt, { policy: POLICY, clock, signal: controller.signal });
    await clock.flush();
    const shutdown = new Error('shutdown');
    controller.abort(shutdown);
    await expect(running).rejects.toBe(shutdown);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('rejects at once, without an attempt, when the signal is already aborted', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const shutdown = new Error('already down');
    controller.abort(shutdown);
    const { attempt, calls } = scripted(clock, [], 'ok');
    await expect(withRetries(attempt, { policy: POLICY, clock, signal: controller.signal })).rejects.toBe(shutdown);
    expect(calls).toHaveLength(0);
  });

  it('rejects a bad policy with a message naming the field', async () => {
    const clock = new FakeClock();
    const { attempt } = scripted(clock, [], 'ok');
    await expect(withRetries(attempt, { policy: { ...POLICY, maxAttempts: 0 }, clock })).rejects.toThrow(
      /maxAttempts must be an integer >= 1, got 0/,
    );
    await expect(withRetries(attempt, { policy: { ...POLICY, maxDelayMs: Number.NaN }, clock })).rejects.toThrow(
      /maxDelayMs/,
    );
  });

  it('never lets the attempts of two runs interfere (state is per call)', async () => {
    const clock = new FakeClock();
    const a = scripted(clock, [server()], 'a');
    const b = scripted(clock, [new UnauthorizedError('u', { status: 401 })], 'b');
    const [ra, rb] = (await drive(
      clock,
      Promise.all([
        withRetries(a.attempt, { policy: POLICY, clock, random: half }),
        withRetries(b.attempt, { policy: POLICY, clock, random: half }),
      ]),
    )) as [RetryOutcome<string>, RetryOutcome<string>];
    expect(ra).toEqual({ ok: true, value: 'a', attempts: 2 });
    expect(rb.ok).toBe(false);
    expect(rb.attempts).toBe(1);
  });
});

describe('FakeClock', () => {
  it('fires timers in due order, ties in creation order, moving both clocks to each due time', async () => {
    const clock = new FakeClock({ now: 1_000_000, monotonic: 50 });
    const fired: Array<[string, number, number]> = [];
    const track = (name: string, ms: number): void => {
      void clock.sleep(ms).then(() => fired.push([name, clock.monotonic(), clock.now()]));
    };
    track('c', 300);
    track('a', 100);
    track('b1', 200);
    track('b2', 200);
    expect(clock.pendingTimers()).toBe(4);
    expect(clock.nextTimerIn()).toBe(100);
    expect(await clock.advance(250)).toBe(3);
    expect(fired).toEqual([
      ['a', 150, 1_000_100],
      ['b1', 250, 1_000_200],
      ['b2', 250, 1_000_200],
    ]);
    expect(clock.monotonic()).toBe(300);
    expect(clock.pendingTimers()).toBe(1);
    expect(await clock.advance(49)).toBe(0);
    expect(await clock.advance(1)).toBe(1);
    expect(fired.at(-1)).toEqual(['c', 350, 1_000_300]);
  });

  it('fires a timer scheduled by a callback within the same advance', async () => {
    const clock = new FakeClock();
    const at: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        at.push(clock.monotonic());
      }
    })();
    await clock.advance(250);
    expect(at).toEqual([100, 200]);
    await clock.runUntilIdle();
    expect(at).toEqual([100, 200, 300]);
  });

  it('rejects a sleep at once when its signal aborts, and removes its timer', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    expect(clock.pendingTimers()).toBe(1);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(clock.pendingTimers()).toBe(0);
    await expect(clock.sleep(5, controller.signal)).rejects.toBe(reason);
    expect(clock.sleeps).toEqual([
      { ms: 1000, at: 0 },
      { ms: 5, at: 0 },
    ]);
  });

  it('waitForTimers resolves once enough sleeps are pending; runUntilIdle stops a runaway loop', async () => {
    const clock = new FakeClock();
    const waiting = clock.waitForTimers(2);
    let resolved = false;
    void waiting.then(() => {
      resolved = true;
    });
    void clock.sleep(10);
    await clock.flush();
    expect(resolved).toBe(false);
    void clock.sleep(20);
    await waiting;
    expect(resolved).toBe(true);

    let stop = false;
    void (async () => {
      while (!stop) await clock.sleep(1);
    })();
    await expect(clock.runUntilIdle(50)).rejects.toThrow(/still busy after 50 timers/);
    stop = true;
    await clock.runUntilIdle();
  });

  it('moves the wall clock alone with setWallTime and refuses to go back in monotonic time', async () => {
    const clock = new FakeClock({ now: 5000, monotonic: 10 });
    clock.setWallTime(1000);
    expect(clock.now()).toBe(1000);
    expect(clock.monotonic()).toBe(10);
    await expect(clock.advanceTo(5)).rejects.toThrow(/target must be >= monotonic\(\) \(10\)/);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.sleep(Number.NaN)).rejects.toThrow(/ms must be a number/);
  });
});
