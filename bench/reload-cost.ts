/**
 * `npm run load:reload`: the reload cost of issue 12. An exporter with N accounts in one
 * `fromDirectory` folder (default 50,000) is reloaded a few times while a client asks /healthz
 * every 20 ms; measured per reload: how long it took, the longest stall of the
 * event loop (the largest gap between ticks of a 10 ms timer, minus 10 ms) and the /healthz
 * answers and their slowest. The exporter runs in this process, wired as src/main.ts wires it
 * (`loadConfigAsync` over the real file system); `--sync` reloads with the synchronous loader
 * instead, as before issue 12, for comparison. Polls go to a local stand-in answering at once,
 * once an hour, so after the first round only the reloads run.
 *
 *   npm run load:reload [-- --accounts 50000 --reloads 3 --sync --json]
 *
 * Passes when no reload stalled the event loop for more than 100 ms (the bound issue 12 sets for
 * /healthz). Exit code: 0 pass, 1 fail, 2 bad arguments.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig, loadConfigAsync, nodeAsyncConfigSources, nodeConfigSources } from '../src/config/load.js';
import { startExporter } from '../src/runtime/exporter.js';
import { startScriptedApi } from '../test/support/scripted-api.js';

const STALL_LIMIT_MS = 100;
const TICK_MS = 10;
const PROBE_GAP_MS = 20;

export interface ReloadFigures {
  durationMs: number;
  longestStallMs: number;
  healthzAnswers: number;
  slowestHealthzMs: number;
}

/** Largest gap between ticks of a TICK_MS timer while `work` runs, minus TICK_MS. */
async function watchLoop<T>(work: () => Promise<T>): Promise<{ result: T; longestStallMs: number }> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - TICK_MS);
    last = now;
  }, TICK_MS);
  try {
    const result = await work();
    longest = Math.max(longest, performance.now() - last - TICK_MS);
    return { result, longestStallMs: Math.max(0, longest) };
  } finally {
    clearInterval(timer);
  }
}

export async function measureReloads(
  accounts: number,
  reloads: number,
  sync: boolean,
  log: (line: string) => void,
): Promise<ReloadFigures[]> {
  const root = mkdtempSync(join(tmpdir(), 'zexa-reload-cost-'));
  const api = await startScriptedApi(['4250']);
  try {
    const keys = join(root, 'keys');
    mkdirSync(keys);
    // Not real keys: fixed, distinct, visibly fake.
    for (let i = 0; i < accounts; i++)
      writeFileSync(join(keys, `acct_${i}`), `zxbench_reload_${String(i).padStart(8, '0')}\n`);
    const configFile = join(root, 'config.yml');
    writeFileSync(
      configFile,
      `api: { url: "${api.url}" }\npoll: { interval: 1h, maxConcurrency: 64 }\naccounts:\n  - fromDirectory: ${keys}\n`,
    );
    const argv = ['--web.listen-address=127.0.0.1:0', `--config.file=${configFile}`, '--log.level=warn'];
    const reloadSources = nodeAsyncConfigSources(argv, {});
    const exporter = await startExporter(loadConfig(nodeConfigSources(argv, {})), {
      env: {},
      processMetrics: false,
      loadConfig: sync ? () => loadConfig(nodeConfigSources(argv, {})) : () => loadConfigAsync(reloadSources),
    });
    try {
      log(`${accounts} accounts: waiting for the first round of polls`);
      while ((await fetch(`${exporter.url}/readyz`)).status !== 200)
        await new Promise((resolve) => setTimeout(resolve, 500));
      const figures: ReloadFigures[] = [];
      for (let n = 0; n < reloads; n++) {
        let done = false;
        let answers = 0;
        let slowest = 0;
        // One probe every 20 ms, as a liveness probe would ask, only much more often.
        const prober = (async () => {
          while (!done) {
            const started = performance.now();
            await (await fetch(`${exporter.url}/healthz`)).arrayBuffer();
            slowest = Math.max(slowest, performance.now() - started);
            answers += 1;
            await new Promise((resolve) => setTimeout(resolve, PROBE_GAP_MS));
          }
        })();
        const started = performance.now();
        const { result, longestStallMs } = await watchLoop(() => exporter.reload());
        const durationMs = performance.now() - started;
        done = true;
        await prober;
        if (!result.ok) throw new Error(`reload failed: ${result.problems.join('; ')}`);
        figures.push({ durationMs, longestStallMs, healthzAnswers: answers, slowestHealthzMs: slowest });
        log(
          `reload ${n + 1}: ${durationMs.toFixed(0)} ms, longest stall ${longestStallMs.toFixed(0)} ms, ${answers} /healthz answers, slowest ${slowest.toFixed(0)} ms`,
        );
      }
      return figures;
    } finally {
      await exporter.close();
    }
  } finally {
    await api.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const USAGE = 'Usage: npm run load:reload [-- --accounts 50000 --reloads 3 --sync --json]';

async function main(argv: readonly string[]): Promise<number> {
  let accounts: number;
  let reloads: number;
  let sync: boolean;
  let json: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        accounts: { type: 'string', default: '50000' },
        reloads: { type: 'string', default: '3' },
        sync: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    accounts = Number(values.accounts);
    reloads = Number(values.reloads);
    if (!Number.isInteger(accounts) || accounts < 1 || accounts > 100_000)
      throw new Error(`accounts must be an integer from 1 to 100000, got ${values.accounts}`);
    if (!Number.isInteger(reloads) || reloads < 1 || reloads > 100)
      throw new Error(`reloads must be an integer from 1 to 100, got ${values.reloads}`);
    sync = values.sync;
    json = values.json;
  } catch (error) {
    console.error(`load:reload: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const figures = await measureReloads(accounts, reloads, sync, (line) => console.error(`load:reload: ${line}`));
  const worst = Math.max(...figures.map((f) => f.longestStallMs));
  if (json) console.log(JSON.stringify({ accounts, loader: sync ? 'sync' : 'async', reloads: figures }, null, 2));
  const pass = worst <= STALL_LIMIT_MS;
  console.log(
    pass
      ? `\nPASS: longest stall ${worst.toFixed(0)} ms <= ${STALL_LIMIT_MS} ms`
      : `\nFAIL: longest stall ${worst.toFixed(0)} ms > ${STALL_LIMIT_MS} ms`,
  );
  return pass ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
