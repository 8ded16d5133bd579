/**
 * One answer of `GET /v1/credits` turned into Credits or into the ZexaApiError of its status:
 * pure, with no I/O, and table-tested. The request itself is in client.ts.
 *
 * Every string of the answer that is kept (currency, request id, message) passes one key check
 * first: one that holds the key, or any 8-character slice of it, refuses the whole answer as
 * `invalid_response`, and the log names the field without quoting it.
 */
import {
  ClientError,
  ForbiddenError,
  InvalidResponseError,
  RateLimitedError,
  ServerError,
  UnauthorizedError,
  type ZexaApiError,
  type ZexaErrorDetails,
} from './errors.js';
import { http } from '../lib/node-http.js';
import { containsKeySlice, keySlices } from '../lib/redact.js';
import { parseRetryAfter } from './retry-after.js';

export interface Credits {
  credits: number;
  currency: string;
  /** The `x-request-id` header (or a `request_id` in the body) of the answer, when there was one. */
  requestId: string | undefined;
}

const MESSAGE_EXCERPT_CHARS = 200;
const REQUEST_ID_CHARS = 128;

const MAX_ABS_CREDITS = 1e15;

/** A currency code, as Zexa sends it (USD): nothing else can ride in this field into a label. */
const CURRENCY = /^[A-Za-z0-9]{3,8}$/;

/**
 * What is wrong with a 200 answer's body, one phrase per field (none: it is valid). A body that
 * is not an object gets only the one phrase.
 */
function creditsBodyProblems(body: unknown): string[] {
  const record = asRecord(body);
  if (record === undefined) return ['expected an object with credits and currency'];
  const { credits, currency } = record;
  const problems: string[] = [];
  if (typeof credits !== 'number' || !Number.isFinite(credits)) problems.push('credits must be a finite number');
  else if (Math.abs(credits) > MAX_ABS_CREDITS) problems.push('credits must be between -1e15 and 1e15');
  if (typeof currency !== 'string') problems.push('currency must be a string');
  else if (!CURRENCY.test(currency)) problems.push('currency must be 3 to 8 letters or digits');
  return problems;
}

// Control and format characters (including bidi overrides and line separators) are dropped from
// anything the API sends that ends up in a log line, a label or the status page.
const CONTROL_CHARACTERS_GLOBAL = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

export type HttpHeaders = Record<string, string | string[] | undefined>;

export function firstHeader(headers: HttpHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

export type KeySlices = ReadonlySet<string>;
/**
 * The one key check of every string of the answer that is kept, on the text as it came (before any
 * mapping could hide an echo from the rule). The error names the field and never quotes it.
 */
function checkForKey(text: string, field: string, status: number, slices: KeySlices): string {
  if (!containsKeySlice(text, slices)) return text;
  throw new InvalidResponseError(
    `${answered(status, undefined)}: its ${field} holds the API key or part of it; the answer is refused and the field is not shown`,
    { status },
  );
}

/** Printable text only, whitespace collapsed, then capped. */
function sanitize(text: string, maxChars: number): string {
  const clean = text.replace(CONTROL_CHARACTERS_GLOBAL, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(clean);
  return chars.length <= maxChars ? clean : `${chars.slice(0, maxChars).join('')}…`;
}

export function cleanRequestId(value: unknown, field: string, status: number, slices: KeySlices): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string') return undefined;
  const clean = sanitize(checkForKey(value, field, status, slices), REQUEST_ID_CHARS);
  return clean === '' ? undefined : clean;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // The SyntaxError quotes the body, so it is dropped rather than kept as a cause.
    return { ok: false };
  }
}

export function answered(status: number, requestId: string | undefined): string {
  const text = http.STATUS_CODES[status];
  return (
    `Zexa API answered ${status}${text === undefined ? '' : ` ${text}`}` +
    (requestId === undefined ? '' : ` (request_id ${requestId})`)
  );
}

/** `request_id` at the top level, then under `error`, then the `x-request-id` header. */
function findRequestId(body: unknown, headers: HttpHeaders, status: number, slices: KeySlices): string | undefined {
  const top = asRecord(body);
  return (
    cleanRequestId(top?.request_id, 'request_id', status, slices) ??
    cleanRequestId(asRecord(top?.error)?.request_id, 'error.request_id', status, slices) ??
    cleanRequestId(firstHeader(headers, 'x-request-id'), 'x-request-id header', status, slices)
  );
}

function findMessage(body: unknown, status: number, slices: KeySlices): string | undefined {
  const top = asRecord(body);
  const error = top?.error;
  const candidates: [string, unknown][] = [
    ['error.message', asRecord(error)?.message],
    ['message', top?.message],
    ['error', typeof error === 'string' ? error : undefined],
    ['detail', top?.detail],
  ];
  for (const [field, candidate] of candidates) {
    if (typeof candidate !== 'string') continue;
    const clean = sanitize(checkForKey(candidate, field, status, slices), MESSAGE_EXCERPT_CHARS);
    if (clean !== '') return clean;
  }
  return undefined;
}

export interface ParseOptions {
  /** The keys (the one sent) that no kept string of the answer may hold, whole or in part. */
  keys?: readonly string[];
}

/**
 * Turns one answer of `GET /v1/credits` into Credits (200 with a valid body) or throws the
 * ZexaApiError of its status. `nowMs` (wall clock) resolves a `Retry-After` HTTP date.
 */
export function parseCreditsResponse(
  response: { status: number; headers: HttpHeaders; body: string },
  nowMs: number,
  options: ParseOptions = {},
): Credits {
  const { status, headers } = response;
  const slices = keySlices(options.keys ?? []);
  const json = parseJson(response.body);
  const body = json.ok ? json.value : undefined;
  const requestId = findRequestId(body, headers, status, slices);
  const head = answered(status, requestId);

  if (status === 200) {
    if (!json.ok) {
      throw new InvalidResponseError(`${head} with a body that is not JSON`, { status, requestId });
    }
    // Before the format check, so that the log says "holds the API key" for a whole key too.
    const currency = asRecord(body)?.currency;
    if (typeof currency === 'string') checkForKey(currency, 'currency', status, slices);
    const problems = creditsBodyProblems(body);
    if (problems.length > 0) {
      throw new InvalidResponseError(`${head} with an unexpected body: ${problems.join('; ')}`, { status, requestId });
    }
    const valid = body as { credits: number; currency: string };
    return { credits: valid.credits, currency: valid.currency, requestId };
  }

  const retryAfterMs = parseRetryAfter(firstHeader(headers, 'retry-after'), nowMs);
  const details: ZexaErrorDetails = { status, requestId, retryAfterMs };
  const excerpt = findMessage(body, status, slices);
  const said = excerpt === undefined ? '' : `; the API said: "${excerpt}"`;
  const wait = retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`;

  if (status === 401) {
    return throwError(new UnauthorizedError(`${head}: the key is missing, malformed or revoked${said}`, details));
  }
  if (status === 403) {
    return throwError(
      new ForbiddenError(`${head}: the key is valid but the account's plan does not allow this call${said}`, details),
    );
  }
  if (status === 429) {
    return throwError(new RateLimitedError(`${head}: rate limited${wait}${said}`, details));
  }
  if (status >= 500 && status <= 599) {
    return throwError(new ServerError(`${head}: server error${wait}${said}`, details));
  }
  if (status >= 400 && status <= 499) {
    return throwError(new ClientError(`${head}: the request was rejected; check the API URL${said}`, details));
  }
  if (status >= 300 && status <= 399) {
    // Redirects are not followed: the key must only ever be sent to the configured URL.
    return throwError(
      new InvalidResponseError(`${head}: a redirect, which is not followed; check the API URL`, details),
    );
  }
  return throwError(new InvalidResponseError(`${head}: expected 200 with the balance`, details));
}

function throwError(error: ZexaApiError): never {
  throw error;
}
