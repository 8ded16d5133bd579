/**
 * The command line, split by node:util parseArgs: every flag (each also has an environment
 * variable), the refusal of anything that looks like a key flag, --help / --version, and the
 * usage text. Keys have no flag, on purpose: command lines show in ps and shell history.
 */
import { parseArgs } from 'node:util';
import { DEFAULTS, KEY_ENV_PREFIX, LIMITS } from './defaults.js';
import { LOG_LEVELS } from './types.js';
import { formatDurationMs } from './values.js';

export type FlagName = 'web.listen-address' | 'web.config.file' | 'web.max-connections' | 'web.max-connections-per-address' | 'log.level' | 'config.file' | 'shard';

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
  { name: 'web.max-connections', env: 'ZEXA_EXPORTER_WEB_MAX_CONNECTIONS', help: `Open client connections at most (${LIMITS.maxConnections.min}-${LIMITS.maxConnections.max}); further ones are closed at once. Keep it well below ulimit -n.`, defaultText: String(DEFAULTS.web.maxConnections) },
  { name: 'web.max-connections-per-address', env: 'ZEXA_EXPORTER_WEB_MAX_CONNECTIONS_PER_ADDRESS', help: 'Open client connections from one remote address at most; further ones from it are closed at once, so one client cannot hold the whole cap.', defaultText: String(DEFAULTS.web.maxConnectionsPerAddress) },
  { name: 'log.level', env: 'ZEXA_EXPORTER_LOG_LEVEL', help: `Log level: ${LOG_LEVELS.join(', ')}.`, defaultText: DEFAULTS.log.level },
  { name: 'config.file', env: 'ZEXA_EXPORTER_CONFIG', help: 'YAML config file (accounts, per-account thresholds); reloaded on SIGHUP and POST /-/reload.', defaultText: 'none' },
  { name: 'shard', env: 'ZEXA_SHARD', help: 'Poll only the accounts of shard INDEX/COUNT (0-based, e.g. 1/2).', defaultText: 'none' },
];

/** Environment-only settings, in the order usage() lists them. */
const ENV_SETTINGS: readonly { env: string; help: string; defaultText: string }[] = [
  { env: 'ZEXA_API_URL', help: 'Base URL of the Zexa API (http or https).', defaultText: DEFAULTS.api.url },
  { env: 'ZEXA_POLL_INTERVAL', help: `How often each account is polled (90, 30s, 5m; ${formatDurationMs(LIMITS.intervalMs.min)} to ${formatDurationMs(LIMITS.intervalMs.max)}).`, defaultText: formatDurationMs(DEFAULTS.poll.intervalMs) },
  { env: 'ZEXA_REQUEST_TIMEOUT', help: `Timeout of one request (${formatDurationMs(LIMITS.timeoutMs.min)} to ${formatDurationMs(LIMITS.timeoutMs.max)}, at most the interval).`, defaultText: formatDurationMs(DEFAULTS.api.timeoutMs) },
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

export interface ParsedArgs {
  flags: Map<FlagName, { value: string; where: string }>;
  problems: string[];
}

/** One command-line argument that parseArgs saw as an option (a short group such as `-abc` is one). */
interface OptionArg {
  /** Its position in argv. */
  index: number;
  doubleDash: boolean;
  name: string;
  /** The value after `=`, if any. */
  inline: string | undefined;
  /** The argument after it, when that one can be its value (it does not start with a dash). */
  next: string | undefined;
}

/**
 * The command line as node:util parseArgs splits it: options, positionals and the `--` that ends
 * the options. The flags are not declared to parseArgs, and strict mode is off, on purpose: a
 * declared string flag takes the next argument as its value even when that is another flag or
 * `--`, and strict mode stops at the first problem with a message that quotes the argument,
 * which may be a key. So parseArgs finds the arguments and the rules below judge them, every
 * problem at once and in our own words. A value is given as `--flag=VALUE` or `--flag VALUE`
 * (then it must not start with a dash).
 */
function commandLineTokens(argv: readonly string[]): { options: OptionArg[]; positionals: number } {
  // parseArgs reads `-abc` as the group -a -b -c, and a `-` inside a group as `--`, which ends
  // the options and shifts the indexes of the tokens after it (it re-reads each letter as an
  // argument of its own). Here a single-dash argument is judged whole, so parseArgs gets a
  // stand-in for it, and the argument itself is read back from argv by index.
  const args = argv.map((arg) => (/^-[^-][\s\S]/.test(arg) ? '-_' : arg));
  const { tokens } = parseArgs({ args, options: {}, strict: false, allowPositionals: true, tokens: true });
  const positionalAt = new Map<number, string>();
  for (const token of tokens) if (token.kind === 'positional') positionalAt.set(token.index, token.value);
  const options: OptionArg[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const arg = argv[token.index] ?? '';
    const doubleDash = arg.startsWith('--');
    const body = arg.slice(doubleDash ? 2 : 1);
    const eq = body.indexOf('=');
    const next = positionalAt.get(token.index + 1);
    options.push({
      index: token.index,
      doubleDash,
      name: eq < 0 ? body : body.slice(0, eq),
      inline: eq < 0 ? undefined : body.slice(eq + 1),
      next: next !== undefined && !next.startsWith('-') ? next : undefined,
    });
  }
  return { options, positionals: positionalAt.size };
}

/**
 * Reads the exporter's flags. Every problem is reported, and nothing that may be a key is
 * echoed: key-like flags are refused, flag names are shown only when shaped like flags, and
 * positional arguments are counted, never shown.
 */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const flags = new Map<FlagName, { value: string; where: string }>();
  const problems: string[] = [];
  const { options, positionals } = commandLineTokens(argv);
  /** Arguments taken as a flag's value (or as the value of a refused flag), so not positionals. */
  let values = 0;
  for (const option of options) {
    const { name, inline, next } = option;
    const spec = ownFlag(option);
    if (typeof spec === 'string') {
      problems.push(spec);
      if (inline === undefined && next !== undefined) values += 1;
      continue;
    }
    const value = inline ?? next;
    if (value === undefined) {
      problems.push(`--${name} needs a value (--${name}=VALUE or --${name} VALUE)`);
      continue;
    }
    if (inline === undefined) values += 1;
    if (flags.has(spec.name)) {
      problems.push(`--${name} is given more than once`);
      continue;
    }
    flags.set(spec.name, { value, where: `--${name}` });
  }
  const extra = positionals - values;
  if (extra > 0) {
    problems.push(
      `${extra} positional argument${extra === 1 ? '' : 's'} given, but zexa-exporter takes none ` +
        '(not shown, in case it is a key; settings are --flags or environment variables, see --help)',
    );
  }
  return { flags, problems };
}

/** The flag an option names, or why it is refused: a key flag, an unknown flag, a single dash. */
function ownFlag({ name, doubleDash }: OptionArg): FlagSpec | string {
  const shown = ECHOABLE_FLAG.test(name) ? `${doubleDash ? '--' : '-'}${name}` : '(name not shown, in case it is a key)';
  if (KEY_FLAG.test(name)) {
    return (
      `${shown}: keys are never accepted on the command line (command lines show in ps and shell history); ` +
      'set ZEXA_API_KEY or ZEXA_API_KEY_FILE (ZEXA_API_KEY_<NAME>[_FILE] for more accounts) instead'
    );
  }
  const spec = FLAGS.find((f) => f.name === name);
  if (spec !== undefined && doubleDash) return spec;
  const hint = spec !== undefined ? ` (flags start with two dashes: --${spec.name})` : ' (see --help)';
  return `unknown flag ${shown}${hint}`;
}

/**
 * Whether the command line asks for --help (-h) or --version, before `--`. The entry points ask
 * first and print instead of loading anything, so help works in a broken environment.
 */
export function helpOrVersion(argv: readonly string[]): 'help' | 'version' | undefined {
  const asked = new Set(commandLineTokens(argv).options.map((o) => argv[o.index]));
  if (asked.has('--help') || asked.has('-h')) return 'help';
  if (asked.has('--version')) return 'version';
  return undefined;
}

/** The --help text: every flag and environment variable with its default. */
export function usage(): string {
  const lines = [
    'Usage: zexa-exporter [flags]',
    '       zexa-exporter check [--output=table|json] [--config.check] [flags]',
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
    'zexa-exporter check: poll every account once, print a table (or --output=json) and exit',
    '  0 all OK, 1 any LOW or a key shared by two accounts, 2 any CRITICAL, UNAUTHORIZED or',
    '  FORBIDDEN, 3 UNKNOWN (network or other error, no accounts, invalid configuration).',
    '  --config.check validates the configuration without any request (exit 0 or 2).',
    '  Details: zexa-exporter check --help',
    '',
  );
  return lines.join('\n');
}
