/**
 * Writes large shared bodies (the `/metrics` exposition) to clients that may not read them.
 *
 * The body is the cached buffers the exporter rendered (a block that did not change is the same
 * Buffer from one render to the next), shared between every response of the same render and never
 * joined into one: a response writes them, or slices of them (views, never copies), only as fast as
 * its client takes them, one corked window per turn (one writev), waiting for `drain` between
 * windows. A client that never reads therefore costs a few windows, and its socket never queues
 * more than one window.
 *
 * - A response whose client has taken nothing for `stallTimeoutMs` is dropped (its socket
 *   destroyed): a client that stopped reading holds no connection or body for longer.
 * - The bodies held by unfinished responses are counted once per distinct buffer (renders share
 *   the buffers of unchanged blocks). While a fresh render's buffers not held yet would take them
 *   past `maxHeldBytes`, a new response shares the newest body already made instead (at most a
 *   render older), so slow readers cannot pin one render each while the accounts change
 *   underneath them, and the memory they hold stays near the cap.
 *   Nobody is dropped for room: that would only let an attacker reconnect faster.
 */
import type { ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { throttledCount } from '../lib/throttled-count.js';

/** A client that has not read for this long is dropped. */
export const SLOW_READER_TIMEOUT_MS = 10_000;
/** Bytes of response bodies held for unfinished responses, each distinct buffer counted once. */
const MAX_HELD_BODY_BYTES = 64 * 1024 * 1024;
/** Dropped readers are logged at warn level at most this often, with the count since. */
const DROP_WARNING_INTERVAL_MS = 60_000;
/**
 * Bytes handed to the socket before waiting for it to drain. Each window costs a turn of the
 * event loop: at 64 KB the 7 MB of 10,000 accounts took ~110 turns, ~90 ms per scrape of a
 * client that reads at once; at 512 KB it takes 14. A client that does not read holds at most one
 * window in the kernel's send buffer, and the turn's time budget bounds the copying.
 */
const WINDOW_BYTES = 512 * 1024;
/** Time spent writing windows per turn of the event loop before timers and I/O get theirs. */
const TURN_MS = 5;

/**
 * Ends a response whose client does not read. A plain close would leave the unsent bytes and a
 * FIN queued in the kernel behind a zero window for minutes; a reset frees them at once.
 */
function drop(res: ServerResponse): void {
  const socket = res.socket;
  if (socket !== null && !(socket instanceof TLSSocket) && !socket.destroyed) socket.resetAndDestroy();
  else res.destroy();
}

export interface SharedBodyOptions {
  stallTimeoutMs?: number;
  maxHeldBytes?: number;
  /** Called each time a response is dropped. */
  onDrop?: () => void;
}

interface InFlight {
  res: ServerResponse;
  buffers: readonly Buffer[];
  /** performance.now() of the last time the client took bytes (or of the start). */
  lastProgress: number;
}

export interface SharedBodyWriter {
  /** Writes `buffers` as the body of `res` (headers already set, without Content-Length) and ends it. */
  send(res: ServerResponse, buffers: readonly Buffer[]): void;
  /**
   * The body of render `version` under `key` (a format and encoding), as the buffers `make` gives
   * (asked once per render). When the bodies held for unfinished responses leave no room for its
   * buffers not held already, the body last made under `key` is shared instead: slow readers
   * cannot pin one render each while the accounts change underneath them.
   */
  shared(key: string, version: object, make: () => readonly Buffer[]): readonly Buffer[];
  /** Bytes of distinct body buffers held by unfinished responses. */
  heldBytes(): number;
}

/**
 * Writes `body` a window at a time: the buffers of a window are written corked, so the socket
 * takes them in one writev, and the next window is scheduled once the socket has taken the last
 * (`drain`), or at once when it took it at once, so other clients get theirs in between. Buffers
 * are written as they are, or sliced (views, never copies) at a window's edge.
 */
function writeInWindows(
  res: ServerResponse,
  body: readonly Buffer[],
  onProgress: () => void,
  schedule: (pump: () => void) => void,
): void {
  let index = 0;
  let offset = 0;
  const pump = (): void => {
    if (res.destroyed) return;
    onProgress();
    let budget = WINDOW_BYTES;
    let taken = true;
    res.cork();
    while (index < body.length && budget > 0) {
      const buffer = body[index] as Buffer;
      const take = Math.min(buffer.length - offset, budget);
      const slice = offset === 0 && take === buffer.length ? buffer : buffer.subarray(offset, offset + take);
      offset += take;
      if (offset === buffer.length) {
        index++;
        offset = 0;
      }
      budget -= take;
      // Within a window the socket's high-water mark does not matter: the window bounds what it queues.
      if (!res.write(slice)) taken = false;
    }
    res.uncork();
    if (index === body.length) {
      res.end();
      return;
    }
    if (taken && !res.writableNeedDrain) {
      schedule(pump);
      return;
    }
    // The client took the last window: that counts as reading even while the next waits its turn.
    res.once('drain', () => {
      onProgress();
      schedule(pump);
    });
  };
  pump();
}

/**
 * Windows ready to go out run a few milliseconds' worth per turn of the event loop: copying a window
 * into each of 400 sockets' kernel buffers in one turn held /healthz for hundreds of ms.
 */
function turnScheduler(): (pump: () => void) => void {
  const ready: (() => void)[] = [];
  let scheduled = false;
  const runReady = (): void => {
    const until = performance.now() + TURN_MS;
    while (ready.length > 0 && performance.now() < until) (ready.shift() as () => void)();
    scheduled = ready.length > 0;
    if (scheduled) setImmediate(runReady);
  };
  return (pump) => {
    ready.push(pump);
    if (scheduled) return;
    scheduled = true;
    setImmediate(runReady);
  };
}

/**
 * The buffers unfinished responses hold, each counted once however many hold it, and their bytes.
 */
function heldBuffers(): {
  hold: (buffers: readonly Buffer[], delta: 1 | -1) => void;
  /** Whether a response holds all of `body` (renders share buffers, such as headers: one is not enough). */
  holds: (body: readonly Buffer[]) => boolean;
  /** Bytes of `body` in buffers no unfinished response holds yet: what sending it would add. */
  unheld: (body: readonly Buffer[]) => number;
  bytes: () => number;
} {
  const refs = new Map<Buffer, number>();
  let held = 0;
  return {
    hold: (buffers, delta) => {
      for (const buffer of buffers) {
        const count = (refs.get(buffer) ?? 0) + delta;
        if (count === 0) {
          refs.delete(buffer);
          held -= buffer.length;
        } else {
          if (count === 1 && delta === 1) held += buffer.length;
          refs.set(buffer, count);
        }
      }
    },
    holds: (body) => body.every((buffer) => buffer.length === 0 || refs.has(buffer)),
    unheld: (body) => {
      let bytes = 0;
      for (const buffer of new Set(body)) if (!refs.has(buffer)) bytes += buffer.length;
      return bytes;
    },
    bytes: () => held,
  };
}

export function sharedBodyWriter(options: SharedBodyOptions = {}): SharedBodyWriter {
  const stallTimeoutMs = options.stallTimeoutMs ?? SLOW_READER_TIMEOUT_MS;
  const maxHeldBytes = options.maxHeldBytes ?? MAX_HELD_BODY_BYTES;
  const inFlight = new Set<InFlight>();
  const { hold, holds, unheld, bytes: heldBytes } = heldBuffers();
  const schedule = turnScheduler();

  /**
   * The body last made under each key, while an unfinished response holds it: one no response
   * holds is let go, so it does not keep a past render's blocks alive between scrapes.
   */
  const latest = new Map<string, { version: object; body: readonly Buffer[] }>();

  const finish = (entry: InFlight): void => {
    if (!inFlight.delete(entry)) return;
    hold(entry.buffers, -1);
    for (const [key, last] of latest) if (!holds(last.body)) latest.delete(key);
  };

  const send = (res: ServerResponse, buffers: readonly Buffer[]): void => {
    const body = buffers.filter((b) => b.length > 0);
    let length = 0;
    for (const buffer of body) length += buffer.length;
    res.setHeader('Content-Length', String(length));
    if (res.req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const entry: InFlight = { res, buffers: body, lastProgress: performance.now() };
    inFlight.add(entry);
    hold(body, 1);

    // A stall timer that fires when the client last took bytes `stallTimeoutMs` ago.
    let stall: NodeJS.Timeout | undefined;
    const watch = (): void => {
      const idle = performance.now() - entry.lastProgress;
      if (idle < stallTimeoutMs) {
        stall = setTimeout(watch, stallTimeoutMs - idle);
        stall.unref();
        return;
      }
      finish(entry);
      drop(res);
      options.onDrop?.();
    };
    watch();
    res.once('close', () => {
      clearTimeout(stall);
      finish(entry);
    });
    writeInWindows(res, body, () => (entry.lastProgress = performance.now()), schedule);
  };

  const shared = (key: string, version: object, make: () => readonly Buffer[]): readonly Buffer[] => {
    const last = latest.get(key);
    if (last?.version === version) return last.body;
    const body = make();
    if (last !== undefined && heldBytes() + unheld(body) > maxHeldBytes && holds(last.body)) return last.body;
    latest.set(key, { version, body });
    return body;
  };

  return { send, shared, heldBytes };
}

/** An `onDrop` that logs the dropped responses at warn level, at most once a minute, with the count. */
export function slowReaderDrops(clock: Clock, logger: Logger): () => void {
  return throttledCount(clock, DROP_WARNING_INTERVAL_MS, (dropped) =>
    logger.warn(
      { dropped, timeout_seconds: SLOW_READER_TIMEOUT_MS / 1000 },
      'metrics clients that stopped reading were dropped',
    ),
  );
}
