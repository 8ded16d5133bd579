/**
 * Limits on the exporter's incoming connections, so that idle or hostile clients cannot take the
 * file descriptors the polls need. Without a cap, 2,000 idle connections under `ulimit -n 1024`
 * made `/healthz` fail with ECONNRESET and every poll fail with EMFILE.
 *
 * - `server.maxConnections`: a connection beyond the cap is closed by Node as soon as it is
 *   accepted, before any byte is read, so it holds a descriptor for microseconds only.
 * - No remote address holds more than `maxConnectionsPerAddress` of them: one more from it is
 *   closed at once, so a single client cannot fill the cap while others wait.
 * - A connection's first request must be complete, headers and all, within
 *   `firstRequestTimeoutMs` of the connection opening, however it trickles in: the timer is a
 *   deadline, not an idle timer (a header line every 3 s once kept a connection open for 85 s).
 *   Later requests on a kept-alive connection are bounded by the server's `headersTimeout` and
 *   `requestTimeout`, set to the same value.
 * - Responses that turn credentials away (401, 503 of a full password queue) close their
 *   connection (web-config/auth.ts), so connections that have not authenticated never idle in keep-alive.
 */
import type { Server } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { throttledCount } from '../lib/throttled-count.js';

/**
 * Long enough for any client that connects in order to send a request (a browser's speculative
 * pre-connection is used within seconds or dropped), short enough that silent connections cannot
 * pile up: at the default cap of 512, one a second from an attacker never fills it.
 */
const FIRST_REQUEST_TIMEOUT_MS = 10_000;
/** Dropped connections are logged at warn level at most this often, with the count since. */
const DROP_WARNING_INTERVAL_MS = 60_000;

export interface ConnectionLimitOptions {
  maxConnections: number;
  /** Default: all of `maxConnections`. */
  maxConnectionsPerAddress?: number;
  firstRequestTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
}

export function limitConnections(server: Server, options: ConnectionLimitOptions): void {
  const clock = options.clock ?? systemClock;
  const firstRequestTimeoutMs = options.firstRequestTimeoutMs ?? FIRST_REQUEST_TIMEOUT_MS;
  const perAddress = Math.min(options.maxConnectionsPerAddress ?? options.maxConnections, options.maxConnections);
  server.maxConnections = options.maxConnections;
  server.headersTimeout = firstRequestTimeoutMs;
  server.requestTimeout = firstRequestTimeoutMs;

  const dropWarning = (what: string): (() => void) =>
    throttledCount(clock, DROP_WARNING_INTERVAL_MS, (dropped) =>
      options.logger?.warn(
        { dropped, max_connections: options.maxConnections, max_connections_per_address: perAddress },
        what,
      ),
    );
  server.on(
    'drop',
    dropWarning('connection limit reached: new connections are closed at once (--web.max-connections)'),
  );
  const droppedFromAddress = dropWarning(
    'connection limit of one address reached: its new connections are closed at once (--web.max-connections-per-address)',
  );

  // Counted on the raw TCP connection, before any TLS handshake, so handshakes count too.
  const open = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= perAddress) {
      droppedFromAddress();
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });

  // On TLS the socket that carries requests is the one the handshake produced; the handshake
  // itself is bounded by tls.Server's handshakeTimeout.
  const event = server instanceof https.Server ? 'secureConnection' : 'connection';
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  server.prependListener(event, (socket: Socket) => {
    if (socket.destroyed) return;
    const deadline = setTimeout(() => socket.destroy(), firstRequestTimeoutMs);
    deadline.unref();
    deadlines.set(socket, deadline);
    socket.once('close', () => clearTimeout(deadline));
  });
  // The first request's headers are in: from here on Node manages the socket (keep-alive).
  server.prependListener('request', (req: { socket: Socket }) => {
    clearTimeout(deadlines.get(req.socket));
    deadlines.delete(req.socket);
  });
}
