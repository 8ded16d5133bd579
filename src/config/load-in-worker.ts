/**
 * Loading the configuration on a worker thread, for reloads. loadConfigAsync reads without
 * blocking the event loop, but the YAML parse and the checks of every entry are CPU work on the
 * thread that runs them: a 1 MiB file of 18,382 accounts held the event loop for 1.3 s, and
 * /healthz with it (2.5 s on a busy 2-core machine). On a worker the main thread only waits, and
 * receives the finished Config (plain data, which survives the structured clone) or the problems.
 *
 * The worker is bounded: one per reload, terminated as soon as it has answered; a heap of at most
 * RELOAD_WORKER_BOUNDS.memoryMb; at most RELOAD_WORKER_BOUNDS.timeoutMs to answer, after which it
 * is terminated and the reload refused. A refused reload keeps the running configuration
 * (runtime/exporter.ts). Nothing the worker was given (the environment holds keys) goes into a
 * message: the problems it posts are the loader's, already scrubbed of keys, and any other failure
 * becomes a fixed line.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { AccountConfig, Config } from './types.js';

/** What the worker is started with (workerData). */
export interface LoadRequest {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * What it posts back: the outcome once (a Config without its accounts and how many there are, or
 * the problems, or a failure), then one piece of the accounts per request for more.
 */
export type LoadAnswer =
  | { kind: 'config'; config: Config; accounts: number }
  | { kind: 'accounts'; accounts: AccountConfig[] }
  | { kind: 'problems'; problems: readonly string[] }
  | { kind: 'failed' };

/** What the main thread sends: the next piece of the accounts, please. */
const MORE_ACCOUNTS = 'more';

export interface WorkerBounds {
  /** Heap (V8's old generation) the worker may use, in MiB. */
  memoryMb: number;
  /** How long a load may take before the worker is terminated and the reload refused. */
  timeoutMs: number;
}

/**
 * 256 MiB: the largest file allowed (1 MiB, 18,382 accounts) loads within a 96 MiB heap and not
 * within 48 MiB. 60 s: such a file loads in 8-16 s on a 2-core machine at a load average of 14.
 */
export const RELOAD_WORKER_BOUNDS: Readonly<WorkerBounds> = { memoryMb: 256, timeoutMs: 60_000 };

/**
 * tsx's loader, a devDependency: registered only when this module runs from the TypeScript
 * sources (tests, tsx). dist/ is never that, so an installed exporter never loads it, and the
 * production-install test, which refuses dist/ files naming a package that `npm ci --omit=dev`
 * does not install, holds every other import to that.
 */
const TS_LOADER = 'tsx/esm/api';

/**
 * The worker from the compiled file beside this one; from the TypeScript sources the worker
 * registers tsx's loader first, as Node.js does not run .ts files by itself (and a worker does
 * not take `--import` in its execArgv).
 */
function startWorker(request: LoadRequest, resourceLimits: ResourceLimits): Worker {
  const options = { workerData: request, resourceLimits };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./load-worker.js', import.meta.url), options);
  const source = JSON.stringify(new URL('./load-worker.ts', import.meta.url).href);
  const boot = `import(${JSON.stringify(TS_LOADER)}).then((tsx) => { tsx.register(); return import(${source}); });`;
  return new Worker(boot, { ...options, eval: true });
}

function refusal(error: unknown, bounds: WorkerBounds): Error {
  if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY')
    return new ConfigError([
      `the configuration could not be loaded: loading it needed more than ${bounds.memoryMb} MiB of memory`,
    ]);
  // Its own message is not ours to print: it may quote what the worker was loading.
  return new Error('the configuration loader failed');
}

/**
 * loadConfigAsync(nodeAsyncConfigSources(argv, env)) on a worker thread: the same Config, or the
 * same ConfigError with the same problems. Also a ConfigError when the worker runs out of its
 * memory or time.
 */
export function loadConfigInWorker(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  bounds: WorkerBounds = RELOAD_WORKER_BOUNDS,
): Promise<Config> {
  return new Promise<Config>((resolve, reject) => {
    const worker = startWorker({ argv: [...argv], env: { ...env } }, { maxOldGenerationSizeMb: bounds.memoryMb });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new ConfigError([
              `the configuration could not be loaded within ${bounds.timeoutMs / 1000} s; the loader was stopped`,
            ]),
          ),
        ),
      bounds.timeoutMs,
    );
    let head: { config: Config; accounts: number } | undefined;
    const accounts: AccountConfig[] = [];
    const more = (): void => {
      if (accounts.length < (head?.accounts ?? 0)) worker.postMessage(MORE_ACCOUNTS);
      else settle(() => resolve({ ...(head as { config: Config }).config, accounts }));
    };
    worker.on('message', (answer: LoadAnswer) => {
      if (answer.kind === 'config') {
        head = answer;
        more();
      } else if (answer.kind === 'accounts') {
        for (const account of answer.accounts) accounts.push(account);
        more();
      } else if (answer.kind === 'problems') {
        settle(() => reject(new ConfigError(answer.problems)));
      } else {
        settle(() => reject(new Error('the configuration loader failed')));
      }
    });
    worker.on('error', (error) => settle(() => reject(refusal(error, bounds))));
    worker.on('exit', () => settle(() => reject(new Error('the configuration loader stopped without an answer'))));
  });
}
