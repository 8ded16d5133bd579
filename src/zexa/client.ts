/**
 * The one HTTP call the exporter makes: `GET {base}/v1/credits` with a key, turned into Credits or
 * into the ZexaApiError of its reason. The I/O (`createZexaClient`) is kept apart from the parsing
 * (`parseCreditsResponse` in parse.ts; `Retry-After` in retry-after.ts), which is pure and table-tested.
 *
 * Secrets: the key goes into the Authorization header and nowhere else. Messages are built from
 * fixed text, status codes, request ids and a short, sanitized excerpt of an error body's
 * `message`; the raw body and undici's request options are never part of an error. Every string
 * of the answer that is kept (currency, request id, message) passes one key check first: one that
 * holds the key, or any 8-character slice of it, refuses the whole answer as `invalid_response`.
 */
import type { Dispatcher } from 'undici';
import { request } from './undici.js';
import { createProxyAgent } from './proxy.js';
import { abortReason, type Clock } from '../lib/clock.js';
import {
  InvalidResponseError,
  KeyUnavailableError,
  NetworkError,
  TimeoutError,
  ZexaApiError,
  type ZexaErrorDetails,
} from './errors.js';
import { isSendableKey } from './bearer.js';
import { errorCode, outOfDescriptors } from '../lib/errno.js';
import { keySlices } from '../lib/redact.js';
import { answered, cleanRequestId, firstHeader, parseCreditsResponse, type Credits, type KeySlices } from './parse.js';

export interface AttemptObservation {
  /** The HTTP status as a string, or 'error' when no response (status line) arrived. */
  code: string;
  durationSeconds: number;
}

export interface ZexaClientOptions {
  /** Validated already: http(s), no credentials, no trailing slash. */
  baseUrl: string;
  /** Deadline of the whole request: connect, headers and body. */
  timeoutMs: number;
  dispatcher: Dispatcher;
  /** `zexa-exporter/<version>`. */
  userAgent: string;
  /** Used for durations (monotonic) and for `Retry-After` dates (wall clock). */
  clock: Clock;
  /** Largest body read; a larger 2xx body is `invalid_response`. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Called once per HTTP attempt, for `zexa_api_requests_total` and the duration histogram. */
  onAttempt?: (observation: AttemptObservation) => void;
}

export interface ZexaClient {
  /**
   * Makes ONE attempt. Rejects with the ZexaApiError of the failure, with KeyUnavailableError
   * (nothing sent) when the key cannot be put into a header, or with `signal`'s reason when
   * `signal` aborts (shutdown).
   */
  fetchCredits(key: string, signal?: AbortSignal): Promise<Credits>;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const CREDITS_PATH = '/v1/credits';

// undici error codes; anything else without an HTTP answer is a network failure.
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const TOO_LARGE_CODE = 'UND_ERR_RES_EXCEEDED_MAX_SIZE';

function requirePositive(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
}

/**
 * The dispatcher of the real exporter: one keep-alive pool per origin, undici's own timeouts set
 * from the request timeout (a second line behind the client's whole-request deadline), and
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured by curl's rules (proxy.ts), lower case winning
 * over upper case.
 * `env` defaults to `process.env`; when given it is the only source (undici would otherwise fall
 * back to process.env for unset variables).
 */
export function createDispatcher(options: { timeoutMs: number; env?: Record<string, string | undefined> }): Dispatcher {
  requirePositive('timeoutMs', options.timeoutMs);
  // undici wants whole milliseconds.
  const timeoutMs = Math.ceil(options.timeoutMs);
  const env = options.env ?? process.env;
  const pick = (name: string): string => {
    for (const variable of [name.toLowerCase(), name]) {
      const value = env[variable]?.trim();
      if (value !== undefined && value !== '') {
        if (name !== 'NO_PROXY') checkProxyUrl(variable, value);
        return value;
      }
    }
    return '';
  };
  const proxies = { httpProxy: pick('HTTP_PROXY'), httpsProxy: pick('HTTPS_PROXY'), noProxy: pick('NO_PROXY') };
  return createProxyAgent(proxies, {
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // The poll interval is usually longer than a server keeps an idle connection; undici follows
    // the server's `Keep-Alive: timeout` hint up to this bound and reconnects when needed.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
  });
}

function checkProxyUrl(variable: string, value: string): void {
  // The value is not echoed: proxy URLs often carry user:password.
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`${variable} is not a URL; expected e.g. http://proxy.example:3128`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`${variable} must be an http:// or https:// URL, got a ${url.protocol} URL`);
  }
}

/** The credits URL and the body cap; throws RangeError on an option no request could use. */
function checkClientOptions(options: ZexaClientOptions): { url: URL; maxBodyBytes: number } {
  requirePositive('timeoutMs', options.timeoutMs);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new RangeError(`maxBodyBytes must be a positive integer, got ${String(maxBodyBytes)}`);
  }
  if (options.userAgent.trim() === '') throw new RangeError('userAgent must not be empty');
  const url = new URL(`${options.baseUrl}${CREDITS_PATH}`);
  if (url.username !== '' || url.password !== '') {
    throw new RangeError('baseUrl must not contain credentials');
  }
  return { url, maxBodyBytes };
}

/** Throws KeyUnavailableError (nothing is sent) for a key that cannot go into a header. */
function checkSendableKey(key: string): void {
  if (key === '') throw new KeyUnavailableError('the API key is empty');
  if (!isSendableKey(key)) {
    throw new KeyUnavailableError(
      'the API key contains characters that cannot be sent in an HTTP header (only visible ASCII is allowed)',
    );
  }
}

/** Reads an answer's body within the cap and turns it into Credits or the error of its reason. */
async function creditsOf(
  response: Dispatcher.ResponseData,
  key: string,
  maxBodyBytes: number,
  clock: Clock,
): Promise<Credits> {
  const isSuccess = response.statusCode >= 200 && response.statusCode < 300;
  const declaredLength = Number(firstHeader(response.headers, 'content-length') ?? NaN);
  if (isSuccess && declaredLength > maxBodyBytes) {
    discard(response.body);
    throw tooLarge(response.statusCode, response.headers, maxBodyBytes, keySlices([key]));
  }
  const body = await readCapped(response.body, maxBodyBytes);
  if (isSuccess && body.truncated) {
    throw tooLarge(response.statusCode, response.headers, maxBodyBytes, keySlices([key]));
  }
  return parseCreditsResponse(
    { status: response.statusCode, headers: response.headers, body: body.text },
    clock.now(),
    {
      keys: [key],
    },
  );
}

export function createZexaClient(options: ZexaClientOptions): ZexaClient {
  const { url, maxBodyBytes } = checkClientOptions(options);
  const { clock, dispatcher, timeoutMs, userAgent, onAttempt } = options;
  const host = url.host;

  const observe = (code: string, startedAt: number): void => {
    if (onAttempt === undefined) return;
    try {
      onAttempt({ code, durationSeconds: Math.max(0, clock.monotonic() - startedAt) / 1000 });
    } catch {
      // An observer (metrics) must never change the outcome of a request.
    }
  };

  async function fetchCredits(key: string, signal?: AbortSignal): Promise<Credits> {
    if (signal?.aborted) throw abortReason(signal);
    checkSendableKey(key);

    // Own timer and controller instead of AbortSignal.timeout/any: undici's timeouts fire with
    // about 1 s resolution, and AbortSignal.any keeps composite signals alive on a long-lived
    // shutdown signal (https://github.com/nodejs/node/issues/55351), one per poll.
    const controller = new AbortController();
    // Made only when it fires: an Error captures a stack, which every successful poll would pay for.
    let deadline: Error | undefined;
    const timer = setTimeout(() => {
      deadline = new Error('request deadline reached');
      controller.abort(deadline);
    }, timeoutMs);
    const onShutdown = (): void => controller.abort(abortReason(signal as AbortSignal));
    signal?.addEventListener('abort', onShutdown, { once: true });

    const startedAt = clock.monotonic();
    let code = 'error';
    try {
      const response = await request(url, {
        method: 'GET',
        dispatcher,
        signal: controller.signal,
        headers: {
          authorization: `Bearer ${key}`,
          accept: 'application/json',
          'user-agent': userAgent,
        },
      });
      code = String(response.statusCode);
      return await creditsOf(response, key, maxBodyBytes, clock);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (error instanceof ZexaApiError) throw error;
      if (deadline !== undefined) {
        throw new TimeoutError(
          `Zexa API at ${host} did not answer within ${timeoutMs} ms (connect, headers and body)`,
          { cause: deadline },
        );
      }
      throw toZexaError(error, host);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onShutdown);
      observe(code, startedAt);
    }
  }

  return { fetchCredits };
}

function tooLarge(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  maxBodyBytes: number,
  slices: KeySlices,
): InvalidResponseError {
  const requestId = cleanRequestId(firstHeader(headers, 'x-request-id'), 'x-request-id header', status, slices);
  return new InvalidResponseError(`${answered(status, requestId)}: the body is larger than ${maxBodyBytes} bytes`, {
    status,
    requestId,
  });
}

type ResponseBody = Dispatcher.ResponseData['body'];

/** Aborts the rest of a body. The error undici emits for that is expected, not a crash. */
function discard(body: ResponseBody): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function readCapped(body: ResponseBody, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    if (size + buffer.length > maxBytes) {
      chunks.push(buffer.subarray(0, maxBytes - size));
      // Stop reading now: destroying the body aborts the request and closes the connection, so
      // a huge body is never buffered.
      discard(body);
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buffer);
    size += buffer.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function toZexaError(error: unknown, host: string): ZexaApiError {
  const code = errorCode(error);
  const details: ZexaErrorDetails = { cause: error };
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new TimeoutError(`Zexa API at ${host} timed out (${code})`, details);
  }
  if (code === TOO_LARGE_CODE) {
    return new InvalidResponseError(`Zexa API at ${host} sent a body larger than allowed (${code})`, details);
  }
  // No socket for lack of file descriptors: a `network` failure (retried; the pressure usually
  // passes), named as what it is so that nobody looks for the fault at the API or in the network.
  const descriptors = outOfDescriptors(error);
  if (descriptors !== undefined) {
    return new NetworkError(
      `Zexa API at ${host} could not be reached: ${descriptors}; lower --web.max-connections or raise ulimit -n`,
      details,
    );
  }
  return new NetworkError(`Zexa API at ${host} could not be reached (${code ?? 'no response'})`, details);
}

// ---------------------------------------------------------------------------------------------
// Parsing: pure.

/**
 * The largest balance, either sign, taken as real. Zexa balances are integers of messages; 1e15 is
 * far beyond any real account and below 2^53 (about 9.007e15), so every balance in range, and the
 * difference of two of them, is an exact integer in a double. A value beyond it (1e308 from a
 * broken upstream or a hostile proxy) would otherwise be counted into
 * `zexa_credits_added_total`/`zexa_credits_consumed_total` and pin them at 1e308 or +Inf for good.
 */
