import { describe, expect, it } from 'vitest';
import { KeyUnavailableError, ServerError, UnauthorizedError } from '../../../src/zexa/errors.js';
import { MIN_POLLS_WAITING, Poller, type PollResult } from '../../../src/poll/poller.js';
import type { ZexaClient } from '../../../src/zexa/client.js';
import type { Credits } from '../../../src/zexa/parse.js';
import { FakeClock } from '../../support/fake-clock.js';

interface Call {
  account: string;
  key: string;
  startedAt: number;
  endedAt: number | undefined;
}

/**
 * A client whose answers take `latencyMs` of fake time; `respond` decides each answer.
 * The key doubles as the account name ("key-<name>"), so calls are attributed.
 */
function fakeClient(
  clock: FakeClock,
  latencyMs: number,
  respond: (key: string, n: number) => Credits | Error = () => credits(100),
) {
  const calls: Call[] = [];
  let active = 0;
  let maxActive = 0;
  const client: ZexaClient = {
    async fetchCredits(key, signal) {
      const call: Call = { account: key.replace(/^key-/, ''), key, startedAt: clock.monotonic(), endedAt: undefined };
      calls.push(call);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        await clock.sleep(latencyMs, signal);
      } finally {
        active--;
        call.endedAt = clock.monotonic();
      }
      const answer = respond(key, calls.filter((c) => c.key === key).length);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client, calls, maxActive: () => maxActive };
}

function credits(n: number): Credits {
  return { credits: n, currency: 'USD', requestId: undefined };
}

function accounts(...names: string[]) {
  return names.map((name) => ({ name }));
}

function makePoller(
  clock: FakeClock,
  client: ZexaClient,
  results: PollResult[],
  extra: Partial<ConstructorParameters<typeof Poller>[0]> = {},
) {
  return new Poller<{ name: string }>({
    clock,
    client,
    readKey: (a) => `key-${a.name}`,
    policy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    intervalMs: 60_000,
    maxConcurrency: 8,
    random: () => 0.5,
    onResult: (r) => results.push(r),
    ...extra,
  });
}

describe('Poller', () => {
  it('polls every account at start, then every interval, spread evenly over it', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 10);
    const results: PollResult[] = [];
    const poller = makePoller(clock, client, results);
    poller.update(accounts('a', 'b', 'c', 'd'));
    await clock.flush();
    await clock.advance(1000);
    // The first round is compressed: everyone reports within a second of start.
    expect(calls.map((c) => [c.account, c.startedAt])).toEqual([
      ['a', 0],
      ['b', 100],
      ['c', 200],
      ['d', 300],
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    await clock.advance(4 * 60_000);
    // Then each account keeps its phase: a at 0, b at 15 s, c at 30 s, d at 45 s of each interval.
    const starts = (name: string) => calls.filter((c) => c.account === name).map((c) => c.startedAt);
    expect(starts('a')).toEqual([0, 60_000, 120_000, 180_000, 240_000]);
    expect(starts('b')).toEqual([100, 75_000, 135_000, 195_000]);
    expect(starts('c')).toEqual([200, 90_000, 150_000, 210_000]);
    expect(starts('d')).toEqual([300, 45_000, 105_000, 165_000, 225_000]);
    // An even rate: in steady state, request starts are a quarter interval apart.
    const steady = calls
      .map((c) => c.startedAt)
      .filter((t) => t >= 60_000)
      .sort((x, y) => x - y);
    for (let i = 1; i < steady.length; i++) expect((steady[i] as number) - (steady[i - 1] as number)).toBe(15_000);
    await poller.stop();
  });

  it('never overlaps polls of one account when the API is slower than the interval', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls, maxActive } = fakeClient(clock, 150_000);
    const poller = makePoller(clock, client, []);
    poller.update(accounts('a'));
    await clock.flush();
    await clock.advance(10 * 60_000);
    expect(maxActive()).toBe(1);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]?.startedAt).toBeGreaterThanOrEqual(calls[i - 1]?.endedAt as number);
    }
    // 10 minutes at 150 s per request: 4 finished and a fifth under way, not one per minute.
    expect(calls.length).toBe(5);
    await poller.stop();
  });

  it('keeps at most maxConcurrency requests in flight across accounts', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls, maxActive } = fakeClient(clock, 5_000);
    const poller = makePoller(clock, client, [], { maxConcurrency: 3 });
    poller.update(accounts('a', 'b', 'c', 'd', 'e', 'f', 'g'));
    await clock.flush();
    await clock.advance(30_000);
    expect(calls.length).toBeGreaterThanOrEqual(7);
    expect(maxActive()).toBe(3);
    await poller.stop();
  });

  it('starts only as many polls as can soon get a request slot; the rest wait as queue entries', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 5_000);
    const keysRead: string[] = [];
    const poller = makePoller(clock, client, [], {
      maxConcurrency: 2,
      readKey: (a) => {
        keysRead.push(a.name);
        return `key-${a.name}`;
      },
    });
    const names = Array.from({ length: 100 }, (_, i) => `acct_${String(i).padStart(3, '0')}`);
    poller.update(accounts(...names));
    await clock.flush();
    await clock.advance(1_000);
    // All 100 are due within the first second; 2 are in flight and at most MIN_POLLS_WAITING
    // more have started (read their key, made their retry state) to wait for a slot.
    expect(calls).toHaveLength(2);
    expect(keysRead.length).toBe(2 + MIN_POLLS_WAITING);
    // As slots free up, the queue moves on in order: two requests of 5 s at a time, started at
    // 0, 5, …, 60 s, are 26 accounts, each polled once, in due order.
    await clock.advance(60_000);
    expect(calls.map((c) => c.account)).toEqual(names.slice(0, 26));
    await poller.stop();
  });

  it('polls waiting out a back-off do not hold up accounts that are due', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    // The first 20 accounts fail with 503 and wait 100 s between attempts; the others answer.
    const { client, calls } = fakeClient(clock, 10, (key) =>
      Number(key.replace('key-acct_', '')) < 20 ? new ServerError('503', { status: 503 }) : credits(5),
    );
    const results: PollResult[] = [];
    const poller = makePoller(clock, client, results, {
      maxConcurrency: 2,
      policy: { maxAttempts: 3, baseDelayMs: 100_000, maxDelayMs: 100_000 },
      intervalMs: 600_000,
    });
    poller.update(accounts(...Array.from({ length: 40 }, (_, i) => `acct_${i}`)));
    await clock.flush();
    await clock.advance(5_000);
    // 20 polls sit in back-off (more than MIN_POLLS_WAITING), yet the 20 healthy accounts were polled.
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    expect(calls.filter((c) => Number(c.account.replace('acct_', '')) < 20)).toHaveLength(20);
    await poller.stop();
  });

  it('starts at most maxRequestsPerSecond requests per second', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 10);
    const poller = makePoller(clock, client, [], { maxRequestsPerSecond: 2 });
    poller.update(accounts('a', 'b', 'c', 'd', 'e', 'f'));
    await clock.flush();
    await clock.advance(5_000);
    const starts = calls.map((c) => c.startedAt).sort((x, y) => x - y);
    expect(starts).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    await poller.stop();
  });

  it('retries a server error within the poll and reports the attempts', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 10, (_key, n) =>
      n === 1 ? new ServerError('503', { status: 503 }) : credits(42),
    );
    const results: PollResult[] = [];
    const poller = makePoller(clock, client, results);
    poller.update(accounts('a'));
    await clock.flush();
    await clock.advance(5_000);
    expect(calls).toHaveLength(2);
    expect(results).toEqual([expect.objectContaining({ account: 'a', ok: true, attempts: 2 })]);
    await poller.stop();
  });

  it('does not retry a 401 and reports it with its reason', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(
      clock,
      10,
      () => new UnauthorizedError('401', { status: 401, requestId: 'req_9' }),
    );
    const results: PollResult[] = [];
    const poller = makePoller(clock, client, results);
    poller.update(accounts('a'));
    await clock.flush();
    await clock.advance(5_000);
    expect(calls).toHaveLength(1);
    expect(results).toEqual([
      expect.objectContaining({ account: 'a', ok: false, reason: 'unauthorized', attempts: 1 }),
    ]);
    await poller.stop();
  });

  it('reports a key that cannot be read as key_unavailable without sending anything', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 10);
    const results: PollResult[] = [];
    const poller = makePoller(clock, client, results, {
      readKey: () => {
        throw new KeyUnavailableError('ZEXA_API_KEY_FILE: /run/secrets/x is empty');
      },
    });
    poller.update(accounts('a'));
    await clock.flush();
    await clock.advance(1_000);
    expect(calls).toHaveLength(0);
    expect(results).toEqual([
      expect.objectContaining({ account: 'a', ok: false, reason: 'key_unavailable', attempts: 0 }),
    ]);
    await poller.stop();
  });

  it('tells when the key changed between polls', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client } = fakeClient(clock, 10);
    let key = 'key-one';
    const changes: [string, string][] = [];
    const poller = makePoller(clock, client, [], {
      readKey: () => key,
      onKeyChange: (_account, previous, current) => changes.push([previous, current]),
    });
    poller.update(accounts('a'));
    await clock.flush();
    await clock.advance(1_000);
    key = 'key-two';
    await clock.advance(60_000);
    await clock.advance(60_000);
    expect(changes).toEqual([['key-one', 'key-two']]);
    await poller.stop();
  });

  it('follows reloads: removed accounts stop, added ones start, kept ones keep their phase', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 10);
    const poller = makePoller(clock, client, []);
    poller.update(accounts('a', 'b'));
    await clock.flush();
    await clock.advance(1_000);
    poller.update(accounts('a', 'c'));
    await clock.flush();
    await clock.advance(120_000);
    const starts = (name: string) => calls.filter((c) => c.account === name).map((c) => c.startedAt);
    expect(starts('b')).toEqual([100]);
    expect(starts('a')).toEqual([0, 60_000, 120_000]);
    expect(starts('c')[0]).toBe(1_000);
    expect(starts('c').length).toBe(3);
    expect(poller.accountNames.sort()).toEqual(['a', 'c']);
    await poller.stop();
  });

  it('stop() aborts in-flight requests and pending waits, and nothing is reported after it', async () => {
    const clock = new FakeClock({ flushTurns: 25 });
    const { client, calls } = fakeClient(clock, 1_000_000);
    const results: PollResult[] = [];
    const poller = makePoller(clock, client, results);
    poller.update(accounts('a', 'b'));
    await clock.flush();
    await clock.advance(500);
    expect(calls).toHaveLength(2);
    await poller.stop();
    expect(clock.pendingTimers()).toBe(0);
    expect(calls.every((c) => c.endedAt !== undefined)).toBe(true);
    await clock.advance(10 * 60_000);
    expect(results).toHaveLength(0);
    expect(calls).toHaveLength(2);
  });
});
