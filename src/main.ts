#!/usr/bin/env node
/**
 * The process around the exporter: load the configuration, start, react to signals, and turn
 * every ending into an exit code (0 stopped by a signal, 1 crashed, 2 bad configuration).
 * Wiring only; everything else lives in the modules it calls.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { helpOrVersion, usage } from './config/cli.js';
import type { Config, ConfigSources } from './config/types.js';
import { ConfigError } from './config/errors.js';
import type { RunningExporter } from './runtime/exporter.js';
import { VERSION } from './version.js';

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
async function runOtherCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  // Imported only when asked for, so the exporter's own start-up loads nothing more.
  if (argv[0] === 'healthcheck') return (await import('./http/healthcheck.js')).runHealthcheck(argv.slice(1), env);
  // `zexa-exporter check …`: one poll of every account, with exit codes of its own.
  if (argv[0] === 'check') {
    const { nodeCheckDeps, runCheck } = await import('./check/run.js');
    return runCheck(argv.slice(1), nodeCheckDeps(env));
  }
  const request = helpOrVersion(argv);
  if (request === 'help') {
    process.stdout.write(usage());
    return EXIT_OK;
  }
  if (request === 'version') {
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
    if (error instanceof ConfigError) {
      process.stderr.write(`zexa-exporter: ${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const other = await runOtherCommand(argv, env);
  if (other !== undefined) return other;
  // The configuration loader (yaml) is imported only now, so `--version` and `--help` peak
  // near Node.js's own memory floor (BENCHMARKS.md, "Start-up commands").
  const { loadConfig, nodeConfigSources } = await import('./config/load.js');
  const sources = nodeConfigSources(argv, env);
  const config = await loadStartupConfig(sources, loadConfig);
  if (config === undefined) return EXIT_CONFIG;

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
    // A reload loads on a worker thread: /healthz keeps answering while a 1 MiB file is parsed
    // and checked, or 50,000 key files are read. Its module is imported at the first reload, and
    // only where a config file can be reloaded.
    exporter = await startExporter(config, {
      env,
      loadConfig:
        config.configFile === undefined
          ? undefined
          : async () => (await import('./config/load-in-worker.js')).loadConfigInWorker(argv, env),
    });
  } catch (error) {
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

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * V8 settings of the exporter process, set before its first request. undici parses HTTP with
 * llhttp compiled to WebAssembly; V8 first compiles it with its baseline compiler (Liftoff), then
 * recompiles it with TurboFan in the background, which costs tens of MB of transient RSS for no
 * gain: parsing one small response per poll gains nothing measurable from the optimised code, so
 * the baseline stays.
 *
 * `--optimize-for-size` makes V8's heap sizing favour memory over throughput: the old generation
 * grows by a smaller factor before the next full GC, and full GCs compact and give pages back.
 * Without it, the garbage of loading 10,000 accounts (the YAML of a large config file, key
 * reads) and of the first poll round piled up for half a minute before the first full GC. The
 * price is CPU in bursts of allocation: V8 keeps the young generation small and collects more
 * often, so re-rendering every /metrics block at once takes longer. BENCHMARKS.md ("Memory") has
 * the measured peak and steady RSS and the CPU cost with and without both flags.
 * `node --no-optimize-for-size dist/main.js` trades the memory back (NODE_OPTIONS does not take
 * V8 flags like this one). The flags exist in the V8 of Node.js 20, 22 and 24 and are set at run
 * time, before the config is loaded. V8 applies a flag's implications only when it starts, so
 * `--liftoff-only` set now no longer stopped the tier-up on Node.js 24 (V8 13.6): TurboFan
 * recompiled llhttp at the second poll, +10 to 12 MB of RSS that stayed. The two flags it implies
 * are set as well.
 */
export function tuneV8(execArgv: readonly string[] = process.execArgv): void {
  for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering']) setFlagsFromString(flag);
  if (!execArgv.includes('--no-optimize-for-size')) setFlagsFromString('--optimize-for-size');
}

if (isEntryPoint()) {
  tuneV8();
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`zexa-exporter: unhandled rejection: ${describeCrash(reason)}\n`);
    process.exit(EXIT_CRASH);
  });
  process.on('uncaughtException', (error) => {
    process.stderr.write(`zexa-exporter: crashed: ${describeCrash(error)}\n`);
    process.exit(EXIT_CRASH);
  });
  run(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`zexa-exporter: crashed: ${describeCrash(error)}\n`);
      process.exit(EXIT_CRASH);
    },
  );
}
