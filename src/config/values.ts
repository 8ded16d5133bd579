/**
 * Pure parsers of single setting values (durations, addresses, shards, numbers, URLs), shared by
 * flags, environment and the config file. Each throws an Error whose message is the problem line
 * after the `where:` prefix; no message quotes more than LIMITS.echoChars of a value.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { LIMITS } from './limits.js';
import { LOG_LEVELS } from './types.js';
import type { LogLevel } from '../lib/logger.js';

/** A value as it may be quoted in a message: JSON-quoted and cut at LIMITS.echoChars. */
export function quote(text: string): string {
  return text.length > LIMITS.echoChars ? `${JSON.stringify(text.slice(0, LIMITS.echoChars))}…` : JSON.stringify(text);
}

function show(value: string | number): string {
  return typeof value === 'number' ? String(value) : quote(value);
}

/** What a YAML value is, for messages that must not echo it. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return 'a number';
  return 'a string';
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_ORDER = ['d', 'h', 'm', 's', 'ms'];
const DURATION_EXPECTED = '(expected e.g. 90, 30s, 5m)';

/**
 * A duration in milliseconds. A bare number is seconds (`90`, `2.5`); otherwise one or more
 * number+unit parts from the largest unit down, each unit at most once: `500ms`, `30s`, `5m`,
 * `1h30m`, `1d`. Throws on anything else, including signs, spaces and unit-less compounds.
 */
export function parseDuration(text: string): number {
  const garbage = (): Error => new Error(`${quote(text)} is not a duration ${DURATION_EXPECTED}`);
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw garbage();
    ms = 0;
    let previous = -1;
    for (const [, amount, unit] of parts) {
      const rank = DURATION_ORDER.indexOf(unit ?? '');
      if (rank <= previous) throw garbage();
      previous = rank;
      ms += Number(amount) * (DURATION_UNITS_MS[unit ?? ''] ?? Number.NaN);
    }
  }
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) throw new Error(`${quote(text)} is too long a duration`);
  return Math.round(ms);
}

/** Milliseconds as a short duration in the unit a person would write: 500ms, 10s, 60s, 5m, 24h. */
export function formatDurationMs(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 120 || s % 60 !== 0) return `${s}s`;
  const m = s / 60;
  if (m < 120 || m % 60 !== 0) return `${m}m`;
  return `${m / 60}h`;
}

const LISTEN_EXPECTED = '(expected [host]:port, e.g. :10025, 0.0.0.0:10025, [::1]:10025)';
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * `[host]:port`: `:10025` (every interface), `0.0.0.0:10025`, `[::1]:10025`, `localhost:9000`.
 * Port 0 asks the OS for a free port. IPv6 addresses need brackets.
 */
export function parseListenAddress(text: string): { host: string | undefined; port: number } {
  const bad = (why: string): Error => new Error(`${quote(text)} ${why} ${LISTEN_EXPECTED}`);
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw bad('has no port');
  let host: string | undefined = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (!isIPv6(host)) throw bad('is not a valid IPv6 address in brackets');
  } else if (host.includes(':')) {
    throw bad('needs brackets around an IPv6 address');
  } else if (host === '') {
    host = undefined;
  } else if (!isIPv4(host) && !HOSTNAME.test(host)) {
    throw bad('does not have a valid host name');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) throw bad('does not have a port from 0 to 65535');
  return { host, port: Number(portText) };
}

/** `INDEX/COUNT`, 0-based: `0/2` and `1/2` split the accounts between two replicas. */
export function parseShard(text: string): { index: number; count: number } {
  const expected = `(expected INDEX/COUNT with 0 <= INDEX < COUNT <= ${LIMITS.shardCount.max}, e.g. 1/2)`;
  const match = /^(\d{1,5})\/(\d{1,5})$/.exec(text);
  if (match === null) throw new Error(`${quote(text)} is not a shard ${expected}`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > LIMITS.shardCount.max || index >= count)
    throw new Error(`${quote(text)} is out of range ${expected}`);
  return { index, count };
}

export function parseInteger(raw: string | number, min: number, max: number): number {
  const expected = `(expected an integer from ${min} to ${max})`;
  const value = typeof raw === 'number' ? raw : /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value)) throw new Error(`${show(raw)} is not an integer ${expected}`);
  if (value < min || value > max) throw new Error(`${show(raw)} is out of range ${expected}`);
  return value;
}

export function parseNumber(raw: string | number, expected: string, check: (n: number) => boolean): number {
  const value = typeof raw === 'number' ? raw : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) throw new Error(`${show(raw)} is not a number ${expected}`);
  if (!check(value)) throw new Error(`${show(raw)} is out of range ${expected}`);
  return value;
}

export function parseDurationIn(raw: string | number, bounds: { min: number; max: number }): number {
  const ms =
    typeof raw === 'number' ? (Number.isFinite(raw) ? Math.round(raw * 1000) : Number.NaN) : parseDuration(raw);
  if (Number.isNaN(ms)) throw new Error(`${show(raw)} is not a duration ${DURATION_EXPECTED}`);
  if (ms < bounds.min) throw new Error(`${show(raw)} is too short (at least ${formatDurationMs(bounds.min)})`);
  if (ms > bounds.max) throw new Error(`${show(raw)} is too long (at most ${formatDurationMs(bounds.max)})`);
  return ms;
}

/**
 * The API base URL: http or https, no user:password@ (the key is the only credential), no query
 * or fragment (the client appends /v1/credits), trailing slashes removed. Values that carry
 * credentials or a query are not echoed: both are where secrets hide.
 */
export function parseApiUrl(raw: string | number): string {
  const text = String(raw);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      /[@?#]/.test(text)
        ? 'is not a valid URL (expected e.g. https://api.zexa.ao)'
        : `${quote(text)} is not a valid URL (expected e.g. https://api.zexa.ao)`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new Error('must not contain credentials (user:password@); the key goes in ZEXA_API_KEY or ZEXA_API_KEY_FILE');
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(text))
    throw new Error('must not contain a query string or fragment');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`has scheme ${quote(url.protocol.slice(0, -1))} (expected http or https)`);
  }
  return url.href.replace(/\/+$/, '');
}

export function parseLogLevel(raw: string | number): LogLevel {
  const found = LOG_LEVELS.find((level) => level === raw);
  if (found === undefined)
    throw new Error(`${show(raw)} is not a log level (expected one of ${LOG_LEVELS.join(', ')})`);
  return found;
}

export function parsePath(raw: string | number): string {
  const text = String(raw);
  if (text === '') throw new Error('is empty (expected a file path)');
  if (text.includes('\0')) throw new Error('contains a NUL character (expected a file path)');
  return text;
}
