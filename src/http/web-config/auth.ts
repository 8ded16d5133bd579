/**
 * The request side of the web config: basic auth against bcrypt hashes and the configured
 * response headers, as middlewares (lib/routing.ts). Both take the config per request from a
 * WebConfigSource, so a reloaded file applies to the next request without a restart.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from '../../lib/routing.js';
import { AuthBusyError, AuthQueue, type AuthQueueLimits } from './auth-queue.js';
import { createBcryptWorker } from './bcrypt-worker.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { throttledCount } from '../../lib/throttled-count.js';
import type { WebConfig } from './parse.js';
import { asSource, type WebConfigSource } from './source.js';

const BASIC_AUTH_REALM = 'zexa-exporter';

/**
 * Compared against for an unknown user, so that a wrong user name costs as much time as a wrong
 * password and timing does not reveal which user names exist (exporter-toolkit does the same).
 * The hash of a random string nobody knows; cost 10 like the hashes htpasswd makes by default.
 */
const UNKNOWN_USER_HASH = '$2b$10$gaRX9XuUpx0kqsxYzzauzOc9ftCiGFBMTDGTo3I3wjmg5NRYRvdFK';

/** Successful verifications remembered; exporter-toolkit keeps 100 too. */
const CACHE_SIZE = 100;

export interface BasicAuthOptions {
  /** Exact paths served without credentials, e.g. ['/healthz'] for probes. */
  unprotectedPaths: readonly string[];
  /** Rejections are logged at debug level with the client address; never a user name or password. */
  logger?: Logger;
  /** Bounds of the bcrypt queue (see auth-queue.ts); the defaults when omitted. */
  queueLimits?: Partial<AuthQueueLimits>;
  clock?: Clock;
}

/** A full bcrypt queue is logged at warn level at most this often, with the count refused since. */
const BUSY_WARNING_INTERVAL_MS = 60_000;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The request path as the router sees it (no query, dot segments not resolved). */
function rawPath(req: Request): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Finds the user's hash by comparing SHA-256 digests with timingSafeEqual against every entry,
 * without stopping at a match, so the time taken does not depend on which user (if any) matched.
 */
function lookUpHash(users: Map<string, string>, user: string): string | undefined {
  const wanted = sha256(user);
  let found: string | undefined;
  for (const [name, hash] of users) {
    if (timingSafeEqual(sha256(name), wanted) && found === undefined) found = hash;
  }
  return found;
}

/** A bounded set of digests of (user, hash, password) that verified; least recently used goes first. */
class VerifiedCache {
  private readonly entries = new Set<string>();
  has(key: string): boolean {
    if (!this.entries.has(key)) return false;
    this.entries.delete(key);
    this.entries.add(key);
    return true;
  }
  add(key: string): void {
    this.entries.delete(key);
    this.entries.add(key);
    if (this.entries.size > CACHE_SIZE) {
      const oldest = this.entries.values().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

/** Connections that have not authenticated do not idle in keep-alive (see http/connection-limits.ts). */
function busy(res: Response, error: AuthBusyError): void {
  res.setHeader('Connection', 'close');
  res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res.status(503).type('text/plain').send('Service Unavailable: too many password checks waiting; retry later\n');
}

/** Counts refusals for a full queue and logs them at warn level at most once a minute. */
function busyWarning(queue: AuthQueue, clock: Clock, logger: Logger | undefined): () => void {
  return throttledCount(clock, BUSY_WARNING_INTERVAL_MS, (refused) =>
    logger?.warn(
      { refused, queued: queue.queued },
      'basic auth: too many password checks waiting; answering 503 (a password-guessing flood?)',
    ),
  );
}

function unauthorized(res: Response): void {
  res.setHeader('Connection', 'close');
  res.setHeader('WWW-Authenticate', `Basic realm="${BASIC_AUTH_REALM}"`);
  res.status(401).type('text/plain').send('Unauthorized\n');
}

/**
 * Requires basic auth on every path but `unprotectedPaths` when the web config has
 * basic_auth_users (none: everything passes). 401 with `WWW-Authenticate` when credentials are
 * missing, malformed or wrong. bcrypt is slow on purpose and Prometheus scrapes often, so a
 * successful check is remembered under a SHA-256 of user, hash and password (never the password
 * itself), as exporter-toolkit does; failed ones are not, so guessing never fills the cache.
 * bcrypt runs on a worker thread (bcrypt-worker.ts), so it never holds up the event loop, and
 * one check at a time, which bounds the CPU a flood of wrong passwords can take, in a
 * bounded queue with turns by client address (auth-queue.ts): a check that cannot get a turn
 * soon is answered 503 with `Retry-After` instead of waiting behind the flood.
 */
export function basicAuthMiddleware(webConfig: WebConfig | WebConfigSource, options: BasicAuthOptions): RequestHandler {
  const source = asSource(webConfig);
  const unprotected = new Set(options.unprotectedPaths);
  const cache = new VerifiedCache();
  const clock = options.clock ?? systemClock;
  const queue = new AuthQueue(options.queueLimits, clock);
  const bcrypt = createBcryptWorker();
  const warnBusy = busyWarning(queue, clock, options.logger);

  const verify = async (
    users: Map<string, string>,
    user: string,
    password: string,
    client: string,
    signal: AbortSignal,
  ): Promise<boolean> => {
    const hash = lookUpHash(users, user);
    const key = createHash('sha256')
      .update(`${Buffer.byteLength(user)}:${user}`)
      .update('\0')
      .update(hash ?? '')
      .update('\0')
      .update(password)
      .digest('hex');
    if (hash !== undefined && cache.has(key)) return true;
    const matches = await queue.run(client, () => bcrypt.compare(password, hash ?? UNKNOWN_USER_HASH), signal);
    if (hash === undefined || !matches) return false;
    cache.add(key);
    return true;
  };

  return (req, res, next) => {
    const { basicAuthUsers } = source.current();
    if (basicAuthUsers.size === 0 || unprotected.has(rawPath(req))) {
      next();
      return;
    }
    const credentials = parseBasicAuth(req.headers.authorization);
    if (credentials === undefined) {
      options.logger?.debug(
        { remoteAddress: req.socket.remoteAddress, reason: 'no_credentials' },
        'basic auth rejected',
      );
      unauthorized(res);
      return;
    }
    // A client that hangs up while its check waits gives its turn away.
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    res.once('close', onClose);
    const remoteAddress = req.socket.remoteAddress ?? '';
    verify(basicAuthUsers, credentials.user, credentials.password, remoteAddress, gone.signal).then(
      (ok) => {
        res.off('close', onClose);
        if (ok) {
          next();
          return;
        }
        options.logger?.debug({ remoteAddress, reason: 'wrong_credentials' }, 'basic auth rejected');
        unauthorized(res);
      },
      (error: unknown) => {
        res.off('close', onClose);
        if (gone.signal.aborted) return;
        if (!(error instanceof AuthBusyError)) {
          next(error);
          return;
        }
        options.logger?.debug(
          { remoteAddress, reason: 'busy' },
          'basic auth refused: too many password checks waiting',
        );
        warnBusy();
        busy(res, error);
      },
    );
  };
}

/** Sets http_server_config.headers on every response, 401s and /healthz included. */
export function headersMiddleware(webConfig: WebConfig | WebConfigSource): RequestHandler {
  const source = asSource(webConfig);
  return (_req, res, next) => {
    for (const [name, value] of Object.entries(source.current().headers)) res.setHeader(name, value);
    next();
  };
}
