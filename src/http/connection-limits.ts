/**
 * Limits on the exporter's incoming connections, so that idle or hostile clients cannot take the
 * file descriptors the polls need. Without a cap, 2,000 idle connections under `ulimit -n 1024`
 * made `/healthz` fail with ECONNRESET and every poll fail with EMFILE (issue 12).
 *
 * - `server.maxConnections`: a connection beyond the cap is closed by Node as soon as it is
 *   accepted, before any byte is read, so it holds a descriptor for microseconds only.
 * - A connection must send its first request within `firstRequestTimeoutMs`; one that connects
 *   and stays silent is closed then. Node's own `headersTimeout` starts only with the first byte.
 * - Responses that turn credentials away (401, 503 of a full password queue) close their
 *   connection (web-config/auth.ts), so connections that have not authenticated never idle in keep-alive.
 */
import type { Server } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

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
  firstRequestTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
}

export function limitConnections(server: Server, options: ConnectionLimitOptions): void {
  const clock = options.clock ?? systemClock;
  const firstRequestTimeoutMs = options.firstRequestTimeoutMs ?? FIRST_REQUEST_TIMEOUT_MS;
  server.maxConnections = options.maxConnections;

  let dropped = 0;
  let lastWarningAt = -Infinity;
  server.on('drop', () => {
    dropped++;
    const now = clock.monotonic();
    if (now - lastWarningAt < DROP_WARNING_INTERVAL_MS) return;
    options.logger?.warn(
      { dropped, max_connections: options.maxConnections },
      'connection limit reached: new connections are closed at once (--web.max-connections)',
    );
    lastWarningAt = now;
    dropped = 0;
  });

  // On TLS the socket that carries requests is the one the handshake produced; the handshake
  // itself is bounded by tls.Server's handshakeTimeout.
  const event = server instanceof https.Server ? 'secureConnection' : 'connection';
  // No 'timeout' listener on the server: Node destroys a socket whose timeout fires.
  server.prependListener(event, (socket: Socket) => socket.setTimeout(firstRequestTimeoutMs));
  // From the first request on, Node manages the socket's timeout (keep-alive between requests).
  server.prependListener('request', (req: { socket: Socket }) => req.socket.setTimeout(0));
}
