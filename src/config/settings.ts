/**
 * The settings table: every setting of the exporter once, with its environment variable, its
 * flag, its place in the config file, its schema, its default, its unit and its help. The flag
 * parser (cli.ts), the loader (load.ts), the config file's schema (file.ts), DEFAULTS
 * (defaults.ts), `--help` and docs/configuration.md (`npm run generate`) are all built from it,
 * so adding a setting is one entry here plus the code that uses its value.
 *
 * The keys (ZEXA_API_KEY*) are not settings: their variable names carry the account's name, and
 * they never have a flag or a config-file field. KEY_VARIABLES describes them for the same help
 * and page.
 */
import { DEFAULT_ACCOUNT_NAME, KEY_ENV_PREFIX, LIMITS, type PollLimits } from './limits.js';
import type { LogLevel } from '../lib/logger.js';
import { LOG_LEVELS } from './types.js';
import {
  formatDurationMs,
  parseApiUrl,
  parseDurationIn,
  parseInteger,
  parseListenAddress,
  parseLogLevel,
  parseNumber,
  parsePath,
  parseShard,
} from './values.js';

/** A listen address as given, and what it means. */
export interface ListenAddress {
  text: string;
  host: string | undefined;
  port: number;
}

/** One setting. `F` is its flag's name, kept literal so that the parser's FlagName is exact. */
export interface Setting<T, F extends string = string> {
  /** The environment variable; every setting has one. */
  env: string;
  /** The command-line flag without its dashes, when the setting has one. */
  flag?: F;
  /** Where the config file holds it (`['poll', 'interval']`), when it may; absent for the file's own path. */
  file?: readonly string[];
  /** Whether an account entry of the config file may set it for itself, under `accounts[].<file>`. */
  perAccount?: boolean;
  /**
   * The schema: parses a value from a flag, a variable (text) or the file (text or a number)
   * into T, throwing an Error whose message is the problem line after `where:`. Only the poll
   * interval and the request timeout use the limits (tests load with lower ones). file.ts makes
   * the config file's validators of it, so that --help and --version do not load yaml.
   */
  parse(raw: string | number, limits: PollLimits): T;
  /** What a value must be, for one of another kind (a list, a mapping): `a duration`. */
  expected: string;
  default: T;
  /** Words after the default in --help and the page, when the default is not the whole story. */
  defaultNote?: string;
  /** How a value reads (the default): durations like 60s, absent as none. */
  show?(value: T): string;
  /** What the number or text is: a duration, credits, a path... */
  unit: string;
  /** A valid value other than the default, as a person types it (the page shows it; tests set it from every source). */
  example: string;
  /** One or two sentences, shown in --help and the page. */
  help: string;
}

/** Keeps T and the flag's literal name; a setting is written as `setting({ ... })`. */
function setting<T, const F extends string = never>(spec: Setting<T, F>): Setting<T, F> {
  return spec;
}

const threshold = (raw: string | number): number =>
  parseNumber(raw, '(expected a number of credits >= 0)', (n) => n >= 0 && n <= LIMITS.threshold.max);
const integer =
  (bounds: { min: number; max: number }) =>
  (raw: string | number): number =>
    parseInteger(raw, bounds.min, bounds.max);
const showDuration = (ms: number): string => formatDurationMs(ms);
const DEFAULT_LISTEN_ADDRESS = ':10025';

/**
 * Every setting. The order is the order of --help, of the page, of the config file's sections
 * and of the loader's problem lines.
 */
export const SETTINGS = {
  url: setting({
    env: 'ZEXA_API_URL',
    file: ['api', 'url'],
    parse: parseApiUrl,
    expected: 'a URL',
    default: 'https://api.zexa.ao',
    unit: 'URL',
    example: 'https://zexa.example.com',
    help: 'Base URL of the Zexa API (http or https).',
  }),
  timeout: setting({
    env: 'ZEXA_REQUEST_TIMEOUT',
    file: ['api', 'timeout'],
    parse: (raw, limits) => parseDurationIn(raw, limits.timeoutMs),
    expected: 'a duration',
    default: 10_000,
    defaultNote: 'or the poll interval when that is shorter',
    show: showDuration,
    unit: 'duration',
    example: '5s',
    help: `Timeout of one request (${formatDurationMs(LIMITS.timeoutMs.min)} to ${formatDurationMs(LIMITS.timeoutMs.max)}, at most the interval).`,
  }),
  interval: setting({
    env: 'ZEXA_POLL_INTERVAL',
    file: ['poll', 'interval'],
    parse: (raw, limits) => parseDurationIn(raw, limits.intervalMs),
    expected: 'a duration',
    default: 60_000,
    show: showDuration,
    unit: 'duration',
    example: '30s',
    help: `How often each account is polled (90, 30s, 5m; ${formatDurationMs(LIMITS.intervalMs.min)} to ${formatDurationMs(LIMITS.intervalMs.max)}).`,
  }),
  maxConcurrency: setting({
    env: 'ZEXA_MAX_CONCURRENCY',
    file: ['poll', 'maxConcurrency'],
    parse: integer(LIMITS.maxConcurrency),
    expected: 'an integer',
    default: 8,
    unit: 'requests',
    example: '4',
    help: `Requests in flight across all accounts (${LIMITS.maxConcurrency.min}-${LIMITS.maxConcurrency.max}).`,
  }),
  maxAttempts: setting({
    env: 'ZEXA_MAX_ATTEMPTS',
    file: ['poll', 'maxAttempts'],
    parse: integer(LIMITS.maxAttempts),
    expected: 'an integer',
    default: 3,
    unit: 'attempts',
    example: '5',
    help: `Attempts per poll, the first included (${LIMITS.maxAttempts.min}-${LIMITS.maxAttempts.max}).`,
  }),
  maxRequestsPerSecond: setting<number | undefined>({
    env: 'ZEXA_MAX_REQUESTS_PER_SECOND',
    file: ['poll', 'maxRequestsPerSecond'],
    parse: (raw) =>
      parseNumber(
        raw,
        `(expected a number above 0, at most ${LIMITS.maxRequestsPerSecond.max})`,
        (n) => n > 0 && n <= LIMITS.maxRequestsPerSecond.max,
      ),
    expected: 'a number',
    default: undefined,
    unit: 'requests per second',
    example: '20',
    help: `Cap on requests started per second to the API, all accounts together (above 0, at most ${LIMITS.maxRequestsPerSecond.max}).`,
  }),
  warning: setting({
    env: 'ZEXA_CREDITS_WARNING_THRESHOLD',
    file: ['thresholds', 'warning'],
    perAccount: true,
    parse: threshold,
    expected: 'a number',
    default: 1000,
    unit: 'credits',
    example: '5000',
    help: 'Warning threshold in credits, for every account that sets none (state LOW).',
  }),
  critical: setting({
    env: 'ZEXA_CREDITS_CRITICAL_THRESHOLD',
    file: ['thresholds', 'critical'],
    perAccount: true,
    parse: threshold,
    expected: 'a number',
    default: 100,
    unit: 'credits',
    example: '50',
    help: 'Critical threshold in credits, at most the warning threshold (state CRITICAL).',
  }),
  listenAddress: setting<ListenAddress, 'web.listen-address'>({
    env: 'ZEXA_EXPORTER_LISTEN_ADDRESS',
    flag: 'web.listen-address',
    file: ['web', 'listenAddress'],
    parse: (raw) => ({ text: String(raw), ...parseListenAddress(String(raw)) }),
    expected: 'a listen address',
    default: { text: DEFAULT_LISTEN_ADDRESS, ...parseListenAddress(DEFAULT_LISTEN_ADDRESS) },
    show: (address) => address.text,
    unit: 'address',
    example: '127.0.0.1:9100',
    help: 'Address to serve /metrics and the status page on: [host]:port.',
  }),
  webConfigFile: setting<string | undefined, 'web.config.file'>({
    env: 'ZEXA_EXPORTER_WEB_CONFIG',
    flag: 'web.config.file',
    file: ['web', 'configFile'],
    parse: parsePath,
    expected: 'a file path',
    default: undefined,
    unit: 'path',
    example: '/etc/zexa-exporter/web.yml',
    help: 'exporter-toolkit web config file (TLS, basic auth).',
  }),
  maxConnections: setting({
    env: 'ZEXA_EXPORTER_WEB_MAX_CONNECTIONS',
    flag: 'web.max-connections',
    file: ['web', 'maxConnections'],
    parse: integer(LIMITS.maxConnections),
    expected: 'an integer',
    // Far more than the scrapers, probes and browsers an exporter serves, and half of the
    // common `ulimit -n` of 1024, which leaves the other half for polls (ZEXA_MAX_CONCURRENCY
    // sockets), key files and Node's own descriptors.
    default: 512,
    unit: 'connections',
    example: '256',
    help:
      `Open client connections at most (${LIMITS.maxConnections.min}-${LIMITS.maxConnections.max}); further ones are closed at once. ` +
      'Keep it well below ulimit -n.',
  }),
  maxConnectionsPerAddress: setting({
    env: 'ZEXA_EXPORTER_WEB_MAX_CONNECTIONS_PER_ADDRESS',
    flag: 'web.max-connections-per-address',
    file: ['web', 'maxConnectionsPerAddress'],
    parse: integer(LIMITS.maxConnections),
    expected: 'an integer',
    // An eighth of the cap: a client (or the proxy in front of many) gets plenty, and one that
    // opens connections without end cannot keep Prometheus and the liveness probe out.
    default: 64,
    unit: 'connections',
    example: '128',
    help:
      'Open client connections from one remote address at most; further ones from it are closed at once, so one client cannot hold the whole cap. ' +
      'Behind a proxy every client shares its address: raise it there.',
  }),
  logLevel: setting<LogLevel, 'log.level'>({
    env: 'ZEXA_EXPORTER_LOG_LEVEL',
    flag: 'log.level',
    file: ['log', 'level'],
    parse: parseLogLevel,
    expected: 'a log level',
    default: 'info',
    unit: 'level',
    example: 'debug',
    help: `Log level: ${LOG_LEVELS.join(', ')}.`,
  }),
  configFile: setting<string | undefined, 'config.file'>({
    env: 'ZEXA_EXPORTER_CONFIG',
    flag: 'config.file',
    parse: parsePath,
    expected: 'a file path',
    default: undefined,
    unit: 'path',
    example: '/etc/zexa-exporter/config.yml',
    help: 'YAML config file (accounts, per-account thresholds); reloaded on SIGHUP and POST /-/reload.',
  }),
  shard: setting<{ index: number; count: number } | undefined, 'shard'>({
    env: 'ZEXA_SHARD',
    flag: 'shard',
    file: ['shard'],
    parse: (raw) => parseShard(String(raw)),
    expected: 'a shard like 1/2',
    default: undefined,
    show: (shard) => (shard === undefined ? 'none' : `${shard.index}/${shard.count}`),
    unit: 'INDEX/COUNT',
    example: '1/2',
    help: 'Poll only the accounts of shard INDEX/COUNT (0-based, e.g. 1/2).',
  }),
  checkTimeout: setting<number, 'timeout'>({
    env: 'ZEXA_CHECK_TIMEOUT',
    flag: 'timeout',
    file: ['check', 'timeout'],
    parse: (raw) => parseDurationIn(raw, LIMITS.checkTimeoutMs),
    expected: 'a duration',
    // A monitoring plugin must answer within its scheduler's limit (Nagios kills one after 60 s
    // by default); 30 s leaves a Retry-After of 25 s room for one retry.
    default: 30_000,
    show: showDuration,
    unit: 'duration',
    example: '10s',
    help:
      `zexa-exporter check only: after this long, exit 3 (UNKNOWN) with the accounts known so far ` +
      `(${formatDurationMs(LIMITS.checkTimeoutMs.min)} to ${formatDurationMs(LIMITS.checkTimeoutMs.max)}).`,
  }),
};

export type SettingKey = keyof typeof SETTINGS;
/** The value type of a setting. */
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K]['default'];
/** Every flag the exporter has: the table's. */
export type FlagName = { [K in SettingKey]: NonNullable<(typeof SETTINGS)[K]['flag']> }[SettingKey];

/** A setting of any type, for code that walks the table. */
export type AnySetting = Setting<unknown, FlagName>;
/** An entry of SETTING_LIST: a setting with its key. */
export type ListedSetting = AnySetting & { key: SettingKey };

/** The table as a list, in its order, with each entry's key. */
export const SETTING_LIST: readonly ListedSetting[] = (Object.keys(SETTINGS) as SettingKey[]).map((key) => ({
  ...(SETTINGS[key] as AnySetting),
  key,
}));

/** The default as --help and the page show it: `10s, or the poll interval when that is shorter`. */
export function defaultText(setting: AnySetting): string {
  const value = setting.default;
  const plain =
    typeof value === 'string' || typeof value === 'number'
      ? String(value)
      : value === undefined
        ? 'none'
        : JSON.stringify(value);
  const shown = setting.show !== undefined ? setting.show(value) : plain;
  return setting.defaultNote === undefined ? shown : `${shown}, ${setting.defaultNote}`;
}

/** Where the config file holds a setting: `thresholds.warning`, and `accounts[].thresholds.warning` when per account. */
export function fileFields(setting: AnySetting): string[] {
  if (setting.file === undefined) return [];
  const path = setting.file.join('.');
  return setting.perAccount === true ? [path, `accounts[].${path}`] : [path];
}

/** The key variables, for --help and the page: what each configures. */
export const KEY_VARIABLES: readonly { env: string; help: string }[] = [
  { env: KEY_ENV_PREFIX, help: `key of account "${DEFAULT_ACCOUNT_NAME}"` },
  { env: `${KEY_ENV_PREFIX}_FILE`, help: 'file holding that key (re-read at every poll)' },
  {
    env: `${KEY_ENV_PREFIX}_<NAME>`,
    help: `key of account <name> (lower-cased), e.g. ${KEY_ENV_PREFIX}_STAGING_BACKEND`,
  },
  { env: `${KEY_ENV_PREFIX}_<NAME>_FILE`, help: 'file holding it' },
];
