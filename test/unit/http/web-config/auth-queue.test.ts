import { describe, expect, it } from 'vitest';
import { AuthBusyError, AuthQueue } from '../../../../src/http/web-config/auth-queue.js';
import { FakeClock } from '../../../support/fake-clock.js';

/** A task that finishes when the test says so, recording when it started. */
function gate(log: string[], name: string): { task: () => Promise<string>; finish: () => void } {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const settled = async <T>(p: Promise<T>): Promise<{ ok: T } | { error: unknown }> =>
  p.then(
    (ok) => ({ ok }),
    (error: unknown) => ({ error }),
  );

describe('AuthQueue', () => {
  it('runs one check at a time, clients taking turns instead of first come first served', async () => {
    const clock = new FakeClock();
    const queue = new AuthQueue({ maxQueued: 10, maxQueuedPerClient: 10, maxWaitMs: 5000 }, clock);
    const log: string[] = [];
    const gates = ['a1', 'a2', 'a3', 'b1', 'a4', 'c1'].map((name) => ({ name, ...gate(log, name) }));
    const results = gates.map((g) => queue.run(g.name[0] ?? '', g.task));
    expect(log).toEqual(['a1']);
    expect(queue.queued).toBe(5);
    for (const g of gates) {
      g.finish();
      await clock.flush();
    }
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'a3', 'b1', 'a4', 'c1']);
    // After a1: b and c each get a turn before a's second, third and fourth checks.
    expect(log).toEqual(['a1', 'a2', 'b1', 'c1', 'a3', 'a4']);
    expect(queue.queued).toBe(0);
  });

  it('refuses at once beyond the per-client and the total bound, with a Retry-After', async () => {
    const clock = new FakeClock();
    const queue = new AuthQueue({ maxQueued: 3, maxQueuedPerClient: 2, maxWaitMs: 2000 }, clock);
    const log: string[] = [];
    const running = gate(log, 'running');
    void queue.run('x', running.task);
    const waiting = [queue.run('a', async () => 'a1'), queue.run('a', async () => 'a2')];
    const third = await settled(queue.run('a', async () => 'a3'));
    expect(third).toEqual({ error: expect.any(AuthBusyError) });
    expect((third as { error: AuthBusyError }).error.retryAfterSeconds).toBe(2);
    waiting.push(queue.run('b', async () => 'b1'));
    expect(await settled(queue.run('c', async () => 'c1'))).toEqual({ error: expect.any(AuthBusyError) });
    running.finish();
    expect(await Promise.all(waiting)).toEqual(['a1', 'a2', 'b1']);
  });

  it('refuses a check that waited maxWaitMs without a turn, and never starts it late', async () => {
    const clock = new FakeClock();
    const queue = new AuthQueue({ maxQueued: 5, maxQueuedPerClient: 5, maxWaitMs: 2000 }, clock);
    const log: string[] = [];
    const slow = gate(log, 'slow');
    void queue.run('a', slow.task);
    let started = false;
    const waiting = settled(queue.run('b', async () => (started = true)));
    await clock.advance(1999);
    expect(queue.queued).toBe(1);
    await clock.advance(1);
    expect(await waiting).toEqual({ error: expect.any(AuthBusyError) });
    expect(queue.queued).toBe(0);
    slow.finish();
    await clock.flush();
    expect(started).toBe(false);
    // The wait timers of started checks are gone too.
    expect(clock.pendingTimers()).toBe(0);
  });

  it('drops a waiting check whose client has gone, and the next one gets the turn', async () => {
    const clock = new FakeClock();
    const queue = new AuthQueue({}, clock);
    const log: string[] = [];
    const first = gate(log, 'first');
    void queue.run('a', first.task);
    const gone = new AbortController();
    const left = settled(queue.run('b', async () => log.push('left') && 'left', gone.signal));
    const stays = queue.run('c', async () => 'stays');
    gone.abort(new Error('client closed the connection'));
    expect(await left).toEqual({ error: new Error('client closed the connection') });
    first.finish();
    expect(await stays).toBe('stays');
    expect(log).toEqual(['first']);
  });

  it('a failing check frees the turn', async () => {
    const queue = new AuthQueue({}, new FakeClock());
    const failed = queue.run('a', () => Promise.reject(new Error('bcrypt failed')));
    const next = queue.run('a', async () => 'next');
    await expect(failed).rejects.toThrow('bcrypt failed');
    expect(await next).toBe('next');
  });
});
