/**
 * Takes turns between scrapes and everything else on the one event loop.
 *
 * Under a flood of scrapes, libuv hands Node every ready request in one batch and each is handled
 * at once, so a loop iteration can spend hundreds of milliseconds rendering pages while the
 * poller's timers and API responses wait: polls slip (measured: 1,000 accounts, 50 clients →
 * polls at a third of their rate). Queued here, expensive handlers run one per loop iteration
 * (in the check phase), so timers and I/O get a turn between any two of them. A queue longer
 * than `maxQueued` answers 503 rather than growing without bound.
 */
import type { RequestHandler } from '../lib/routing.js';

export interface FairQueueOptions {
  /** Requests waiting at once before the rest get 503 (default 1024). */
  maxQueued?: number;
}

export function fairQueue(options: FairQueueOptions = {}): RequestHandler {
  const maxQueued = options.maxQueued ?? 1024;
  const queue: (() => void)[] = [];
  let scheduled = false;

  const runOne = (): void => {
    const next = queue.shift();
    if (queue.length > 0) setImmediate(runOne);
    else scheduled = false;
    next?.();
  };

  return (req, res, next) => {
    if (queue.length >= maxQueued) {
      res.status(503).set('Retry-After', '1').type('text/plain').send('overloaded, try again\n');
      return;
    }
    queue.push(() => {
      // A client that gave up while queued is not worth rendering for.
      if (req.socket.destroyed) return;
      next();
    });
    if (!scheduled) {
      scheduled = true;
      setImmediate(runOne);
    }
  };
}
