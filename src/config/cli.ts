/**
 * The command line: every flag (each also has an environment variable), the refusal of anything
 * that looks like a key flag, --help / --version, and the usage text. Keys have no flag, on
 * purpose: command lines show in ps and shell history.
 */
import { DEFAULTS, KEY_ENV_PREFIX, LIMITS } from './defaults.js';
import { LOG_LEVELS } from './types.js';
import { formatDuration } from './values.js';

export type FlagName = 'web.listen-address' | 'web.config.file' | 'web.max-connections' | 'log.level' | 'config.file' | 'shard';

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

export interface ParsedArgs {
  flags: Map<FlagName, { value: string; where: string }>;
  problems: string[];
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
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

/**
 * Whether the command line asks for --help (-h) or --version, before `--`. The entry points ask
 * first and print instead of loading anything, so help works in a broken environment.
 */
export function helpOrVersion(argv: readonly string[]): 'help' | 'version' | undefined {
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
