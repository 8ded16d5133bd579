/**
 * A reload storm (issue 11): 200 SIGHUPs in about 2 s, each after a change of the configuration,
 * while Prometheus-like scrapes go on. No scrape may lose or double an account, and afterwards
 * one poller only is left: each account is polled once per interval, never more often. The log
 * has one line per reload that ran, with how many requests it answered, not one per request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { runExporter } from '../support/process.js';

const RUN_MAIN = fileURLToPath(new URL('../support/run-main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'zexa-reload-storm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACCOUNTS = [
  { name: 'alpha', key: 'zx_storm_alpha_3b8d1f', credits: 5000 },
  { name: 'beta', key: 'zx_storm_beta_9e4a27', credits: 3000 },
  { name: 'gamma', key: 'zx_storm_gamma_6c1f58', credits: 800 },
];
/** Only in the last configuration written: once it is exported, the storm has been applied. */
const DELTA = { name: 'delta', key: 'zx_storm_delta_2f7e09', credits: 1200 };
const KEY_ENV = Object.fromEntries([...ACCOUNTS, DELTA].map((a) => [`${a.name.toUpperCase()}_KEY`, a.key]));
const FINAL_INTERVAL_MS = 5_000;

function configText(intervalSeconds: number, timeoutSeconds: number, last = false): string {
  const accounts = last ? [...ACCOUNTS, DELTA] : ACCOUNTS;
  return [
    `poll: { interval: ${intervalSeconds}s }`,
    `api: { timeout: ${timeoutSeconds}s }`,
    'accounts:',
    ...accounts.flatMap((a) => [`  - name: ${a.name}`, `    apiKeyEnv: ${a.name.toUpperCase()}_KEY`]),
    '',
  ].join('\n');
}

/** The accounts of the zexa_up series in one scrape, sorted (a doubled one appears twice). */
function upAccounts(text: string): string[] {
  return [...text.matchAll(/^zexa_up\{account="([^"]+)"\} [01]$/gm)].map((m) => m[1] as string).sort();
}

describe('reload storm', () => {
  it('200 SIGHUPs in 2 s while scraping never lose or double an account, and leave one poller', async () => {
    const sim = await startSimulator({ accounts: [...ACCOUNTS, DELTA] });
    const file = join(dir, 'storm.yml');
    writeFileSync(file, configText(5, 2));
    const proc = runExporter(
      ['--web.listen-address=127.0.0.1:0', `--config.file=${file}`],
      { ...KEY_ENV, ZEXA_API_URL: sim.url, RELOAD_BURST_FILE: file },
      RUN_MAIN,
      ['--import', 'tsx'],
    );
    try {
      const port = await proc.port();
      const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const names = ACCOUNTS.map((a) => a.name).sort();
      const finalNames = [...names, DELTA.name].sort();
      const scrapes: string[][] = [];
      // 20 bursts of 10 SIGHUPs delivered at once (see run-main.ts), a scrape after each; every
      // reload changes the interval and the timeout, so each one rebuilds the poller and its
      // transport.
      for (let burst = 0; burst < 20; burst++) {
        const texts = Array.from({ length: 10 }, (_, i) => {
          const n = burst * 10 + i;
          return n === 199 ? configText(FINAL_INTERVAL_MS / 1000, 2, true) : configText(5 + (n % 2), 2 + (n % 2));
        });
        proc.child.stdin.write(`${JSON.stringify(texts)}\n`);
        scrapes.push(upAccounts(await scrape()));
      }
      const runs = (): { requests: number }[] =>
        proc
          .stdout()
          .split('\n')
          .filter((line) => line.includes('"msg":"reload running"'))
          .map((line) => JSON.parse(line) as { requests: number });
      await expect.poll(() => runs().reduce((sum, run) => sum + run.requests, 0), { timeout: 10_000 }).toBe(200);
      await expect.poll(async () => upAccounts(await scrape()), { timeout: 10_000 }).toEqual(finalNames);
      await expect
        .poll(
          () => proc.stdout().lastIndexOf('"configuration reloaded"') > proc.stdout().lastIndexOf('"reload running"'),
          { timeout: 10_000 },
        )
        .toBe(true);
      // At info level, each run is one line; the requests it absorbed are a field of it.
      expect(proc.stdout()).not.toContain('"msg":"reload requested"');
      expect(runs().length).toBe(proc.stdout().split('"msg":"configuration reloaded"').length - 1);
      expect(runs().length).toBeLessThan(200);
      const settledAt = Date.now();
      scrapes.push(upAccounts(await scrape()));
      for (const seen of scrapes.slice(0, -2)) expect(seen).toEqual(names);
      for (const seen of scrapes.slice(-2)) expect([names, finalNames]).toContainEqual(seen);
      const text = await scrape();
      expect(text).toContain('zexa_exporter_config_last_reload_successful 1\n');
      const reloads = proc.stdout().split('"msg":"configuration reloaded"').length - 1;

      // One poller: after the storm, polls of each account are an interval apart. (The first
      // after a restart of the schedule may come half an interval early, to rejoin its phase.)
      const polled = [...names, DELTA.name];
      const after = (name: string): number[] =>
        sim
          .requests(name)
          .filter((r) => r.at >= settledAt)
          .map((r) => r.at);
      await expect
        .poll(() => Math.min(...polled.map((n) => after(n).length)), { timeout: 25_000, interval: 250 })
        .toBeGreaterThanOrEqual(3);
      const gaps = polled.flatMap((n) =>
        after(n)
          .slice(2)
          .map((at, i) => at - (after(n)[i + 1] as number)),
      );
      console.log(
        `reload storm: 200 SIGHUPs, ${reloads} reloads run, ${scrapes.length} scrapes; smallest gap between polls afterwards ${Math.min(...gaps)} ms`,
      );
      // One schedule keeps its polls on a grid one interval apart; a poll delayed by a busy
      // machine shortens only the gap after it, and never by half an interval. A second poller
      // puts its own grid in between.
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(FINAL_INTERVAL_MS / 2);
    } finally {
      proc.kill('SIGTERM');
      // run() stops waiting for close() after 4.5 s; then only an orphaned poller keeps it alive.
      const exited = await Promise.race([
        proc.exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000).unref()),
      ]);
      if (exited === undefined) proc.kill('SIGKILL');
      expect(exited?.code).toBe(0);
      await sim.close();
    }
  }, 60_000);
});
