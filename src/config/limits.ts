/**
 * The bounds every value is checked against, and the fixed names of accounts and key variables.
 * Kept apart from the settings table (settings.ts), which builds its schemas and help from them.
 */
/** Largest shard count accepted; far beyond any sensible replica count, it bounds the loop. */
export const MAX_SHARD_COUNT = 1024;

/**
 * The bounds of the poll interval and the request timeout, and how long a timeout may be against
 * the interval: the ones a loader can be given (`loadConfig(sources, { limits })`). The exporter
 * always loads with LIMITS; tests that poll faster than every 5 s pass lower ones, so they never
 * change a loaded Config behind the loader's back.
 */
export interface PollLimits {
  intervalMs: { readonly min: number; readonly max: number };
  timeoutMs: { readonly min: number; readonly max: number };
  /** A request timeout someone sets is at most this many poll intervals. */
  timeoutIntervals: number;
}

/** The bounds every value is checked against. */
export const LIMITS = {
  intervalMs: { min: 5_000, max: 86_400_000 },
  timeoutMs: { min: 1_000, max: 300_000 },
  timeoutIntervals: 1,
  maxConcurrency: { min: 1, max: 1024 },
  maxAttempts: { min: 1, max: 10 },
  maxConnections: { min: 1, max: 65_536 },
  maxRequestsPerSecond: { max: 100_000 },
  threshold: { max: Number.MAX_SAFE_INTEGER },
  shardCount: { max: MAX_SHARD_COUNT },
  /** Config files and key files larger than this are refused before they are parsed. */
  fileBytes: 1024 * 1024,
  /** Far above any real API key; a bigger "key file" is the wrong file. */
  keyChars: 4096,
  /** Longest value echoed back in a message. */
  echoChars: 64,
} as const satisfies PollLimits & Record<string, unknown>;

export const ACCOUNT_NAME = /^[a-z0-9_]{1,64}$/;
export const ACCOUNT_NAME_RULE = '1 to 64 characters of a-z, 0-9 and _';
export const KEY_ENV_PREFIX = 'ZEXA_API_KEY';
export const FILE_SUFFIX = '_FILE';
/** The account that ZEXA_API_KEY / ZEXA_API_KEY_FILE configure. */
export const DEFAULT_ACCOUNT_NAME = 'default';
