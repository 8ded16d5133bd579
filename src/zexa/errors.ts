/**
 * One class per way a poll of `/v1/credits` can fail, all extending PollError. Each maps to
 * exactly one `reason`, the value of the `reason` label of `zexa_poll_errors_total` and the word
 * the status page and the logs use. Messages never contain an API key: they are built from status
 * codes, request ids and fixed text only.
 */

/** The reasons the API's answer (or the way to it) gives. */
export type ApiErrorReason =
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'server_error'
  | 'client_error'
  | 'timeout'
  | 'network'
  | 'invalid_response';

/** Every value of the `reason` label: the API's outcomes plus the local `key_unavailable` and `too_many_open_files`. */
export type PollErrorReason = ApiErrorReason | 'key_unavailable' | 'too_many_open_files';

/**
 * Base class: any failure of one poll, whether the request failed (ZexaApiError) or the key could
 * not be read before it (KeyUnavailableError, TooManyOpenFilesError). A caller catches this one
 * type and reads `reason`.
 */
export abstract class PollError extends Error {
  abstract readonly reason: PollErrorReason;
}

export interface ZexaErrorDetails {
  /** HTTP status, when a response arrived. */
  status?: number;
  /** The `request_id` of the error body or the `x-request-id` header; Zexa support asks for it. */
  requestId?: string;
  /** How long the API asked us to wait (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Base class: any failure of one request to the Zexa API. */
export abstract class ZexaApiError extends PollError {
  abstract override readonly reason: ApiErrorReason;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: ZexaErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** Thrown on 401: the key is missing, malformed or revoked. Never retried. */
export class UnauthorizedError extends ZexaApiError {
  readonly reason = 'unauthorized' as const;
}

/** Thrown on 403: the key is valid but the account's plan does not allow the call. Never retried. */
export class ForbiddenError extends ZexaApiError {
  readonly reason = 'forbidden' as const;
}

/** Thrown on 429. Retried, after `Retry-After` when the API sent one. */
export class RateLimitedError extends ZexaApiError {
  readonly reason = 'rate_limited' as const;
}

/** Thrown on any 5xx. Retried (503 honours `Retry-After`). */
export class ServerError extends ZexaApiError {
  readonly reason = 'server_error' as const;
}

/** Thrown on a 4xx other than 401, 403 and 429. Never retried: asking again gets the same answer. */
export class ClientError extends ZexaApiError {
  readonly reason = 'client_error' as const;
}

/** Thrown when connecting, the headers or the body took longer than the request timeout. Retried. */
export class TimeoutError extends ZexaApiError {
  readonly reason = 'timeout' as const;
}

/** Thrown when no HTTP response came: DNS failure, connection refused or reset. Retried. */
export class NetworkError extends ZexaApiError {
  readonly reason = 'network' as const;
}

/**
 * Thrown when a 2xx body is not what the API documents: not JSON, `credits` missing or not a
 * finite number, `currency` missing or empty, or a body larger than the size cap. Never retried.
 */
export class InvalidResponseError extends ZexaApiError {
  readonly reason = 'invalid_response' as const;
}

/**
 * Thrown before any request when an account's key cannot be read at poll time: its file vanished,
 * became unreadable or empty after start, or holds whitespace inside the key. Nothing is sent to
 * the API; the poll fails with reason `key_unavailable` (a reason of our own, next to the API's).
 */
export class KeyUnavailableError extends PollError {
  readonly reason = 'key_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyUnavailableError';
  }
}

/**
 * Thrown before any request when a key file cannot be opened because the process (EMFILE) or the
 * system (ENFILE) has no file descriptor left: not the key's fault, so not `key_unavailable`.
 * Usually too many open connections; see `--web.max-connections`. The poll fails with reason
 * `too_many_open_files`, the last balance is kept, and the next poll tries again.
 */
export class TooManyOpenFilesError extends PollError {
  readonly reason = 'too_many_open_files' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TooManyOpenFilesError';
  }
}
