/**
 * The bodies the simulator sends, as pure functions. Error bodies have one shape, the one the
 * exporter is written against:
 *
 *     {"error": {"code": "unauthorized", "message": "…", "request_id": "req_…"}}
 *
 * and the same id goes in the `x-request-id` header of every response. No body or header is ever
 * built from the request, so a key can never be echoed.
 */

const ERROR_CODES: Readonly<Record<number, readonly [code: string, message: string]>> = {
  400: ['bad_request', 'The request could not be understood.'],
  401: ['unauthorized', 'The API key is missing, malformed or revoked.'],
  403: ['forbidden', "This API key's plan does not allow this request."],
  404: ['not_found', 'No such endpoint.'],
  405: ['method_not_allowed', 'Method not allowed on this endpoint.'],
  422: ['unprocessable_entity', 'The request was well-formed but could not be processed.'],
  429: ['rate_limited', 'Too many requests. Retry after the time given in Retry-After.'],
  500: ['internal_error', 'An internal error occurred. Please retry.'],
  502: ['bad_gateway', 'Bad gateway. Please retry.'],
  503: ['service_unavailable', 'The service is temporarily unavailable. Please retry.'],
  504: ['gateway_timeout', 'Gateway timeout. Please retry.'],
};

/** Messages that tell a client how its Authorization header was wrong, as the real API's do. */
export const AUTH_MESSAGES = {
  missing: "Missing Authorization header. Send 'Authorization: Bearer YOUR_API_KEY'.",
  malformed: "Malformed Authorization header. Expected exactly 'Bearer YOUR_API_KEY'.",
  rejected: 'Invalid or revoked API key.',
} as const;

export function errorBody(status: number, requestId: string, message?: string): string {
  const [code, defaultMessage] = ERROR_CODES[status] ?? ['error', 'The request failed.'];
  return JSON.stringify({ error: { code, message: message ?? defaultMessage, request_id: requestId } });
}

export function creditsBody(credits: number, currency: string): string {
  return JSON.stringify({ credits, currency });
}

/** A 200 body that is cut off mid-document, as from a proxy that dropped the connection's tail. */
export function invalidJsonBody(credits: number): string {
  return `{"credits":${credits},"currency":`;
}

export function missingCreditsBody(currency: string): string {
  return JSON.stringify({ currency });
}

export function stringCreditsBody(credits: number, currency: string): string {
  return JSON.stringify({ credits: String(credits), currency });
}

/**
 * Smallest `huge_body` size: above the longest head and tail below, whatever the balance and
 * currency (at most 64 characters), so any allowed size can be produced exactly.
 */
export const HUGE_BODY_MIN_BYTES = 1024;

/**
 * A valid JSON document of exactly `bytes` bytes, as a head, `fill` bytes of padding and a
 * tail, so it can be streamed from one reusable chunk instead of being built in memory.
 */
export function hugeBodyParts(
  bytes: number,
  credits: number,
  currency: string,
): { head: Buffer; fill: number; tail: Buffer } {
  const head = Buffer.from(`{"credits":${credits},"currency":${JSON.stringify(currency)},"padding":"`);
  const tail = Buffer.from('"}');
  return { head, fill: bytes - head.length - tail.length, tail };
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
