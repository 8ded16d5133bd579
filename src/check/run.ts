/**
 * `zexa-exporter check`: load the exporter's configuration, poll every account once (or, with
 * `--config.check`, only validate), print a table or JSON, and return the exit code. Every
 * outside dependency is an argument, so tests run it in-process against the simulator.
 */
import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from '../lib/clock.js';
import { loadConfig, nodeConfigSources } from '../config/load.js';
import type { AccountConfig, Config, ConfigSources } from '../config/types.js';
import { ConfigError } from '../config/errors.js';
import { readAccountKey } from '../config/keys.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../poll/retry.js';
import { ownsAccount } from '../poll/shard.js';
import { createDispatcher } from '../zexa/client.js';
import { consumptionNow, stateWithForecast } from '../state/account-store.js';
import { checkUsage, parseCheckArgs, type CheckArgs } from './args.js';
import { describeConfig } from './config-report.js';
import { pollOnce } from './poll-once.js';
import {
  CHECK_EXIT,
  checkRow,
  outcomeExitCode,
  renderCheckJson,
  renderCheckTable,
  type CheckOutcome,
} from './report.js';

/** `--config.check` exits 0 or 2, like the exporter on a bad configuration. */
const CONFIG_CHECK_EXIT = { OK: 0, INVALID: 2 } as const;

export interface CheckDeps {
  /** Where the configuration comes from (flags other than the check's own come from here). */
  sources: Omit<ConfigSources, 'argv'>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  clock?: Clock;
  /** HTTP transport to the API; an undici EnvHttpProxyAgent when omitted. */
  dispatcher?: Dispatcher;
  retryPolicy?: RetryPolicy;
  /** Name the messages start with (`zexa-exporter check`). */
  program?: string;
  /** Hears the number of configured accounts once the configuration is loaded (V8 tuning, src/main.ts). */
  fleetSize?: (accounts: number) => void;
}

export async function runCheck(argv: readonly string[], deps: CheckDeps): Promise<number> {
  const program = deps.program ?? 'zexa-exporter check';
  try {
    return await check(argv, deps, program);
  } catch (error) {
    // Anything unforeseen is UNKNOWN to a monitoring system, not the exporter's crash code 1
    // (WARNING). Only the class and code are shown: a message of unknown origin might hold anything.
    const code = (error as { code?: unknown } | null)?.code;
    const name = error instanceof Error ? error.name : 'unknown error';
    deps.stderr(`${program}: failed: ${name}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    return CHECK_EXIT.UNKNOWN;
  }
}

async function check(argv: readonly string[], deps: CheckDeps, program: string): Promise<number> {
  const args = parseCheckArgs(argv);
  if (args.help) {
    deps.stdout(checkUsage());
    return CHECK_EXIT.OK;
  }
  const invalid = args.configOnly ? CONFIG_CHECK_EXIT.INVALID : CHECK_EXIT.UNKNOWN;
  // The check's own flags and the configuration are reported together, every problem at once.
  const problems = [...args.problems];
  let config: Config | undefined;
  try {
    config = loadConfig({ ...deps.sources, argv: args.configArgv });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (config === undefined || problems.length > 0) {
    deps.stderr(`${program}: ${new ConfigError(problems).message}\n`);
    return invalid;
  }
  deps.fleetSize?.(config.accounts.length);
  const accounts = config.accounts.filter((a) => config.shard === undefined || ownsAccount(a.name, config.shard));
  if (args.configOnly) {
    deps.stdout(
      describeConfig(config, accounts, args.output, (account) =>
        readAccountKey(account, deps.sources.env, deps.sources.readFile),
      ),
    );
    return CONFIG_CHECK_EXIT.OK;
  }
  if (accounts.length === 0) {
    const shard =
      config.shard === undefined
        ? ''
        : ` (shard ${config.shard.index}/${config.shard.count} owns none of the ${config.accounts.length})`;
    deps.stderr(`${program}: no accounts to check${shard}\n`);
    return CHECK_EXIT.UNKNOWN;
  }
  let dispatcher: Dispatcher;
  try {
    dispatcher = deps.dispatcher ?? createDispatcher({ timeoutMs: config.api.timeoutMs, env: deps.sources.env });
  } catch (error) {
    // A proxy variable that is not an http(s) URL: a configuration problem like any other.
    if (!(error instanceof RangeError)) throw error;
    deps.stderr(`${program}: ${new ConfigError([error.message]).message}\n`);
    return CHECK_EXIT.UNKNOWN;
  }
  try {
    return await checkAccounts(config, accounts, args, { ...deps, dispatcher });
  } finally {
    if (deps.dispatcher === undefined) await dispatcher.destroy().catch(() => undefined);
  }
}

async function checkAccounts(
  config: Config,
  accounts: readonly AccountConfig[],
  args: Pick<CheckArgs, 'output' | 'warnDraining'>,
  deps: CheckDeps & { dispatcher: Dispatcher },
): Promise<number> {
  const clock = deps.clock ?? systemClock;
  const { store, keys, unanswered } = await pollOnce(config, accounts, {
    clock,
    dispatcher: deps.dispatcher,
    env: deps.sources.env,
    readFile: deps.sources.readFile,
    retryPolicy: deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
  });
  const sourceOf = new Map(accounts.map((a) => [a.name, a.key.kind]));
  const nowMs = clock.now();
  const waiting = new Set(unanswered);
  const rows = store
    .list()
    .filter((status) => !waiting.has(status.name))
    .map((status) =>
      checkRow(status, sourceOf.get(status.name) ?? 'env', keys.sharedWith(status.name), {
        state: stateWithForecast(status, () => consumptionNow(status, store.history, nowMs)),
        warnDraining: args.warnDraining,
      }),
    );
  const outcome: CheckOutcome =
    unanswered.length === 0 ? { rows } : { rows, timedOut: { afterMs: config.check.timeoutMs, unanswered } };
  deps.stdout(args.output === 'json' ? renderCheckJson(outcome) : renderCheckTable(outcome));
  return outcomeExitCode(outcome);
}

/** The real process: stdout, stderr, environment and the bounded file reader. */
export function nodeCheckDeps(env: Readonly<Record<string, string | undefined>>): CheckDeps {
  return {
    sources: nodeConfigSources([], env),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}
