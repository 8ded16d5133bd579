/**
 * Configuration: command-line flags, environment and an optional YAML file become one validated
 * Config. Precedence: flag > environment > config file > default. Every default lives in
 * DEFAULTS below and nowhere else. Loading never returns a partial Config: it throws a
 * ConfigError listing every problem, one line each, naming the variable, flag or field.
 * No message ever contains a key.
 *
 * Loading is a pure function of ConfigSources (argv, env, readFile, readDir), so the same code
 * serves start-up, SIGHUP / POST /-/reload and the tests; `nodeConfigSources` wires the real
 * process and file system.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type ErrorCode } from 'yaml';
import { z } from 'zod';
import { ConfigError, KeyUnavailableError } from './errors.js';
import { MAX_SHARD_COUNT } from './shard.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface Thresholds {
  warning: number;
  critical: number;
}

/** Where an account's key lives. The key itself is never part of a Config. */
export type KeySource =
  /** An environment variable, e.g. ZEXA_API_KEY or ZEXA_API_KEY_STAGING. */
  | { kind: 'env'; variable: string }
  /**
   * A file, re-read at every poll so a rotated key is used without a restart. `origin` says
   * where the path came from (e.g. `ZEXA_API_KEY_FILE`, `accounts[0].apiKeyFile in config.yml`).
   */
  | { kind: 'file'; path: string; origin: string };

export interface AccountConfig {
  /** `[a-z0-9_]{1,64}`, unique. */
  name: string;
  key: KeySource;
  thresholds: Thresholds;
}

export interface Config {
  api: {
    /** Base URL without trailing slash, http or https, no credentials. */
    url: string;
    timeoutMs: number;
  };
  poll: {
    intervalMs: number;
    maxConcurrency: number;
    /** Attempts per poll, the first included. */
    maxAttempts: number;
    /** Cap on requests per second across all accounts; undefined = no cap beyond spreading. */
    maxRequestsPerSecond: number | undefined;
  };
  /** Defaults for accounts that set none. */
  thresholds: Thresholds;
  accounts: AccountConfig[];
  web: {
    /** As given, e.g. ":10025" or "127.0.0.1:9999" or "[::1]:10025". */
    listenAddress: string;
    /** undefined = every interface. */
    host: string | undefined;
    port: number;
    /** exporter-toolkit web config file (TLS, basic auth), if any. */
    configFile: string | undefined;
  };
  log: { level: LogLevel };
  /** Shard this replica polls, if any: INDEX/COUNT with 0 <= index < count. */
  shard: { index: number; count: number } | undefined;
  /** The YAML file the config was read from, if any (reloaded on SIGHUP and POST /-/reload). */
  configFile: string | undefined;
}

/** What loading reads from the outside world; injected so tests need no real process state. */
export interface ConfigSources {
  /** Command-line arguments after the program name (process.argv.slice(2)). */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole file as UTF-8; throws like fs.readFileSync. */
  readFile(path: string): string;
  /** Lists a directory's entries; throws like fs.readdirSync. */
  readDir(path: string): string[];
}

/** Every default, in one place. */
export const DEFAULTS = {
  api: { url: 'https://api.zexa.ao', timeoutMs: 10_000 },
  poll: { intervalMs: 60_000, maxConcurrency: 8, maxAttempts: 3, maxRequestsPerSecond: undefined },
  thresholds: { warning: 1000, critical: 100 },
  web: { listenAddress: ':10025', configFile: undefined },
  log: { level: 'info' },
  shard: undefined,
  configFile: undefined,
  /** The account that ZEXA_API_KEY / ZEXA_API_KEY_FILE configure. */
  accountName: 'default',
} as const satisfies {
  api: Config['api'];
  poll: Config['poll'];
  thresholds: Thresholds;
  web: Pick<Config['web'], 'listenAddress' | 'configFile'>;
  log: Config['log'];
  shard: Config['shard'];
  configFile: Config['configFile'];
  accountName: string;
};

/** The bounds every value is checked against. */
export const LIMITS = {
  intervalMs: { min: 5_000, max: 86_400_000 },
  timeoutMs: { min: 1_000, max: 300_000 },
  maxConcurrency: { min: 1, max: 1024 },
  maxAttempts: { min: 1, max: 10 },
  maxRequestsPerSecond: { max: 100_000 },
  threshold: { max: Number.MAX_SAFE_INTEGER },
  shardCount: { max: MAX_SHARD_COUNT },
  /** Config files and key files larger than this are refused before they are parsed. */
  fileBytes: 1024 * 1024,
  /** Far above any real API key; a bigger "key file" is the wrong file. */
  keyChars: 4096,
  /** Longest value echoed back in a message. */
  echoChars: 64,
} as const;

const ACCOUNT_NAME = /^[a-z0-9_]{1,64}$/;
const ACCOUNT_NAME_RULE = '1 to 64 characters of a-z, 0-9 and _';
const KEY_ENV_PREFIX = 'ZEXA_API_KEY';
const FILE_SUFFIX = '_FILE';

// ---------------------------------------------------------------------------------------------
// --help and --version

/**
 * Thrown by loadConfig when the command line asks for --help or -h (before any other check, so
 * help works in a broken environment). The caller prints usage() and exits 0.
 */
export class HelpRequested extends Error {
  constructor() {
    super('--help requested');
    this.name = 'HelpRequested';
  }
}

/** Thrown by loadConfig when the command line asks for --version. The caller prints the version, exits 0. */
export class VersionRequested extends Error {
  constructor() {
    super('--version requested');
    this.name = 'VersionRequested';
  }
}

// ---------------------------------------------------------------------------------------------
// Pure value parsers (exported and table-tested)

/** A value as it may be quoted in a message: JSON-quoted and cut at LIMITS.echoChars. */
function quote(text: string): string {
  return text.length > LIMITS.echoChars ? `${JSON.stringify(text.slice(0, LIMITS.echoChars))}…` : JSON.stringify(text);
}

function show(value: string | number): string {
  return typeof value === 'number' ? String(value) : quote(value);
}

/** What a YAML value is, for messages that must not echo it. */
function kindOf(value: unknown): string {
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
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 120 || s % 60 !== 0) return `${s}s`;
  const m = s / 60;
  if (m < 120 || m % 60 !== 0) return `${m}m`;
  return `${m / 60}h`;
}

const LISTEN_EXPECTED = '(expected [host]:port, e.g. :10025, 0.0.0.0:10025, [::1]:10025)';
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

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
  if (count < 1 || count > LIMITS.shardCount.max || index >= count) throw new Error(`${quote(text)} is out of range ${expected}`);
  return { index, count };
}

function parseInteger(raw: string | number, min: number, max: number): number {
  const expected = `(expected an integer from ${min} to ${max})`;
  const value = typeof raw === 'number' ? raw : /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value)) throw new Error(`${show(raw)} is not an integer ${expected}`);
  if (value < min || value > max) throw new Error(`${show(raw)} is out of range ${expected}`);
  return value;
}

function parseNumber(raw: string | number, expected: string, check: (n: number) => boolean): number {
  const value = typeof raw === 'number' ? raw : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) throw new Error(`${show(raw)} is not a number ${expected}`);
  if (!check(value)) throw new Error(`${show(raw)} is out of range ${expected}`);
  return value;
}

function parseDurationIn(raw: string | number, bounds: { min: number; max: number }): number {
  const ms = typeof raw === 'number' ? (Number.isFinite(raw) ? Math.round(raw * 1000) : Number.NaN) : parseDuration(raw);
  if (Number.isNaN(ms)) throw new Error(`${show(raw)} is not a duration ${DURATION_EXPECTED}`);
  if (ms < bounds.min) throw new Error(`${show(raw)} is too short (at least ${formatDuration(bounds.min)})`);
  if (ms > bounds.max) throw new Error(`${show(raw)} is too long (at most ${formatDuration(bounds.max)})`);
  return ms;
}

/**
 * The API base URL: http or https, no user:password@ (the key is the only credential), no query
 * or fragment (the client appends /v1/credits), trailing slashes removed. Values that carry
 * credentials or a query are not echoed: both are where secrets hide.
 */
function parseApiUrl(raw: string | number): string {
  const text = String(raw);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(/[@?#]/.test(text) ? 'is not a valid URL (expected e.g. https://api.zexa.ao)' : `${quote(text)} is not a valid URL (expected e.g. https://api.zexa.ao)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new Error('must not contain credentials (user:password@); the key goes in ZEXA_API_KEY or ZEXA_API_KEY_FILE');
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(text)) throw new Error('must not contain a query string or fragment');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`has scheme ${quote(url.protocol.slice(0, -1))} (expected http or https)`);
  }
  return url.href.replace(/\/+$/, '');
}

function parseLogLevel(raw: string | number): LogLevel {
  const found = LOG_LEVELS.find((level) => level === raw);
  if (found === undefined) throw new Error(`${show(raw)} is not a log level (expected one of ${LOG_LEVELS.join(', ')})`);
  return found;
}

function parsePath(raw: string | number): string {
  const text = String(raw);
  if (text === '') throw new Error('is empty (expected a file path)');
  if (text.includes('\0')) throw new Error('contains a NUL character (expected a file path)');
  return text;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** First 12 hex digits of the key's SHA-256: enough to tell keys apart in a log, useless to an attacker. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeKeySource(account: AccountConfig): string {
  return account.key.kind === 'env'
    ? `environment variable ${account.key.variable} (key of account "${account.name}")`
    : `key file ${account.key.path} of account "${account.name}" (from ${account.key.origin})`;
}

/** Why `key` is unusable, or undefined when it is fine. Never includes the key. */
function keyDefect(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (key.length > LIMITS.keyChars) return `is longer than ${LIMITS.keyChars} characters; it does not hold just a key`;
  // A Bearer token is printable ASCII; anything else would be mangled or rejected in the header.
  if (!/^[\x21-\x7e]+$/.test(key)) return 'contains whitespace, control or non-ASCII characters';
  return undefined;
}

function fileReadDefect(error: unknown): string {
  switch (errorCode(error)) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EFBIG':
      return `is larger than ${LIMITS.fileBytes / 1024 / 1024} MiB`;
    case 'ENOTDIR':
      return 'is not reachable (a part of its path is not a directory)';
    default:
      return `cannot be read (${errorCode(error) ?? 'read error'})`;
  }
}

/**
 * Reads an account's key now. Key files are read at every call (so a rotated key is picked up
 * at the next poll) and lose ONE trailing newline (`\n` or `\r\n`), which editors and
 * `echo` add. Throws KeyUnavailableError, whose message names the file or variable and never
 * the key, when the source is missing, unreadable, empty, or the key holds whitespace or
 * control characters.
 */
export function readAccountKey(account: AccountConfig, env: ConfigSources['env'], readFile: (p: string) => string): string {
  const where = describeKeySource(account);
  let key: string;
  if (account.key.kind === 'env') {
    const value = env[account.key.variable];
    if (value === undefined) throw new KeyUnavailableError(`${where} is not set`);
    key = value;
  } else {
    let text: string;
    try {
      text = readFile(account.key.path);
    } catch (error) {
      throw new KeyUnavailableError(`${where} ${fileReadDefect(error)}`, { cause: error });
    }
    key = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
    if (key !== '' && key.trim() === '') key = '';
  }
  const defect = keyDefect(key);
  if (defect !== undefined) {
    const hint = account.key.kind === 'file' && defect.startsWith('contains') ? ' (only one trailing newline is allowed)' : '';
    throw new KeyUnavailableError(`${where} ${defect}${hint}`);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// zod schemas: one per setting, shared by the YAML file, the environment and the flags

/**
 * A leaf setting: accepts a string (environment, flags, quoted YAML) or a number (YAML), parses
 * it with `parse`, whose Error message becomes the problem line. Anything else (a mapping, a
 * list, an empty value) is named by kind, never echoed.
 */
function leaf<T>(parse: (raw: string | number) => T, expected: string) {
  return z.unknown().transform((raw, ctx): T => {
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      ctx.addIssue({ code: 'custom', message: `must be ${expected} (got ${kindOf(raw)})` });
      return z.NEVER;
    }
    try {
      return parse(raw);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : `is not ${expected}` });
      return z.NEVER;
    }
  });
}

const thresholdExpected = '(expected a number of credits >= 0)';
const schemas = {
  url: leaf(parseApiUrl, 'a URL'),
  timeout: leaf((raw) => parseDurationIn(raw, LIMITS.timeoutMs), 'a duration'),
  interval: leaf((raw) => parseDurationIn(raw, LIMITS.intervalMs), 'a duration'),
  maxConcurrency: leaf((raw) => parseInteger(raw, LIMITS.maxConcurrency.min, LIMITS.maxConcurrency.max), 'an integer'),
  maxAttempts: leaf((raw) => parseInteger(raw, LIMITS.maxAttempts.min, LIMITS.maxAttempts.max), 'an integer'),
  maxRequestsPerSecond: leaf(
    (raw) => parseNumber(raw, `(expected a number above 0, at most ${LIMITS.maxRequestsPerSecond.max})`, (n) => n > 0 && n <= LIMITS.maxRequestsPerSecond.max),
    'a number',
  ),
  threshold: leaf((raw) => parseNumber(raw, thresholdExpected, (n) => n >= 0 && n <= LIMITS.threshold.max), 'a number'),
  listenAddress: leaf((raw) => {
    const text = String(raw);
    return { text, ...parseListenAddress(text) };
  }, 'a listen address'),
  path: leaf(parsePath, 'a file path'),
  logLevel: leaf(parseLogLevel, 'a log level'),
  shard: leaf((raw) => parseShard(String(raw)), 'a shard like 1/2'),
  accountName: leaf((raw) => {
    const text = String(raw);
    if (!ACCOUNT_NAME.test(text)) throw new Error(`${quote(text)} is not a valid account name (expected ${ACCOUNT_NAME_RULE})`);
    return text;
  }, 'an account name'),
  envName: leaf((raw) => {
    const text = String(raw);
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(text)) throw new Error(`${quote(text)} is not an environment variable name`);
    return text;
  }, 'an environment variable name'),
};

const thresholdsShape = { warning: schemas.threshold.optional(), critical: schemas.threshold.optional() };
const accountShape = {
  name: schemas.accountName.optional(),
  apiKeyFile: schemas.path.optional(),
  apiKeyEnv: schemas.envName.optional(),
  fromDirectory: schemas.path.optional(),
  thresholds: z.strictObject(thresholdsShape).optional(),
};
const apiShape = { url: schemas.url.optional(), timeout: schemas.timeout.optional() };
const pollShape = {
  interval: schemas.interval.optional(),
  maxConcurrency: schemas.maxConcurrency.optional(),
  maxAttempts: schemas.maxAttempts.optional(),
  maxRequestsPerSecond: schemas.maxRequestsPerSecond.optional(),
};
const webShape = { listenAddress: schemas.listenAddress.optional(), configFile: schemas.path.optional() };
const logShape = { level: schemas.logLevel.optional() };

const accountEntrySchema = z.strictObject(accountShape).superRefine((entry, ctx) => {
  const keyFields = [entry.apiKeyFile, entry.apiKeyEnv].filter((v) => v !== undefined).length;
  if (entry.fromDirectory !== undefined) {
    if (entry.name !== undefined || keyFields > 0) {
      ctx.addIssue({ code: 'custom', message: 'fromDirectory cannot be combined with name, apiKeyFile or apiKeyEnv (each file in the directory is one account, named after the file)' });
    }
    return;
  }
  if (entry.name === undefined) ctx.addIssue({ code: 'custom', message: 'needs a name (or fromDirectory: a directory with one key file per account)' });
  if (keyFields === 0) ctx.addIssue({ code: 'custom', message: 'needs apiKeyFile (a file holding the key) or apiKeyEnv (the name of a variable holding it)' });
  if (keyFields > 1) ctx.addIssue({ code: 'custom', message: 'has both apiKeyFile and apiKeyEnv; set only one' });
});

const fileSchema = z.strictObject({
  api: z.strictObject(apiShape).optional(),
  poll: z.strictObject(pollShape).optional(),
  thresholds: z.strictObject(thresholdsShape).optional(),
  accounts: z.array(accountEntrySchema).optional(),
  web: z.strictObject(webShape).optional(),
  log: z.strictObject(logShape).optional(),
  shard: schemas.shard.optional(),
});
type FileSettings = z.output<typeof fileSchema>;
type AccountEntry = z.output<typeof accountEntrySchema>;

/** Known fields per YAML path pattern (list indexes as []), for "unknown field" messages. */
const KNOWN_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(fileSchema.shape),
  api: Object.keys(apiShape),
  poll: Object.keys(pollShape),
  thresholds: Object.keys(thresholdsShape),
  'accounts[]': Object.keys(accountShape),
  'accounts[].thresholds': Object.keys(thresholdsShape),
  web: Object.keys(webShape),
  log: Object.keys(logShape),
};

/** Field names that mean someone tried to put a key into the file. */
const SECRET_FIELD = /(key|keys|token|secret|password|passwd|bearer|credentials?)$/i;
const SECRET_FIELD_MESSAGE =
  'keys never go into config files (config files get committed); name where the key is instead: apiKeyFile: /path/to/key or apiKeyEnv: VARIABLE_NAME';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Command line

type FlagName = 'web.listen-address' | 'web.config.file' | 'log.level' | 'config.file' | 'shard';

interface FlagSpec {
  name: FlagName;
  env: string;
  help: string;
  defaultText: string;
}

/** Every flag; each also has an environment variable. Keys have none, on purpose. */
const FLAGS: readonly FlagSpec[] = [
  { name: 'web.listen-address', env: 'ZEXA_EXPORTER_LISTEN_ADDRESS', help: 'Address to serve /metrics and the status page on: [host]:port.', defaultText: DEFAULTS.web.listenAddress },
  { name: 'web.config.file', env: 'ZEXA_EXPORTER_WEB_CONFIG', help: 'exporter-toolkit web config file (TLS, basic auth).', defaultText: 'none' },
  { name: 'log.level', env: 'ZEXA_EXPORTER_LOG_LEVEL', help: `Log level: ${LOG_LEVELS.join(', ')}.`, defaultText: DEFAULTS.log.level },
  { name: 'config.file', env: 'ZEXA_EXPORTER_CONFIG', help: 'YAML config file (accounts, per-account thresholds); reloaded on SIGHUP and POST /-/reload.', defaultText: 'none' },
  { name: 'shard', env: 'ZEXA_SHARD', help: 'Poll only the accounts of shard INDEX/COUNT (0-based, e.g. 1/2).', defaultText: 'none' },
];

/** Environment-only settings, in the order usage() lists them. */
const ENV_SETTINGS: readonly { env: string; help: string; defaultText: string }[] = [
  { env: 'ZEXA_API_URL', help: 'Base URL of the Zexa API (http or https).', defaultText: DEFAULTS.api.url },
  { env: 'ZEXA_POLL_INTERVAL', help: `How often each account is polled (90, 30s, 5m; ${formatDuration(LIMITS.intervalMs.min)} to ${formatDuration(LIMITS.intervalMs.max)}).`, defaultText: formatDuration(DEFAULTS.poll.intervalMs) },
  { env: 'ZEXA_REQUEST_TIMEOUT', help: `Timeout of one request (${formatDuration(LIMITS.timeoutMs.min)} to ${formatDuration(LIMITS.timeoutMs.max)}, at most the interval).`, defaultText: formatDuration(DEFAULTS.api.timeoutMs) },
  { env: 'ZEXA_MAX_ATTEMPTS', help: `Attempts per poll, the first included (${LIMITS.maxAttempts.min}-${LIMITS.maxAttempts.max}).`, defaultText: String(DEFAULTS.poll.maxAttempts) },
  { env: 'ZEXA_MAX_CONCURRENCY', help: `Requests in flight across all accounts (${LIMITS.maxConcurrency.min}-${LIMITS.maxConcurrency.max}).`, defaultText: String(DEFAULTS.poll.maxConcurrency) },
  { env: 'ZEXA_MAX_REQUESTS_PER_SECOND', help: 'Cap on requests per second to the API, all accounts together.', defaultText: 'none' },
  { env: 'ZEXA_CREDITS_WARNING_THRESHOLD', help: 'Warning threshold in credits, for every account that sets none (state LOW).', defaultText: String(DEFAULTS.thresholds.warning) },
  { env: 'ZEXA_CREDITS_CRITICAL_THRESHOLD', help: 'Critical threshold in credits, at most the warning threshold (state CRITICAL).', defaultText: String(DEFAULTS.thresholds.critical) },
];

/** Flag names that look like an attempt to pass a key on the command line. */
const KEY_FLAG = /(^|[.\-_])(api[.\-_]?)?(key|keys|token|secret|password|bearer)($|[.\-_])/i;
/** Only flag names shaped like flags are echoed: a key pasted after `--` must not be. */
const ECHOABLE_FLAG = /^[a-z][a-z0-9]{0,19}([.-][a-z0-9]{1,20}){0,4}$/;

interface ParsedArgs {
  flags: Map<FlagName, { value: string; where: string }>;
  problems: string[];
}

function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<FlagName, { value: string; where: string }>();
  const problems: string[] = [];
  let positionals = 0;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals += argv.length - i - 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals += 1;
      continue;
    }
    const doubleDash = arg.startsWith('--');
    const body = arg.slice(doubleDash ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const next = argv[i + 1];
    const nextIsValue = next !== undefined && !next.startsWith('-');
    const shown = ECHOABLE_FLAG.test(name) ? `${doubleDash ? '--' : '-'}${name}` : '(name not shown, in case it is a key)';
    const spec = FLAGS.find((f) => f.name === name);

    if (KEY_FLAG.test(name)) {
      problems.push(
        `${shown}: keys are never accepted on the command line (command lines show in ps and shell history); ` +
          'set ZEXA_API_KEY or ZEXA_API_KEY_FILE (ZEXA_API_KEY_<NAME>[_FILE] for more accounts) instead',
      );
      if (inline === undefined && nextIsValue) i += 1;
      continue;
    }
    if (spec === undefined || !doubleDash) {
      const hint = spec !== undefined ? ` (flags start with two dashes: --${spec.name})` : ' (see --help)';
      problems.push(`unknown flag ${shown}${hint}`);
      if (inline === undefined && nextIsValue) i += 1;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (!nextIsValue) {
        problems.push(`--${name} needs a value (--${name}=VALUE or --${name} VALUE)`);
        continue;
      }
      value = next;
      i += 1;
    }
    if (flags.has(spec.name)) {
      problems.push(`--${name} is given more than once`);
      continue;
    }
    flags.set(spec.name, { value, where: `--${name}` });
  }
  if (positionals > 0) {
    problems.push(
      `${positionals} positional argument${positionals === 1 ? '' : 's'} given, but zexa-exporter takes none ` +
        '(not shown, in case it is a key; settings are --flags or environment variables, see --help)',
    );
  }
  return { flags, problems };
}

function helpOrVersion(argv: readonly string[]): 'help' | 'version' | undefined {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  if (args.includes('--help') || args.includes('-h')) return 'help';
  if (args.includes('--version')) return 'version';
  return undefined;
}

/** The --help text: every flag and environment variable with its default. */
export function usage(): string {
  const lines = [
    'Usage: zexa-exporter [flags]',
    '',
    'Prometheus exporter for the message-credit balance of Zexa API keys.',
    'Precedence: flag > environment variable > config file > default.',
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const flag of FLAGS) {
    lines.push(`  --${flag.name}=VALUE`, `      ${flag.help}`, `      env ${flag.env}; default ${flag.defaultText}`);
  }
  lines.push('  -h, --help', '      Show this help and exit.', '  --version', '      Show the version and exit.', '', 'Environment variables:');
  for (const setting of ENV_SETTINGS) lines.push(`  ${setting.env}`, `      ${setting.help}`, `      default ${setting.defaultText}`);
  lines.push(
    '',
    'Keys (never on the command line: command lines show in ps):',
    `  ${KEY_ENV_PREFIX}                  key of account "${DEFAULTS.accountName}"`,
    `  ${KEY_ENV_PREFIX}_FILE             file holding that key (re-read at every poll)`,
    `  ${KEY_ENV_PREFIX}_<NAME>           key of account <name> (lower-cased), e.g. ${KEY_ENV_PREFIX}_STAGING_BACKEND`,
    `  ${KEY_ENV_PREFIX}_<NAME>_FILE      file holding it`,
    '  Config file accounts name apiKeyFile, apiKeyEnv, or fromDirectory (one key file per account).',
    '',
    'Without a key, `npm run demo` shows the exporter against a built-in API simulator.',
    '',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The YAML file

const YAML_ERRORS: Partial<Record<ErrorCode, string>> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'bad alias',
  BAD_DIRECTIVE: 'bad directive',
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'anchor and tag in the wrong order',
  BAD_SCALAR_START: 'a plain value cannot start with this character (quote the value)',
  BLOCK_AS_IMPLICIT_KEY: 'nested mappings are not allowed in compact mappings',
  BLOCK_IN_FLOW: 'block collection inside a flow collection',
  DUPLICATE_KEY: 'duplicate key',
  KEY_OVER_1024_CHARS: 'key longer than 1024 characters',
  MISSING_CHAR: 'missing character (a closing quote or bracket, a comma, or a space after ":")',
  MULTILINE_IMPLICIT_KEY: 'a key must be on a single line',
  MULTIPLE_ANCHORS: 'more than one anchor on a node',
  MULTIPLE_DOCS: 'more than one YAML document (---); the config file holds one',
  MULTIPLE_TAGS: 'more than one tag on a node',
  NON_STRING_KEY: 'keys must be strings',
  RESOURCE_EXHAUSTION: 'too many aliases',
  TAB_AS_INDENT: 'tabs are not allowed for indentation',
  TAG_RESOLVE_FAILED: 'unknown tag',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_COLLECTION_TYPE: 'tag does not match the collection type',
};

interface LoadedFile {
  path: string;
  settings: FileSettings;
  /** `${path}:${line}: ${yamlPath}` for a YAML path, for messages. */
  at(path: readonly PropertyKey[], key?: string): string;
}

function loadFile(path: string, where: string, sources: ConfigSources, problems: string[]): LoadedFile | undefined {
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (error) {
    problems.push(`${where}: config file ${path} ${fileReadDefect(error)}`);
    return undefined;
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.fileBytes) {
    problems.push(`${where}: config file ${path} is larger than ${LIMITS.fileBytes / 1024 / 1024} MiB (${bytes} bytes)`);
    return undefined;
  }

  const lineCounter = new LineCounter();
  // resolveKnownTags off: !!binary, !!set, !!omap and !!timestamp would yield objects no setting expects.
  const doc = parseDocument(text, { prettyErrors: false, lineCounter, uniqueKeys: true, strict: true, resolveKnownTags: false });
  const lineAt = (offset: number): string => {
    const pos = lineCounter.linePos(offset);
    return `${path}:${pos.line}:${pos.col}`;
  };
  // yaml's own messages can quote the source, which may be a key if the wrong file was named.
  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => `${lineAt(e.pos[0])}: invalid YAML: ${YAML_ERRORS[e.code] ?? e.code}`);
  if (yamlProblems.length > 0) {
    problems.push(...yamlProblems);
    return undefined;
  }
  // Aliases are how "billion laughs" bombs expand; a config file has no need for them.
  let aliases = 0;
  let firstAlias = 0;
  visit(doc, {
    Alias(_key, node) {
      if (aliases === 0) firstAlias = node.range?.[0] ?? 0;
      aliases += 1;
      return visit.SKIP;
    },
  });
  if (aliases > 0) {
    problems.push(`${lineAt(firstAlias)}: YAML aliases (*name) are not allowed in the config file (${aliases} found); write the values out`);
  }
  if (aliases > 0) return undefined;

  const at = (yamlPath: readonly PropertyKey[], key?: string): string => {
    // A field is reported at its key, which is where a reader looks for it.
    const last = yamlPath[yamlPath.length - 1];
    const node = key === undefined && typeof last === 'string' ? nodeAt(doc, yamlPath.slice(0, -1), last) : nodeAt(doc, yamlPath, key);
    const offset = node?.range?.[0];
    const prefix = offset === undefined ? path : `${path}:${lineCounter.linePos(offset).line}`;
    const full = formatPath(key === undefined ? yamlPath : [...yamlPath, key]);
    return full === '' ? prefix : `${prefix}: ${full}`;
  };

  const raw: unknown = doc.toJS({ maxAliasCount: 0 }) ?? {};
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, raw, at));
    return undefined;
  }
  return { path, settings: parsed.data, at };
}

function nodeAt(doc: Document, path: readonly PropertyKey[], key?: string): { range?: readonly number[] | null } | undefined {
  const parent: unknown = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (key === undefined) return parent as { range?: readonly number[] | null } | undefined;
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
  return pair?.key as { range?: readonly number[] | null } | undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, at: LoadedFile['at']): string[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const pattern = formatPath(path.map((s) => (typeof s === 'number' ? '[]' : s))).replace(/\.\[\]/g, '[]');
    const known = KNOWN_FIELDS[pattern.replace(/\[\]\[\]/g, '[]')] ?? [];
    return issue.keys.map((key) =>
      SECRET_FIELD.test(key)
        ? `${at(path, key)}: ${SECRET_FIELD_MESSAGE}`
        : `${at(path, key)}: unknown field${known.length > 0 ? ` (expected one of ${known.join(', ')})` : ''}`,
    );
  }
  if (issue.code === 'invalid_type') {
    const got = kindOf(valueAt(raw, path));
    const expected = issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected;
    if (path.length === 0) return [`${at(path)}: the top level must be a mapping of settings (got ${got})`];
    return [`${at(path)}: must be ${expected} (got ${got})`];
  }
  return [`${at(path)}: ${issue.message}`];
}

// ---------------------------------------------------------------------------------------------
// Putting it together

/** Where a value came from when no source gave one, and when every source given was bad. */
const DEFAULT_ORIGIN = 'default';
const INVALID_ORIGIN = 'invalid';

interface Origin {
  /** e.g. `--log.level`, `ZEXA_POLL_INTERVAL`, `config.yml:3: poll.interval`, or one of the two above. */
  where: string;
}

interface Resolved<T> extends Origin {
  value: T;
}

/** A setting's value by precedence flag > env > file > default; bad flag or env values become problems. */
function resolveSetting<T>(
  ctx: LoadContext,
  spec: { flag?: FlagName; env: string; yaml?: readonly string[] },
  schema: z.ZodType<T>,
  fallback: T,
): Resolved<T> {
  const candidates: { text: string; where: string }[] = [];
  const flag = spec.flag === undefined ? undefined : ctx.args.flags.get(spec.flag);
  if (flag !== undefined) candidates.push({ text: flag.value, where: flag.where });
  const envValue = ctx.sources.env[spec.env];
  if (envValue !== undefined) candidates.push({ text: envValue, where: spec.env });
  let result: Resolved<T> | undefined;
  // Every given value is checked, even one a higher source overrides: a bad value waits to bite.
  for (const candidate of candidates) {
    if (candidate.text === '') {
      ctx.problems.push(`${candidate.where}: is set but empty (unset it to use the ${ctx.file === undefined ? 'default' : 'config file or default'})`);
      continue;
    }
    const parsed = schema.safeParse(candidate.text);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.problems.push(`${candidate.where}: ${issue.message}`);
      continue;
    }
    result ??= { value: parsed.data, where: candidate.where };
  }
  if (result !== undefined) return result;
  if (candidates.length > 0) return { value: fallback, where: INVALID_ORIGIN };
  if (ctx.file !== undefined && spec.yaml !== undefined) {
    const fromFile = valueAt(ctx.file.settings, spec.yaml);
    if (fromFile !== undefined) return { value: fromFile as T, where: ctx.file.at(spec.yaml) };
  }
  return { value: fallback, where: DEFAULT_ORIGIN };
}

interface LoadContext {
  sources: ConfigSources;
  args: ParsedArgs;
  file: LoadedFile | undefined;
  problems: string[];
}

interface AccountCandidate {
  account: AccountConfig;
  /** Where it was defined, for duplicate messages. */
  definedBy: string;
  /** Reads its key file when the file was already read while listing a directory. */
  readFile?: (path: string) => string;
  /** The thresholds its config-file entry sets, if any, and where. */
  own?: { warning?: number | undefined; critical?: number | undefined; at: string; path: string };
}

/** Every ZEXA_API_KEY* variable that is set and not claimed by a config-file account. */
function keyVariables(env: ConfigSources['env'], claimed: ReadonlySet<string>): string[] {
  return Object.keys(env)
    .filter((v) => v.startsWith(KEY_ENV_PREFIX) && env[v] !== undefined && !claimed.has(v))
    .sort();
}

function envAccounts(ctx: LoadContext, variables: readonly string[], thresholds: Thresholds): AccountCandidate[] {
  const env = ctx.sources.env;
  // Keyed by the variable without _FILE, so ZEXA_API_KEY_X and ZEXA_API_KEY_X_FILE meet.
  const found = new Map<string, { name: string; value?: string; file?: string }>();
  for (const variable of variables) {
    const rest = variable.slice(KEY_ENV_PREFIX.length);
    if (rest !== '' && !rest.startsWith('_')) {
      ctx.problems.push(`${variable}: not a setting of zexa-exporter (keys go in ${KEY_ENV_PREFIX}, ${KEY_ENV_PREFIX}_FILE or ${KEY_ENV_PREFIX}_<NAME>[_FILE])`);
      continue;
    }
    const isFile = rest.endsWith(FILE_SUFFIX);
    const base = isFile ? rest.slice(0, -FILE_SUFFIX.length) : rest;
    const name = base === '' ? DEFAULTS.accountName : base.slice(1).toLowerCase();
    if (base !== '' && name === 'file') {
      ctx.problems.push(
        `${variable}: an account cannot be named "file" through the environment ` +
          `(${KEY_ENV_PREFIX}_FILE is the key file of account "${DEFAULTS.accountName}"); name it in a config file`,
      );
      continue;
    }
    if (!ACCOUNT_NAME.test(name)) {
      ctx.problems.push(`${variable}: ${quote(name)} is not a valid account name (expected ${ACCOUNT_NAME_RULE} after ${KEY_ENV_PREFIX}_)`);
      continue;
    }
    const id = KEY_ENV_PREFIX + base;
    const slot = found.get(id) ?? { name };
    if (isFile) slot.file = variable;
    else slot.value = variable;
    found.set(id, slot);
  }

  const out: AccountCandidate[] = [];
  for (const slot of found.values()) {
    const { name } = slot;
    if (slot.value !== undefined && slot.file !== undefined) {
      ctx.problems.push(`${slot.value} and ${slot.file} are both set; set only one (the key itself, or the path of a file holding it)`);
    } else if (slot.file !== undefined) {
      const path = env[slot.file] ?? '';
      if (path === '') ctx.problems.push(`${slot.file}: is set but empty (expected the path of a file holding the key)`);
      else out.push({ account: { name, key: { kind: 'file', path, origin: slot.file }, thresholds: { ...thresholds } }, definedBy: slot.file });
    } else if (slot.value !== undefined) {
      out.push({ account: { name, key: { kind: 'env', variable: slot.value }, thresholds: { ...thresholds } }, definedBy: slot.value });
    }
  }
  // `default` first, then by name: a stable order for logs and the status page.
  const rank = (c: AccountCandidate): string => (c.account.name === DEFAULTS.accountName ? '' : c.account.name);
  return out.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

function fileAccounts(ctx: LoadContext, file: LoadedFile, thresholds: Thresholds): AccountCandidate[] {
  const out: AccountCandidate[] = [];
  const base = dirname(file.path);
  (file.settings.accounts ?? []).forEach((entry: AccountEntry, index) => {
    const own = entry.thresholds;
    const merged = { warning: own?.warning ?? thresholds.warning, critical: own?.critical ?? thresholds.critical };
    const common = own === undefined ? {} : { own: { ...own, at: file.at(['accounts', index, 'thresholds']), path: `accounts[${index}].thresholds` } };
    if (entry.fromDirectory !== undefined) {
      out.push(...directoryAccounts(ctx, file, index, resolvePath(base, entry.fromDirectory), merged, common));
      return;
    }
    if (entry.name === undefined) return;
    const where = `accounts[${index}]`;
    if (entry.apiKeyFile !== undefined) {
      const origin = `${where}.apiKeyFile in ${file.path}`;
      out.push({ account: { name: entry.name, key: { kind: 'file', path: resolvePath(base, entry.apiKeyFile), origin }, thresholds: merged }, definedBy: file.at(['accounts', index]), ...common });
    } else if (entry.apiKeyEnv !== undefined) {
      out.push({ account: { name: entry.name, key: { kind: 'env', variable: entry.apiKeyEnv }, thresholds: merged }, definedBy: file.at(['accounts', index]), ...common });
    }
  });
  return out;
}

/**
 * One account per regular file of `dir`, named after the file. Dot entries are skipped:
 * Kubernetes secret volumes hold `..data` and `..2024_…` directories next to the visible
 * entries, which are symlinks into them (reading follows the link).
 */
function directoryAccounts(
  ctx: LoadContext,
  file: LoadedFile,
  index: number,
  dir: string,
  thresholds: Thresholds,
  common: Pick<AccountCandidate, 'own'>,
): AccountCandidate[] {
  const where = file.at(['accounts', index, 'fromDirectory']);
  let entries: string[];
  try {
    entries = ctx.sources.readDir(dir);
  } catch (error) {
    const code = errorCode(error);
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : fileReadDefect(error);
    ctx.problems.push(`${where}: directory ${dir} ${why}`);
    return [];
  }
  const out: AccountCandidate[] = [];
  // One string for every account of the directory, not one copy per account.
  const origin = `accounts[${index}].fromDirectory in ${file.path}`;
  for (const entry of [...entries].sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    let text: string | undefined;
    let readError: unknown;
    try {
      text = ctx.sources.readFile(path);
    } catch (error) {
      // Only regular files are accounts; a subdirectory is not one.
      if (errorCode(error) === 'EISDIR') continue;
      readError = error;
    }
    if (!ACCOUNT_NAME.test(entry)) {
      ctx.problems.push(`${where}: file name ${quote(entry)} in ${dir} is not a valid account name (expected ${ACCOUNT_NAME_RULE}; rename the file or move it out)`);
      continue;
    }
    // The key is validated from this read: reading every file twice doubles the load time of large directories.
    const readOnce = (): string => {
      if (text === undefined) throw readError;
      return text;
    };
    out.push({ account: { name: entry, key: { kind: 'file', path, origin }, thresholds: { ...thresholds } }, definedBy: `${where} (file ${path})`, readFile: readOnce, ...common });
  }
  if (out.length === 0 && !ctx.problems.some((p) => p.startsWith(`${where}:`))) {
    ctx.problems.push(`${where}: directory ${dir} holds no key files (expected one file per account, named after the account)`);
  }
  return out;
}

function from(origin: Origin): string {
  return origin.where === DEFAULT_ORIGIN ? 'the default' : `from ${origin.where}`;
}

function thresholdProblem(where: string, warning: Resolved<number>, critical: Resolved<number>): string {
  return (
    `${where}: warning threshold ${warning.value} (${from(warning)}) is below the critical threshold ` +
    `${critical.value} (${from(critical)}); warning must be at least critical`
  );
}

/**
 * Cross-field rules over the resolved settings. Each value carries where it came from, so the
 * problem names the variable, flag or YAML field that has to change.
 */
const mergedRules = z
  .object({
    timeout: z.custom<Resolved<number>>(),
    interval: z.custom<Resolved<number>>(),
    warning: z.custom<Resolved<number>>(),
    critical: z.custom<Resolved<number>>(),
  })
  .superRefine((s, ctx) => {
    // Only a timeout someone set is an error; the default shrinks to fit a short interval below.
    if (s.timeout.where !== INVALID_ORIGIN && s.timeout.where !== DEFAULT_ORIGIN && s.interval.where !== INVALID_ORIGIN && s.timeout.value > s.interval.value) {
      ctx.addIssue({
        code: 'custom',
        message:
          `${s.timeout.where}: request timeout ${formatDuration(s.timeout.value)} is longer than the poll interval ` +
          `${formatDuration(s.interval.value)} (${from(s.interval)}); the timeout must be at most the interval`,
      });
    }
    if (s.warning.where !== INVALID_ORIGIN && s.critical.where !== INVALID_ORIGIN && s.warning.value < s.critical.value) {
      const message =
        s.warning.where === DEFAULT_ORIGIN
          ? `${s.critical.where}: critical threshold ${s.critical.value} is above the warning threshold ${s.warning.value} (${from(s.warning)}); critical must be at most warning`
          : `${s.warning.where}: warning threshold ${s.warning.value} is below the critical threshold ${s.critical.value} (${from(s.critical)}); warning must be at least critical`;
      ctx.addIssue({ code: 'custom', message });
    }
  });

/**
 * Strikes any part of a known key from the problem lines. No message is built from a key, so this
 * is a second line of defence: e.g. for a config file path that names a key file by mistake.
 */
function withoutKeys(problems: readonly string[], keys: readonly string[]): string[] {
  const SLICE = 8;
  // Shorter "keys" are not real keys, and their pieces would strike ordinary words.
  const slices = new Set(keys.filter((k) => k.length >= SLICE).flatMap((k) => Array.from({ length: k.length - SLICE + 1 }, (_, i) => k.slice(i, i + SLICE))));
  if (slices.size === 0) return [...problems];
  return problems.map((line) => {
    const hit = new Uint8Array(line.length);
    for (const slice of slices) {
      for (let i = line.indexOf(slice); i >= 0; i = line.indexOf(slice, i + 1)) hit.fill(1, i, i + SLICE);
    }
    // Each run of struck characters becomes one marker, so no tail of a key survives.
    let out = '';
    for (let i = 0; i < line.length; i += 1) {
      if (hit[i] === 0) out += line[i];
      else if (i === 0 || hit[i - 1] === 0) out += '[REDACTED]';
    }
    return out;
  });
}

/** A run of the characters API keys are made of; '.', '/', ':' and spaces split paths and URLs. */
const TOKEN = /[A-Za-z0-9_+=-]{8,}/g;

/** Whether a token looks like an API key rather than a word, a name or a number. */
export function looksLikeKey(token: string): boolean {
  if (/^zx_/i.test(token)) return true;
  // Our own variable names (ZEXA_API_KEY_staging) are named in messages on purpose.
  if (token.length < 20 || token.startsWith('ZEXA_')) return false;
  const digits = /[0-9]/.test(token);
  const lower = /[a-z]/.test(token);
  const upper = /[A-Z]/.test(token);
  // Mixed case alone is how camelCase field names look (maxRequestsPerSecond); a random key
  // also has capitals side by side.
  return (digits && (lower || upper)) || (lower && upper && /[A-Z]{2}/.test(token));
}

/**
 * Hides whatever looks like a key in a problem line. Messages quote bad values to help, and a key
 * pasted into the wrong setting (ZEXA_POLL_INTERVAL=zx_…, `apiKeyEnv: zx_…`, a YAML field named
 * after a key) is such a value; it is not one of the keys loading knows, so withoutKeys cannot
 * catch it. Long mixed tokens are hidden too, at the price of sometimes hiding a long name.
 */
export function withoutLikelyKeys(line: string): string {
  return line.replace(TOKEN, (token: string, offset: number) => {
    // A segment of a path (/tmp/zexa-config-7VwHpQ/…) is hidden only when it is plainly a key.
    const inPath = line[offset - 1] === '/' || line[offset + token.length] === '/';
    const hide = inPath ? /^zx_/i.test(token) : looksLikeKey(token);
    return hide ? `[${token.length} characters hidden: it looks like a key]` : token;
  });
}

/** Where to listen and the web config file: loadConfig's and loadWebSettings' one copy. */
function resolveWeb(ctx: LoadContext) {
  const fileBase = ctx.file === undefined ? undefined : dirname(ctx.file.path);
  const listen = resolveSetting(
    ctx,
    { flag: 'web.listen-address', env: 'ZEXA_EXPORTER_LISTEN_ADDRESS', yaml: ['web', 'listenAddress'] },
    schemas.listenAddress,
    { text: DEFAULTS.web.listenAddress, ...parseListenAddress(DEFAULTS.web.listenAddress) },
  );
  const webConfig = resolveSetting<string | undefined>(
    ctx,
    { flag: 'web.config.file', env: 'ZEXA_EXPORTER_WEB_CONFIG', yaml: ['web', 'configFile'] },
    schemas.path,
    DEFAULTS.web.configFile,
  );
  // A path in the config file is relative to the file, as in Prometheus; flags and env are relative to the working directory.
  const webConfigFile =
    webConfig.value !== undefined && fileBase !== undefined && ctx.file !== undefined && webConfig.where.startsWith(`${ctx.file.path}:`)
      ? resolvePath(fileBase, webConfig.value)
      : webConfig.value;
  return { listen, webConfigFile };
}

/**
 * Only the listen address and web config file, from the same flags, variables and config file as
 * loadConfig, for `zexa-exporter healthcheck`: the probe neither needs nor reads the keys (the
 * demo image has none), and a config error in the web settings still fails it.
 */
export function loadWebSettings(sources: ConfigSources): Config['web'] {
  const ctx: LoadContext = { sources, args: parseArgs(sources.argv), file: undefined, problems: [] };
  ctx.problems.push(...ctx.args.problems);
  const configFile = resolveSetting(ctx, { flag: 'config.file', env: 'ZEXA_EXPORTER_CONFIG' }, schemas.path, undefined as string | undefined);
  if (configFile.value !== undefined) ctx.file = loadFile(configFile.value, configFile.where, sources, ctx.problems);
  const { listen, webConfigFile } = resolveWeb(ctx);
  if (ctx.problems.length > 0) throw new ConfigError([...new Set(ctx.problems)].map(withoutLikelyKeys));
  return { listenAddress: listen.value.text, host: listen.value.host, port: listen.value.port, configFile: webConfigFile };
}

/**
 * Builds the Config from flags, environment, the optional YAML file and DEFAULTS, in that
 * precedence. Keys are read once to validate them, never stored. Throws HelpRequested or
 * VersionRequested when the command line asks for them, and ConfigError listing every problem
 * otherwise.
 */
export function loadConfig(sources: ConfigSources): Config {
  const request = helpOrVersion(sources.argv);
  if (request === 'help') throw new HelpRequested();
  if (request === 'version') throw new VersionRequested();

  const ctx: LoadContext = { sources, args: parseArgs(sources.argv), file: undefined, problems: [] };
  ctx.problems.push(...ctx.args.problems);

  const configFile = resolveSetting(ctx, { flag: 'config.file', env: 'ZEXA_EXPORTER_CONFIG' }, schemas.path, undefined as string | undefined);
  if (configFile.value !== undefined) ctx.file = loadFile(configFile.value, configFile.where, sources, ctx.problems);

  const url = resolveSetting(ctx, { env: 'ZEXA_API_URL', yaml: ['api', 'url'] }, schemas.url, DEFAULTS.api.url);
  const timeout = resolveSetting(ctx, { env: 'ZEXA_REQUEST_TIMEOUT', yaml: ['api', 'timeout'] }, schemas.timeout, DEFAULTS.api.timeoutMs);
  const interval = resolveSetting(ctx, { env: 'ZEXA_POLL_INTERVAL', yaml: ['poll', 'interval'] }, schemas.interval, DEFAULTS.poll.intervalMs);
  const maxConcurrency = resolveSetting(ctx, { env: 'ZEXA_MAX_CONCURRENCY', yaml: ['poll', 'maxConcurrency'] }, schemas.maxConcurrency, DEFAULTS.poll.maxConcurrency);
  const maxAttempts = resolveSetting(ctx, { env: 'ZEXA_MAX_ATTEMPTS', yaml: ['poll', 'maxAttempts'] }, schemas.maxAttempts, DEFAULTS.poll.maxAttempts);
  const maxRps = resolveSetting<number | undefined>(
    ctx,
    { env: 'ZEXA_MAX_REQUESTS_PER_SECOND', yaml: ['poll', 'maxRequestsPerSecond'] },
    schemas.maxRequestsPerSecond,
    DEFAULTS.poll.maxRequestsPerSecond,
  );
  const warning = resolveSetting(ctx, { env: 'ZEXA_CREDITS_WARNING_THRESHOLD', yaml: ['thresholds', 'warning'] }, schemas.threshold, DEFAULTS.thresholds.warning);
  const critical = resolveSetting(ctx, { env: 'ZEXA_CREDITS_CRITICAL_THRESHOLD', yaml: ['thresholds', 'critical'] }, schemas.threshold, DEFAULTS.thresholds.critical);
  const { listen, webConfigFile } = resolveWeb(ctx);
  const logLevel = resolveSetting<LogLevel>(ctx, { flag: 'log.level', env: 'ZEXA_EXPORTER_LOG_LEVEL', yaml: ['log', 'level'] }, schemas.logLevel, DEFAULTS.log.level);
  const shard = resolveSetting<Config['shard']>(ctx, { flag: 'shard', env: 'ZEXA_SHARD', yaml: ['shard'] }, schemas.shard, DEFAULTS.shard);

  const rules = mergedRules.safeParse({ timeout, interval, warning, critical });
  if (!rules.success) ctx.problems.push(...rules.error.issues.map((i) => i.message));

  const globalThresholds = { warning: warning.value, critical: critical.value };
  // A variable a config-file account names with apiKeyEnv belongs to that account, even when
  // it looks like ZEXA_API_KEY_<NAME>: otherwise the same key would be polled twice.
  const claimed = new Set((ctx.file?.settings.accounts ?? []).flatMap((a) => (a.apiKeyEnv === undefined ? [] : [a.apiKeyEnv])));
  const variables = keyVariables(sources.env, claimed);
  const candidates = [...envAccounts(ctx, variables, globalThresholds), ...(ctx.file === undefined ? [] : fileAccounts(ctx, ctx.file, globalThresholds))];

  const accounts: AccountConfig[] = [];
  const byName = new Map<string, AccountCandidate>();
  const keys: string[] = [];
  const checkedThresholds = new Set<string>();
  for (const candidate of candidates) {
    const { account } = candidate;
    const first = byName.get(account.name);
    if (first !== undefined) {
      ctx.problems.push(`account "${account.name}" is defined twice: by ${first.definedBy} and by ${candidate.definedBy} (account names must be unique)`);
      continue;
    }
    byName.set(account.name, candidate);
    try {
      keys.push(readAccountKey(account, sources.env, candidate.readFile ?? sources.readFile));
    } catch (error) {
      if (!(error instanceof KeyUnavailableError)) throw error;
      ctx.problems.push(error.message);
    }
    // Checked once per config-file entry (a fromDirectory entry covers many accounts).
    const own = candidate.own;
    const globalsValid = warning.where !== INVALID_ORIGIN && critical.where !== INVALID_ORIGIN;
    if (own !== undefined && globalsValid && !checkedThresholds.has(own.at) && account.thresholds.warning < account.thresholds.critical) {
      checkedThresholds.add(own.at);
      const w = { value: account.thresholds.warning, where: own.warning === undefined ? warning.where : `${own.path}.warning` };
      const c = { value: account.thresholds.critical, where: own.critical === undefined ? critical.where : `${own.path}.critical` };
      ctx.problems.push(thresholdProblem(own.at, w, c));
    }
    accounts.push(account);
  }

  // Only when nothing at all names a key: otherwise the problems above already say what is wrong.
  const triedAccounts = variables.length > 0 || claimed.size > 0 || (configFile.value !== undefined && ctx.file === undefined) || (ctx.file?.settings.accounts ?? []).length > 0;
  if (!triedAccounts) {
    ctx.problems.push(
      `no account configured: set ${KEY_ENV_PREFIX}=<your key> (or ${KEY_ENV_PREFIX}_FILE=/path/to/key-file), ` +
        `${KEY_ENV_PREFIX}_<NAME> for more accounts, or list accounts in a config file (--config.file); ` +
        'to see the exporter without a key, run `npm run demo`',
    );
  }

  if (ctx.problems.length > 0) {
    const envKeys = [...variables.filter((v) => !v.endsWith(FILE_SUFFIX)), ...claimed].flatMap((v) => sources.env[v] ?? []);
    throw new ConfigError(withoutKeys([...new Set(ctx.problems)], [...keys, ...envKeys]).map(withoutLikelyKeys));
  }

  return {
    api: { url: url.value, timeoutMs: timeout.where === DEFAULT_ORIGIN ? Math.min(timeout.value, interval.value) : timeout.value },
    poll: { intervalMs: interval.value, maxConcurrency: maxConcurrency.value, maxAttempts: maxAttempts.value, maxRequestsPerSecond: maxRps.value },
    thresholds: globalThresholds,
    accounts,
    web: { listenAddress: listen.value.text, host: listen.value.host, port: listen.value.port, configFile: webConfigFile },
    log: { level: logLevel.value },
    shard: shard.value,
    configFile: configFile.value,
  };
}

// ---------------------------------------------------------------------------------------------
// The real process

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code, path });
}

/**
 * Reads a file as UTF-8, refusing more than LIMITS.fileBytes before reading it all: a config
 * or key path that names /dev/zero or a multi-gigabyte file fails fast instead of filling memory.
 */
export function readFileBounded(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw fsError('EISDIR', path);
    if (stat.isFile() && stat.size > LIMITS.fileBytes) throw fsError('EFBIG', path);
    // Every poll reads its key file: reading into one reused buffer allocates nothing but the
    // string, where a fresh Buffer per read left thousands of small native allocations behind
    // (~4 KB each, freed only by a full GC). Reads are synchronous, so the buffer is never shared.
    const buffer = (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
    const full: Buffer[] = [];
    let filled = 0;
    let total = 0;
    for (;;) {
      if (filled === buffer.length) {
        full.push(Buffer.from(buffer));
        filled = 0;
      }
      const read = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (read === 0) break;
      filled += read;
      total += read;
      // The loop still stops at the limit for devices, pipes and files that grow while read.
      if (total > LIMITS.fileBytes) throw fsError('EFBIG', path);
    }
    if (full.length === 0) return buffer.toString('utf8', 0, filled);
    return Buffer.concat([...full, buffer.subarray(0, filled)], total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Size of readFileBounded's reused read buffer: key files are far smaller, config files usually. */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | undefined;

/** ConfigSources over the real file system; `argv` without the node and script paths. */
export function nodeConfigSources(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigSources {
  return { argv, env, readFile: readFileBounded, readDir: (path) => readdirSync(path) };
}
