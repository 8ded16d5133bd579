/**
 * Loading: command-line flags, environment and an optional YAML file become one validated
 * Config. Precedence: flag > environment > config file > default (defaults.ts). Loading never
 * returns a partial Config: it throws a ConfigError listing every problem, one line each, naming
 * the variable, flag or field. No message ever contains a key.
 *
 * Loading is a pure function of argv, env and what its reads return, so the same code serves
 * start-up, SIGHUP / POST /-/reload and the tests. It asks for its reads as steps
 * (read-steps.ts): `loadConfig` answers them synchronously from ConfigSources (start-up, `check`),
 * `loadConfigAsync` from AsyncConfigSources without blocking the event loop (reloads).
 * `nodeConfigSources` and `nodeAsyncConfigSources` wire the real process and file system.
 */
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { KeyUnavailableError, TooManyOpenFilesError } from '../zexa/errors.js';
import { ConfigError } from './errors.js';
import { readAccountKey } from './keys.js';
import { readFileBounded, readFileBoundedAsync } from '../lib/bounded-read.js';
import { problemMessage } from '../lib/validate.js';
import { withoutKeys, withoutLikelyKeys } from '../lib/redact.js';
import { envAccounts, fileAccounts, keyVariables, type AccountCandidate } from './accounts.js';
import { parseCommandLine, type ParsedArgs } from './cli.js';
import { loadFile, valueAt, type LoadedFile } from './file.js';
import { FILE_SUFFIX, KEY_ENV_PREFIX, LIMITS, type PollLimits } from './limits.js';
import {
  ENTRIES_PER_TURN,
  readFiles,
  replay,
  runAsync,
  runSync,
  turn,
  type ReadOutcome,
  type Steps,
} from './read-steps.js';
import { SETTING_LIST, SETTINGS, type FlagName, type Setting, type SettingKey, type SettingValue } from './settings.js';
import type { AccountConfig, AsyncConfigSources, Config, ConfigSources, Thresholds } from './types.js';
import { formatDurationMs } from './values.js';

/** Where a value came from when no source gave one, and when every source given was bad. */
const DEFAULT_ORIGIN = 'default';
const INVALID_ORIGIN = 'invalid';

interface Resolved<T> {
  value: T;
  /** e.g. `--log.level`, `ZEXA_POLL_INTERVAL`, `config.yml:3: poll.interval`, or one of the two above. */
  where: string;
}

export interface LoadOptions {
  /** Bounds of the poll interval and request timeout; LIMITS (the product's) when omitted. */
  limits?: PollLimits;
}

interface LoadContext {
  sources: Pick<ConfigSources, 'argv' | 'env'>;
  limits: PollLimits;
  args: ParsedArgs;
  file: LoadedFile | undefined;
  problems: string[];
}

/** A setting's value by precedence flag > env > file > default; bad flag or env values become problems. */
function resolveSetting<T>(ctx: LoadContext, setting: Setting<T>): Resolved<T> {
  const candidates: { text: string; where: string }[] = [];
  const flag = setting.flag === undefined ? undefined : ctx.args.flags.get(setting.flag as FlagName);
  if (flag !== undefined) candidates.push({ text: flag.value, where: flag.where });
  const envValue = ctx.sources.env[setting.env];
  if (envValue !== undefined) candidates.push({ text: envValue, where: setting.env });
  let result: Resolved<T> | undefined;
  // Every given value is checked, even one a higher source overrides: a bad value waits to bite.
  for (const candidate of candidates) {
    if (candidate.text === '') {
      ctx.problems.push(
        `${candidate.where}: is set but empty (unset it to use the ${ctx.file === undefined ? 'default' : 'config file or default'})`,
      );
      continue;
    }
    let value: T;
    try {
      value = setting.parse(candidate.text, ctx.limits);
    } catch (error) {
      ctx.problems.push(`${candidate.where}: ${problemMessage(error, `is not ${setting.expected}`)}`);
      continue;
    }
    result ??= { value, where: candidate.where };
  }
  if (result !== undefined) return result;
  const fallback = setting.default;
  if (candidates.length > 0) return { value: fallback, where: INVALID_ORIGIN };
  if (ctx.file !== undefined && setting.file !== undefined) {
    if (ctx.file.invalid.has(setting.file.join('.'))) return { value: fallback, where: INVALID_ORIGIN };
    const fromFile = valueAt(ctx.file.settings, setting.file);
    if (fromFile !== undefined) return { value: fromFile as T, where: ctx.file.at(setting.file) };
  }
  return { value: fallback, where: DEFAULT_ORIGIN };
}

/** The settings resolved by resolveSettings: all but the config file, which is resolved first, to read the file. */
type ResolvedKey = Exclude<SettingKey, 'configFile'>;
type Settings = { [K in ResolvedKey]: Resolved<SettingValue<K>> };

/** Every setting of the table but the config file, resolved with its origin, in the table's order. */
function resolveSettings(ctx: LoadContext): Settings {
  const resolved: Partial<Record<SettingKey, Resolved<unknown>>> = {};
  for (const setting of SETTING_LIST) {
    if (setting.key !== 'configFile') resolved[setting.key] = resolveSetting(ctx, setting);
  }
  return resolved as Settings;
}

function from(origin: { where: string }): string {
  return origin.where === DEFAULT_ORIGIN ? 'the default' : `from ${origin.where}`;
}

function isValid(origin: { where: string }): boolean {
  return origin.where !== INVALID_ORIGIN;
}

/** A timeout someone set must fit the interval; the default shrinks to fit a short interval instead. */
function timeoutProblem(timeout: Resolved<number>, interval: Resolved<number>, limits: PollLimits): string | undefined {
  if (!isValid(timeout) || timeout.where === DEFAULT_ORIGIN || !isValid(interval)) return undefined;
  if (timeout.value <= interval.value * limits.timeoutIntervals) return undefined;
  return (
    `${timeout.where}: request timeout ${formatDurationMs(timeout.value)} is longer than the poll interval ` +
    `${formatDurationMs(interval.value)} (${from(interval)}); the timeout must be at most the interval`
  );
}

/** The global thresholds: warning must be at least critical. Names the one a user set. */
function globalThresholdProblem(warning: Resolved<number>, critical: Resolved<number>): string | undefined {
  if (!isValid(warning) || !isValid(critical) || warning.value >= critical.value) return undefined;
  return warning.where === DEFAULT_ORIGIN
    ? `${critical.where}: critical threshold ${critical.value} is above the warning threshold ${warning.value} (${from(warning)}); critical must be at most warning`
    : `${warning.where}: warning threshold ${warning.value} is below the critical threshold ${critical.value} (${from(critical)}); warning must be at least critical`;
}

/** An account's own thresholds (config-file entry `at`) against each other or the globals they merge with. */
function accountThresholdProblem(at: string, warning: Resolved<number>, critical: Resolved<number>): string {
  return (
    `${at}: warning threshold ${warning.value} (${from(warning)}) is below the critical threshold ` +
    `${critical.value} (${from(critical)}); warning must be at least critical`
  );
}

/** Reads the key file of every candidate whose file was not read yet (a `fromDirectory` file was), all in one step. */
function* readKeyFiles(candidates: readonly AccountCandidate[]): Steps<void> {
  const unread = candidates.filter((c) => c.account.key.kind === 'file' && c.read === undefined);
  const reads = yield* readFiles(unread.map((c) => (c.account.key as { path: string }).path));
  unread.forEach((candidate, i) => (candidate.read = reads[i]));
}

/**
 * Checks names for duplicates and validates each key from its one read (the keys are returned
 * only so that messages can be scrubbed of them, never stored in the Config).
 */
function* checkAccounts(
  ctx: LoadContext,
  candidates: readonly AccountCandidate[],
  settings: Settings,
): Steps<{ accounts: AccountConfig[]; keys: string[] }> {
  const { warning, critical } = settings;
  const accounts: AccountConfig[] = [];
  const byName = new Map<string, AccountCandidate>();
  const keys: string[] = [];
  const checkedThresholds = new Set<string>();
  yield* readKeyFiles(candidates);
  for (const [i, candidate] of candidates.entries()) {
    if (i > 0 && i % ENTRIES_PER_TURN === 0) yield* turn();
    const { account } = candidate;
    const first = byName.get(account.name);
    if (first !== undefined) {
      ctx.problems.push(
        `account "${account.name}" is defined twice: by ${first.definedBy} and by ${candidate.definedBy} (account names must be unique)`,
      );
      continue;
    }
    byName.set(account.name, candidate);
    try {
      // Every file candidate was read by readKeyFiles; an `env` one never calls this.
      keys.push(readAccountKey(account, ctx.sources.env, () => replay(candidate.read as ReadOutcome<string>)));
    } catch (error) {
      // Out of file descriptors is a problem of the moment, not of the key: its message says so.
      if (!(error instanceof KeyUnavailableError || error instanceof TooManyOpenFilesError)) throw error;
      ctx.problems.push(error.message);
    }
    // Checked once per config-file entry (a fromDirectory entry covers many accounts).
    const own = candidate.own;
    // A global that was bad is reported already; an account that sets both values needs no global.
    const globalsUsable =
      (own?.warning !== undefined || isValid(warning)) && (own?.critical !== undefined || isValid(critical));
    if (
      own !== undefined &&
      globalsUsable &&
      !checkedThresholds.has(own.at) &&
      account.thresholds.warning < account.thresholds.critical
    ) {
      checkedThresholds.add(own.at);
      const w = {
        value: account.thresholds.warning,
        where: own.warning === undefined ? warning.where : `${own.path}.warning`,
      };
      const c = {
        value: account.thresholds.critical,
        where: own.critical === undefined ? critical.where : `${own.path}.critical`,
      };
      ctx.problems.push(accountThresholdProblem(own.at, w, c));
    }
    accounts.push(account);
  }
  return { accounts, keys };
}

const NO_ACCOUNT =
  `no account configured: set ${KEY_ENV_PREFIX}=<your key> (or ${KEY_ENV_PREFIX}_FILE=/path/to/key-file), ` +
  `${KEY_ENV_PREFIX}_<NAME> for more accounts, or list accounts in a config file (--config.file); ` +
  'to see the exporter without a key, run `npm run demo`';

/** A path in the config file is relative to the file, as in Prometheus; flags and env are relative to the working directory. */
function webConfigPath(ctx: LoadContext, webConfig: Resolved<string | undefined>): string | undefined {
  if (webConfig.value === undefined || ctx.file === undefined || !webConfig.where.startsWith(`${ctx.file.path}:`))
    return webConfig.value;
  return resolvePath(dirname(ctx.file.path), webConfig.value);
}

function webSettings(
  ctx: LoadContext,
  s: Pick<Settings, 'listenAddress' | 'webConfigFile' | 'maxConnections' | 'maxConnectionsPerAddress'>,
): Config['web'] {
  const listen = s.listenAddress.value;
  return {
    listenAddress: listen.text,
    host: listen.host,
    port: listen.port,
    configFile: webConfigPath(ctx, s.webConfigFile),
    maxConnections: s.maxConnections.value,
    maxConnectionsPerAddress: s.maxConnectionsPerAddress.value,
  };
}

function buildConfig(
  ctx: LoadContext,
  s: Settings,
  accounts: AccountConfig[],
  thresholds: Thresholds,
  configFile: string | undefined,
): Config {
  return {
    api: {
      url: s.url.value,
      timeoutMs: s.timeout.where === DEFAULT_ORIGIN ? Math.min(s.timeout.value, s.interval.value) : s.timeout.value,
    },
    poll: {
      intervalMs: s.interval.value,
      maxConcurrency: s.maxConcurrency.value,
      maxAttempts: s.maxAttempts.value,
      maxRequestsPerSecond: s.maxRequestsPerSecond.value,
    },
    thresholds,
    accounts,
    web: webSettings(ctx, s),
    log: { level: s.logLevel.value },
    check: { timeoutMs: s.checkTimeout.value },
    shard: s.shard.value,
    configFile,
  };
}

/**
 * The command line parsed and the config file (if one is named) read: where every load starts.
 * `withoutAccounts` reads the file as if it had no `accounts` (see LoadFileOptions).
 */
function* openContext(
  sources: LoadContext['sources'],
  limits: PollLimits = LIMITS,
  withoutAccounts = false,
): Steps<{ ctx: LoadContext; configFile: Resolved<string | undefined> }> {
  const ctx: LoadContext = { sources, limits, args: parseCommandLine(sources.argv), file: undefined, problems: [] };
  ctx.problems.push(...ctx.args.problems);
  const configFile = resolveSetting(ctx, SETTINGS.configFile);
  if (configFile.value !== undefined) {
    const [read] = yield* readFiles([configFile.value]);
    ctx.file = loadFile(
      configFile.value,
      configFile.where,
      { readFile: () => replay(read as ReadOutcome<string>) },
      ctx.problems,
      { limits, withoutAccounts },
    );
  }
  return { ctx, configFile };
}

/**
 * Builds the Config from flags, environment, the optional YAML file and DEFAULTS, in that
 * precedence. Keys are read once to validate them, never stored. Throws ConfigError listing
 * every problem. (--help and --version are the entry points' business: see helpOrVersion.)
 * `options.limits` replaces the product's bounds of the interval and timeout (tests only).
 */
export function loadConfig(sources: ConfigSources, options: LoadOptions = {}): Config {
  return runSync(loadSteps(sources, options), sources);
}

/** loadConfig with reads that never block the event loop, a bounded number at a time: for reloads. */
export function loadConfigAsync(sources: AsyncConfigSources, options: LoadOptions = {}): Promise<Config> {
  return runAsync(loadSteps(sources, options), sources);
}

function* loadSteps(sources: LoadContext['sources'], options: LoadOptions): Steps<Config> {
  const { ctx, configFile } = yield* openContext(sources, options.limits);
  const settings = resolveSettings(ctx);
  for (const problem of [
    timeoutProblem(settings.timeout, settings.interval, ctx.limits),
    globalThresholdProblem(settings.warning, settings.critical),
  ]) {
    if (problem !== undefined) ctx.problems.push(problem);
  }

  const thresholds = { warning: settings.warning.value, critical: settings.critical.value };
  // A variable a config-file account names with apiKeyEnv belongs to that account, even when
  // it looks like ZEXA_API_KEY_<NAME>: otherwise the same key would be polled twice.
  const claimed = new Set(
    (ctx.file?.settings.accounts ?? []).flatMap((a) => (a.apiKeyEnv === undefined ? [] : [a.apiKeyEnv])),
  );
  const variables = keyVariables(sources.env, claimed);
  const candidates = envAccounts(ctx, variables, thresholds);
  if (ctx.file !== undefined)
    for (const candidate of yield* fileAccounts(ctx, ctx.file, thresholds)) candidates.push(candidate);
  const { accounts, keys } = yield* checkAccounts(ctx, candidates, settings);

  // Only when nothing at all names a key: otherwise the problems above already say what is wrong.
  const triedAccounts =
    variables.length > 0 ||
    claimed.size > 0 ||
    (configFile.value !== undefined && ctx.file === undefined) ||
    (ctx.file?.settings.accounts ?? []).length > 0;
  if (!triedAccounts) ctx.problems.push(NO_ACCOUNT);

  if (ctx.problems.length > 0) {
    const envKeys = [...variables.filter((v) => !v.endsWith(FILE_SUFFIX)), ...claimed].flatMap(
      (v) => sources.env[v] ?? [],
    );
    throw new ConfigError(withoutKeys([...new Set(ctx.problems)], [...keys, ...envKeys]).map(withoutLikelyKeys));
  }
  return buildConfig(ctx, settings, accounts, thresholds, configFile.value);
}

/**
 * Only where the exporter listens and its web config file, from the same flags, variables and
 * config file as loadConfig, for `zexa-exporter healthcheck`: the probe neither needs nor reads
 * the keys (the demo image has none), nor the config file's `accounts`, which are neither parsed
 * nor checked (a fleet's list is most of the file). Any problem in the settings still fails it.
 */
export function loadWebSettings(sources: ConfigSources): Config['web'] {
  const { ctx } = runSync(openContext(sources, LIMITS, true), sources);
  const web = webSettings(ctx, resolveSettings(ctx));
  if (ctx.problems.length > 0) throw new ConfigError([...new Set(ctx.problems)].map(withoutLikelyKeys));
  return web;
}

/** ConfigSources over the real file system; `argv` without the node and script paths. */
export function nodeConfigSources(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ConfigSources {
  return { argv, env, readFile: readFileBounded, readDir: (path) => readdirSync(path) };
}

/** AsyncConfigSources over the real file system: the same bounded, regular-files-only reader, without blocking. */
export function nodeAsyncConfigSources(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AsyncConfigSources {
  return { argv, env, readFile: (path) => readFileBoundedAsync(path), readDir: (path) => readdir(path) };
}
