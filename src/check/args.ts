/**
 * The command line of `zexa-exporter check`: its own flags (`--output`, `--config.check`,
 * `--warn-draining`, `--help`)
 * taken out, everything else left for the exporter's configuration loader, so the check reads
 * exactly the flags, environment and file the exporter reads. Pure; table-tested.
 */

export type CheckOutput = 'table' | 'json';

export interface CheckArgs {
  output: CheckOutput;
  /** Validate the configuration only: no request to the API. */
  configOnly: boolean;
  /** A DRAINING account is a WARNING (without it, OK: existing plugin users see no new warnings). */
  warnDraining: boolean;
  help: boolean;
  /** The arguments for loadConfig (the exporter's flags). */
  configArgv: string[];
  /** One line per problem with the check's own flags. */
  problems: string[];
}

const OUTPUTS: readonly CheckOutput[] = ['table', 'json'];

export function parseCheckArgs(argv: readonly string[]): CheckArgs {
  const args: CheckArgs = {
    output: 'table',
    configOnly: false,
    warnDraining: false,
    help: false,
    configArgv: [],
    problems: [],
  };
  let outputGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      args.configArgv.push(...argv.slice(i));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      args.help = true;
    } else if (arg === '--config.check') {
      args.configOnly = true;
    } else if (arg === '--warn-draining') {
      args.warnDraining = true;
    } else if (arg === '--output' || arg.startsWith('--output=')) {
      let value = arg === '--output' ? argv[i + 1] : arg.slice('--output='.length);
      if (arg === '--output') {
        if (value === undefined || value.startsWith('-')) value = undefined;
        else i++;
      }
      const output = OUTPUTS.find((o) => o === value);
      if (outputGiven) args.problems.push('--output is given more than once');
      else if (output === undefined) args.problems.push(`--output must be one of ${OUTPUTS.join(', ')}`);
      else args.output = output;
      outputGiven = true;
    } else {
      args.configArgv.push(arg);
    }
  }
  return args;
}

/** `zexa-exporter check --help`. */
export function checkUsage(): string {
  return [
    'Usage: zexa-exporter check [--output=table|json] [--config.check] [--warn-draining] [exporter flags]',
    '',
    'Polls every account once (retries, concurrency and request rate as configured), prints the',
    'plugin status line (ZEXA <STATE> - <summary> | <perfdata>), then one line per account, and',
    'exits. Reads the same flags, environment variables and config file as the exporter',
    '(zexa-exporter --help); a sharded replica (ZEXA_SHARD) checks its own accounts.',
    '',
    'Flags:',
    '  --output=table|json',
    '      table (default): the status line, then | account | state | balance | currency |',
    '      warning/critical | key fingerprint | detail | as long output. json: an array, one',
    '      object per account (fields in docs/check.md).',
    '  --config.check',
    '      Validate the configuration and print the accounts this replica would poll (its shard)',
    '      and their key sources; no request is made. Exit 0 when valid, 2 when not.',
    '  --warn-draining',
    '      Exit 1 (WARNING) for a DRAINING account: one that runs out within 72 h at the burn',
    '      rate of its balance history. Without it DRAINING counts as OK.',
    '  --timeout=DURATION (env ZEXA_CHECK_TIMEOUT, config file check.timeout; default 30s)',
    '      Give up after this long: exit 3, ZEXA UNKNOWN - timed out after 30s ..., with the',
    '      accounts that answered by then.',
    '  -h, --help',
    '      Show this help and exit.',
    '',
    'Exit codes (monitoring-plugin convention: Nagios, Icinga, Sensu, cron wrappers):',
    '  0  OK: every account OK',
    '  1  WARNING: any account LOW, or a key shared by two accounts',
    '  2  CRITICAL: any account CRITICAL, UNAUTHORIZED (401) or FORBIDDEN (403)',
    '  3  UNKNOWN: any poll that failed otherwise (network, timeout, 5xx, 429, bad answer,',
    '     unreadable key), the --timeout passed, no accounts to check, or an invalid configuration',
    '  When accounts differ, the most severe wins: CRITICAL, then WARNING, then UNKNOWN, then OK.',
    '',
  ].join('\n');
}
