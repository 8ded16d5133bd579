/**
 * The command line, split by node:util parseArgs: every flag (each also has an environment
 * variable), the refusal of anything that looks like a key flag, --help / --version, and the
 * usage text. Keys have no flag, on purpose: command lines show in ps and shell history.
 */
import { parseArgs } from 'node:util';
import {
  defaultText,
  fileFields,
  KEY_VARIABLES,
  SETTING_LIST,
  type AnySetting,
  type FlagName,
  type ListedSetting,
} from './settings.js';

type FlagSpec = ListedSetting & { flag: FlagName };

/** Every flag, from the settings table; each also has an environment variable. Keys have none, on purpose. */
const FLAGS: readonly FlagSpec[] = SETTING_LIST.filter((s): s is FlagSpec => s.flag !== undefined);

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
    if (flags.has(spec.flag)) {
      problems.push(`--${name} is given more than once`);
      continue;
    }
    flags.set(spec.flag, { value, where: `--${name}` });
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
  const shown = ECHOABLE_FLAG.test(name)
    ? `${doubleDash ? '--' : '-'}${name}`
    : '(name not shown, in case it is a key)';
  if (KEY_FLAG.test(name)) {
    return (
      `${shown}: keys are never accepted on the command line (command lines show in ps and shell history); ` +
      'set ZEXA_API_KEY or ZEXA_API_KEY_FILE (ZEXA_API_KEY_<NAME>[_FILE] for more accounts) instead'
    );
  }
  const spec = FLAGS.find((f) => f.flag === name);
  if (spec !== undefined && doubleDash) return spec;
  const hint = spec !== undefined ? ` (flags start with two dashes: --${spec.flag})` : ' (see --help)';
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

/** A setting's entry in --help: its help, then where else it is read from and its default. */
function usageEntry(setting: AnySetting, first: string): string[] {
  const fields = fileFields(setting);
  const file = fields.length === 0 ? '' : `; config file ${fields.join(', ')}`;
  const env = setting.flag === undefined ? '' : `env ${setting.env}; `;
  return [`  ${first}`, `      ${setting.help}`, `      ${env}default ${defaultText(setting)}${file}`];
}

/** The --help text: every setting of the table with its flag, variable, config-file field and default. */
export function usage(): string {
  const lines = [
    'Usage: zexa-exporter [flags]',
    '       zexa-exporter check [--output=table|json] [--config.check] [--warn-draining] [flags]',
    '',
    'Prometheus exporter for the message-credit balance of Zexa API keys.',
    'Precedence: flag > environment variable > config file > default.',
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const flag of FLAGS) lines.push(...usageEntry(flag, `--${flag.flag}=VALUE`));
  lines.push(
    '  -h, --help',
    '      Show this help and exit.',
    '  --version',
    '      Show the version and exit.',
    '',
    'Environment variables:',
  );
  for (const setting of SETTING_LIST) if (setting.flag === undefined) lines.push(...usageEntry(setting, setting.env));
  const width = Math.max(...KEY_VARIABLES.map((k) => k.env.length)) + 2;
  lines.push(
    '',
    'Keys (never on the command line: command lines show in ps):',
    ...KEY_VARIABLES.map((k) => `  ${k.env.padEnd(width)}${k.help}`),
    '  Config file accounts name apiKeyFile, apiKeyEnv, or fromDirectory (one key file per account).',
    '',
    'Without a key, `npm run demo` shows the exporter against a built-in API simulator.',
    '',
    'zexa-exporter check: poll every account once (until --timeout), print the plugin status line',
    'and a table (or --output=json) and exit',
    '  0 all OK, 1 any LOW or a key shared by two accounts, 2 any CRITICAL, UNAUTHORIZED or',
    '  FORBIDDEN, 3 UNKNOWN (network or other error, no accounts, invalid configuration).',
    '  --config.check validates the configuration without any request (exit 0 or 2).',
    '  Details: zexa-exporter check --help',
    '',
  );
  return lines.join('\n');
}
