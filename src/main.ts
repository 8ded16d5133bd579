#!/usr/bin/env node
/**
 * The process around the exporter: load the configuration, start, react to signals, and turn
 * every ending into an exit code (0 stopped by a signal, 1 crashed, 2 bad configuration).
 * Wiring only; everything else lives in the modules it calls, imported when needed: at its top
 * level this file imports types only, so tuneV8 sets V8's flags before any other module loads.
 */
import type { Config, ConfigSources } from './config/types.js';
import type { RunningExporter } from './runtime/exporter.js';

export const EXIT_OK = 0;
export const EXIT_CRASH = 1;
export const EXIT_CONFIG = 2;

/** Never lets more than the error's class and a fixed text reach the terminal for the unknown. */
function describeCrash(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` (${code})` : ''}: ${error.message}`;
  }
  return 'unknown error';
}

/** The exit code of `healthcheck`, `check`, `--help` and `--version`; undefined for the exporter itself. */
async function runOtherCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  v8Tuning: V8Tuning,
): Promise<number | undefined> {
  // Imported only when asked for, so the exporter's own start-up loads nothing more.
  if (argv[0] === 'healthcheck') return (await import('./http/healthcheck.js')).runHealthcheck(argv.slice(1), env);
  // `zexa-exporter check …`: one poll of every account, with exit codes of its own.
  if (argv[0] === 'check') {
    const { nodeCheckDeps, runCheck } = await import('./check/run.js');
    return runCheck(argv.slice(1), { ...nodeCheckDeps(env), fleetSize: (accounts) => v8Tuning.fleetSize(accounts) });
  }
  const { helpOrVersion, usage } = await import('./config/cli.js');
  const request = helpOrVersion(argv);
  if (request === 'help') {
    process.stdout.write(usage());
    return EXIT_OK;
  }
  if (request === 'version') {
    const { VERSION } = await import('./version.js');
    process.stdout.write(`zexa-exporter ${VERSION} (Node.js ${process.version})\n`);
    return EXIT_OK;
  }
  return undefined;
}

/** The configuration with its web config checked, or undefined once a refusal is on stderr. */
async function loadStartupConfig(
  sources: ConfigSources,
  loadConfig: (sources: ConfigSources) => Config,
): Promise<Config | undefined> {
  try {
    const config = loadConfig(sources);
    // The web config is checked here too, before the HTTP, metrics and API client modules are
    // imported: a refused file (a FIFO, a device, an over-cap file) then ends the process at the
    // configuration loader's memory floor, well below the running exporter's (BENCHMARKS.md), on
    // every Node.js version (the exporter re-reads the file when it starts and on every change).
    if (config.web.configFile !== undefined)
      (await import('./http/web-config/parse.js')).loadWebConfig(config.web.configFile);
    return config;
  } catch (error) {
    const { ConfigError } = await import('./config/errors.js');
    if (error instanceof ConfigError) {
      process.stderr.write(`zexa-exporter: ${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

/**
 * How a reload loads the configuration, where a config file can be reloaded: on a worker thread,
 * so /healthz keeps answering while a 1 MiB file is parsed and checked, or 50,000 key files are
 * read. Its module is imported at the first reload.
 */
function reloadLoader(
  config: Config,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  v8Tuning: V8Tuning,
): (() => Promise<Config>) | undefined {
  if (config.configFile === undefined) return undefined;
  return async () => {
    const next = await (await import('./config/load-in-worker.js')).loadConfigInWorker(argv, env);
    v8Tuning.fleetSize(next.accounts.length);
    return next;
  };
}

/**
 * `v8Tuning` hears the number of configured accounts after every configuration load (start-up
 * and each reload), to turn V8's optimising compilers on for a large fleet (tuneV8, below).
 */
export async function run(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  v8Tuning: V8Tuning = { fleetSize: () => {} },
): Promise<number> {
  const other = await runOtherCommand(argv, env, v8Tuning);
  if (other !== undefined) return other;
  // The configuration loader (yaml) is imported only now, so `--version` and `--help` peak
  // near Node.js's own memory floor (BENCHMARKS.md, "Start-up commands").
  const { loadConfig, nodeConfigSources } = await import('./config/load.js');
  const sources = nodeConfigSources(argv, env);
  const config = await loadStartupConfig(sources, loadConfig);
  if (config === undefined) return EXIT_CONFIG;
  v8Tuning.fleetSize(config.accounts.length);

  // Signals are handled from here on, so one that arrives while the exporter starts is not
  // fatal (SIGHUP's default action would end the process) but acted on once it runs.
  let exporter: RunningExporter | undefined;
  let stopRequested: NodeJS.Signals | undefined;
  let reloadRequested = false;
  let onStop: (signal: NodeJS.Signals) => void = (signal) => {
    stopRequested ??= signal;
  };
  const handleStop = (signal: NodeJS.Signals): void => onStop(signal);
  const handleReload = (): void => {
    if (exporter === undefined) {
      reloadRequested = true;
      return;
    }
    void exporter.reload('SIGHUP');
  };
  process.on('SIGTERM', handleStop);
  process.on('SIGINT', handleStop);
  process.on('SIGHUP', handleReload);

  const { startExporter } = await import('./runtime/exporter.js');
  try {
    exporter = await startExporter(config, { env, loadConfig: reloadLoader(config, argv, env, v8Tuning) });
  } catch (error) {
    const { ConfigError } = await import('./config/errors.js');
    if (error instanceof ConfigError) {
      process.stderr.write(`zexa-exporter: ${error.message}\n`);
      return EXIT_CONFIG;
    }
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`zexa-exporter: cannot listen on ${config.web.listenAddress}: ${String(code)}\n`);
      return EXIT_CONFIG;
    }
    throw error;
  }
  const running = exporter;
  if (reloadRequested) handleReload();

  return new Promise<number>((resolve) => {
    let stopping = false;
    onStop = (signal) => {
      if (stopping) return;
      stopping = true;
      running.logger.info({ signal }, 'stopping');
      // Shutdown must finish within 5 s; if anything hangs, leave anyway.
      const force = setTimeout(() => resolve(EXIT_OK), 4500);
      force.unref();
      void running.close().then(() => {
        clearTimeout(force);
        resolve(EXIT_OK);
      });
    };
    if (stopRequested !== undefined) onStop(stopRequested);
  });
}

/**
 * V8 settings of the process, set at run time through `v8.setFlagsFromString` before anything
 * else runs (`setFlag` is passed in so tests see which flags are set). BENCHMARKS.md ("Where the
 * memory goes") has what each one was measured to save and to cost.
 *
 * WebAssembly. undici parses HTTP with llhttp compiled to WebAssembly; V8 first compiles it with
 * its baseline compiler (Liftoff), then recompiles it with TurboFan in the background, which costs
 * tens of MB of transient RSS for no gain: parsing one small response per poll gains nothing
 * measurable from the optimised code, so the baseline stays. V8 applies a flag's implications only
 * when it starts, so `--liftoff-only` set at run time no longer stopped the tier-up on Node.js 24
 * (V8 13.6): TurboFan recompiled llhttp at the second poll, +10 to 12 MB of RSS that stayed. The
 * two flags it implies are set as well.
 *
 * Heap sizing. `--optimize-for-size` makes V8's heap sizing favour memory over throughput: the old
 * generation grows by a smaller factor before the next full GC, and full GCs compact and give
 * pages back. Without it, the garbage of loading 10,000 accounts (the YAML of a large config file,
 * key reads) and of the first poll round piled up for half a minute before the first full GC. The
 * price is CPU in bursts of allocation: V8 keeps the young generation small and collects more
 * often, so re-rendering every /metrics block at once takes longer.
 * `node --no-optimize-for-size dist/main.js` trades the memory back (NODE_OPTIONS does not take
 * V8 flags like this one).
 *
 * Optimising compilers by fleet size. JavaScript starts in V8's interpreter and its baseline
 * compiler (Sparkplug); code that runs hot is recompiled by Maglev, then TurboFan. The first
 * function either compiles maps in MB of the `node` executable's own machine code (on Node.js 24
 * about 4.6 MB for TurboFan and 1.5 MB for Maglev), which stays in RSS with their zones and the
 * code they produce. A small exporter has nothing to gain from them: what got hot at 10 accounts
 * was start-up (the module loader's path functions) and, after a minute or two, undici's header
 * lookup. So the process starts with both off, and they are turned back on (V8's defaults) once a
 * configuration lists OPTIMIZE_FROM_ACCOUNTS accounts or more. Measured on Node.js 24 with 5 s
 * polls and a scrape every second for 60 s: at 199 accounts the exporter used the same CPU either
 * way (9.2 s) and 10 MB less RSS without them; at 1,000 it used 24 % more CPU without them. Once
 * on, they stay on: a reload that shrinks the fleet leaves the compiled code and the mapped pages
 * where they are. An operator who names either compiler on the command line (`node --turbofan …`,
 * `node --no-maglev …`) decides alone: the process then leaves both as they are.
 *
 * This file imports nothing at its top level (the rest comes by `import()`, builtins through
 * `process.getBuiltinModule`): resolving and linking modules before the flags are set was path
 * work enough for V8 to compile two of its own path functions with Maglev, 2.5 MB of RSS.
 */
export const OPTIMIZE_FROM_ACCOUNTS = 200;

type SetV8Flag = (flag: string) => void;

const COMPILER_FLAG = /^--(no-)?(turbofan|opt|maglev)$/;

/**
 * The optimising compilers V8 enables by default: TurboFan always, Maglev from V8 12 (Node.js 22);
 * Node.js 20's V8 11.3 ships Maglev off, so it is left alone there.
 */
function defaultCompilers(v8Version: string): string[] {
  return Number(v8Version.split('.')[0]) >= 12 ? ['turbofan', 'maglev'] : ['turbofan'];
}

export interface V8Tuning {
  /** Hears the number of configured accounts after every configuration load. */
  fleetSize(accounts: number): void;
}

/** Sets the start-up flags and returns the hook that turns the optimising compilers on. */
export function tuneV8(
  execArgv: readonly string[] = process.execArgv,
  setFlag: SetV8Flag = (flag) => process.getBuiltinModule('node:v8').setFlagsFromString(flag),
  v8Version: string = process.versions.v8,
): V8Tuning {
  for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering']) setFlag(flag);
  if (!execArgv.includes('--no-optimize-for-size')) setFlag('--optimize-for-size');
  if (execArgv.some((arg) => COMPILER_FLAG.test(arg))) return { fleetSize: () => {} };
  const compilers = defaultCompilers(v8Version);
  for (const name of compilers) setFlag(`--no-${name}`);
  let optimizing = false;
  return {
    fleetSize(accounts) {
      if (optimizing || accounts < OPTIMIZE_FROM_ACCOUNTS) return;
      optimizing = true;
      for (const name of compilers) setFlag(`--${name}`);
    },
  };
}

/**
 * Whether this file is the program node runs (not a module a test imported). Node.js gives
 * argv[1] as an absolute path, which is this file's own unless a symlink (an npm bin) leads
 * here; only then are both paths resolved. The common case touches no path function: that path
 * work, before tuneV8 has set its flags, was enough for V8 to compile one of them with Maglev.
 */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  if (entry === import.meta.filename) return true;
  try {
    const { realpathSync } = process.getBuiltinModule('node:fs');
    const { fileURLToPath } = process.getBuiltinModule('node:url');
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const v8Tuning = tuneV8();
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`zexa-exporter: unhandled rejection: ${describeCrash(reason)}\n`);
    process.exit(EXIT_CRASH);
  });
  process.on('uncaughtException', (error) => {
    process.stderr.write(`zexa-exporter: crashed: ${describeCrash(error)}\n`);
    process.exit(EXIT_CRASH);
  });
  run(process.argv.slice(2), process.env, v8Tuning).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`zexa-exporter: crashed: ${describeCrash(error)}\n`);
      process.exit(EXIT_CRASH);
    },
  );
}
