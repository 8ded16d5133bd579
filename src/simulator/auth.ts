/**
 * Reading the `Authorization` header the way the Zexa API does: exactly `Bearer <key>`, with a
 * case-sensitive scheme and one space. Anything else is rejected, so the exporter's tests catch
 * a client that would fail against the real API.
 */

export type ParsedAuthorization = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'bearer'; key: string };

// A key is one run of visible ASCII; the real API documents no other character set.
const BEARER = /^Bearer ([\x21-\x7e]+)$/;

/** Node keeps the first of repeated `Authorization` headers and trims whitespace around a value. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header === '') return { kind: 'missing' };
  const match = BEARER.exec(header);
  const key = match?.[1];
  return key === undefined ? { kind: 'malformed' } : { kind: 'bearer', key };
}

/** Whether `key` could ever be sent in a well-formed header; checked when accounts are added. */
export function isValidKey(key: string): boolean {
  return /^[\x21-\x7e]+$/.test(key);
}
