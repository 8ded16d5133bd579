/**
 * Issue 11, "concurrent reloads orphan a poller": SIGHUP and POST /-/reload used to run the same
 * reload unserialized, so two at once each stopped the old poller and each started a new one;
 * the first new poller was never stopped. The overlap is forced deterministically: a poll is held
 * in flight (HoldingAgent), so stopping the poller waits, while twenty reloads arrive, each after
 * a change of poll.interval.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startExporter, type Exporter } from '../../src/runtime/exporter.js';
import { startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogs } from '../support/log-capture.js';
import { parseSample } from '../support/exporter-harness.js';
import { runExporter } from '../support/process.js';
import { HoldingAgent } from '../support/holding-agent.js';

const RUN_MAIN = fileURLToPath(new URL('../support/run-main.ts', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'zexa-reload-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ALPHA = { name: 'alpha', key: 'zx_race_alpha_7c2e91b4', credits: 5000 };
const ENV = { ALPHA_KEY: ALPHA.key };

function configYaml(intervalSeconds: number): string {
  return `poll: { interval: ${intervalSeconds}s }\napi: { timeout: 4s }\naccounts:\n  - name: alpha\n    apiKeyEnv: ALPHA_KEY\n`;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('reloads never overlap', () => {
  it('20 reloads at once through SIGHUP and POST /-/reload leave exactly one poller, at the last interval', async () => {
    const sim: ZexaSimulator = await startSimulator({ accounts: [ALPHA] });
    cleanup.push(() => sim.close());
    const file = join(dir, 'race.yml');
    writeFileSync(file, configYaml(5));
    const sources = {
      argv: ['--web.listen-address=127.0.0.1:0', `--config.file=${file}`],
      // Debug: each request is logged there (at info, only the runs are), which tells when all 20 arrived.
      env: { ...ENV, ZEXA_API_URL: sim.url, ZEXA_EXPORTER_LOG_LEVEL: 'debug' },
      readFile: (p: string) => readFileSync(p, 'utf8'),
      readDir: (p: string) => readdirSync(p),
    };
    const clock = new FakeClock({ now: Date.now() });
    const agent = new HoldingAgent();
    cleanup.push(() => agent.destroy());
    const logs = captureLogs();
    agent.hold();
    const exporter: Exporter = await startExporter(loadConfig(sources), {
      clock,
      dispatcher: agent,
      env: sources.env,
      loadConfig: () => loadConfig(sources),
      logDestination: logs,
      processMetrics: false,
    });
    let closed = false;
    cleanup.push(async () => {
      agent.release();
      if (!closed) await exporter.close();
    });
    // The first poll is in flight and stays there.
    await expect.poll(() => agent.waiting).toBe(1);

    const outcomes: Promise<{ ok: boolean }>[] = [];
    for (let i = 1; i <= 20; i++) {
      writeFileSync(file, configYaml(5 + i));
      if (i % 2 === 1) {
        // What main.ts does on SIGHUP.
        outcomes.push(exporter.reload('SIGHUP'));
      } else {
        outcomes.push(fetch(`${exporter.url}/-/reload`, { method: 'POST' }).then((r) => ({ ok: r.status === 200 })));
      }
    }
    const requested = (): number => logs.records().filter((r) => r.msg === 'reload requested').length;
    await expect.poll(requested).toBe(20);
    agent.release();
    expect((await Promise.all(outcomes)).every((o) => o.ok)).toBe(true);

    const intervalMs = 25_000;
    expect(exporter.config().poll.intervalMs).toBe(intervalMs);
    expect(
      parseSample(await (await fetch(`${exporter.url}/metrics`)).text(), 'zexa_exporter_config_last_reload_successful'),
    ).toBe(1);

    // One poller: exactly one request per interval. Orphaned pollers would each add their own.
    const polledNow = async (): Promise<void> => {
      await expect.poll(() => exporter.store.get('alpha')?.lastSuccessMs).toBe(clock.now());
    };
    await polledNow();
    const before = sim.requestCount('alpha');
    for (let round = 1; round <= 3; round++) {
      await clock.advance(intervalMs);
      await polledNow();
    }
    await clock.flush();
    const during = sim.requestCount('alpha') - before;
    console.log(`reload race: ${during} requests in 3 intervals of ${intervalMs / 1000} s after 20 concurrent reloads`);
    expect(during).toBe(3);

    // Nothing is left scheduled after close(): a process would exit.
    await exporter.close();
    closed = true;
    expect(clock.pendingTimers()).toBe(0);
    const afterClose = sim.requestCount('alpha');
    await clock.advance(10 * intervalMs);
    expect(sim.requestCount('alpha')).toBe(afterClose);
  });

  it('a process that had 20 reloads at once (SIGHUP to its own handler and POST /-/reload) exits by itself after SIGTERM', async () => {
    const sim = await startSimulator({ accounts: [ALPHA] });
    cleanup.push(() => sim.close());
    const file = join(dir, 'race-process.yml');
    writeFileSync(file, configYaml(5));
    const proc = runExporter(
      ['--web.listen-address=127.0.0.1:0', `--config.file=${file}`],
      { ...ENV, ZEXA_API_URL: sim.url, RELOAD_BURST_FILE: file },
      RUN_MAIN,
      ['--import', 'tsx'],
    );
    let exited: { code: number | null } | undefined;
    void proc.exited.then((result) => (exited = result));
    cleanup.push(async () => {
      if (exited === undefined) proc.kill('SIGKILL');
      await proc.exited;
    });
    const port = await proc.port();

    const posts = Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${port}/-/reload`, { method: 'POST' }));
    proc.child.stdin.write(`${JSON.stringify(Array.from({ length: 10 }, (_, i) => configYaml(6 + i)))}\n`);
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual(Array(10).fill(200));
    const answered = (): number =>
      proc
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"msg":"reload running"'))
        .reduce((sum, line) => sum + (JSON.parse(line) as { requests: number }).requests, 0);
    await expect.poll(answered).toBe(20);
    // Settled: the last reload has ended after the last run started.
    await expect
      .poll(() => proc.stdout().lastIndexOf('"configuration reloaded"') > proc.stdout().lastIndexOf('"reload running"'))
      .toBe(true);

    proc.kill('SIGTERM');
    // run() gives up waiting for close() after 4.5 s; a process kept alive by an orphaned poller
    // would then still not end.
    await expect.poll(() => exited, { timeout: 15_000, interval: 200 }).toEqual({ code: 0, signal: null });
    expect(proc.stdout()).toContain('zexa-exporter stopped');
    // Each reload starts a loader worker, which from the TypeScript sources first loads tsx:
    // seconds per reload on a busy machine, for up to three reloads.
  }, 90_000);
});
