/**
 * Issue 12, "Reload cost": a reload read every key file of a `fromDirectory` folder with
 * synchronous reads, so with 50,000 accounts it blocked the event loop for about 0.8 s and
 * /healthz went unanswered meanwhile. Now a reload reads them asynchronously, a bounded number at
 * a time.
 *
 * The real program (src/main.ts `run`, in a process of its own) is reloaded with SIGHUP; a
 * preload (test/support/scan-probe.ts) counts, inside that process, the key files opened between
 * two turns of the event loop, and asks /healthz once the scan has begun. Counts of files and
 * turns, no clock: a synchronous scan opens all of them in one turn on any machine.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runExporter } from '../support/process.js';
import { startScriptedApi } from '../support/scripted-api.js';

const RUN_MAIN = fileURLToPath(new URL('../support/run-main.ts', import.meta.url));
const SCAN_PROBE = fileURLToPath(new URL('../support/scan-probe.ts', import.meta.url));
const FILES = 3000;
/**
 * Opens per turn allowed: a scan that reads a bounded number of files at a time opens at most that
 * many per turn (16 today); a synchronous scan opens all 3,000.
 */
const MAX_OPENS_PER_TURN = 64;

const root = mkdtempSync(join(tmpdir(), 'zexa-reload-scan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ScanReport {
  opens: number;
  turns: number;
  maxOpensPerTurn: number;
  healthzDuringScan: boolean;
}

function reports(stderr: string): ScanReport[] {
  return [...stderr.matchAll(/^SCAN-PROBE (.*)$/gm)].map((m) => JSON.parse(m[1] as string) as ScanReport);
}

describe('reload of a large key directory', () => {
  it('reads the 3,000 key files without blocking the event loop: /healthz answers during the scan', async () => {
    const keys = join(root, 'keys');
    mkdirSync(keys);
    // Not real keys: fixed, distinct, visibly fake.
    for (let i = 0; i < FILES; i++)
      writeFileSync(join(keys, `acct_${i}`), `zxtest_reloadscan_${String(i).padStart(6, '0')}\n`);
    const api = await startScriptedApi(['100']);
    const config = join(root, 'config.yml');
    // One shard of 1,024 polls a handful of the accounts, once an hour: the reload still reads
    // every key file, and no poll reads one while it does.
    writeFileSync(
      config,
      `api: { url: "${api.url}" }\npoll: { interval: 1h }\nshard: 1/1024\naccounts:\n  - fromDirectory: ${keys}\n`,
    );
    const proc = runExporter(
      ['--web.listen-address=127.0.0.1:0', `--config.file=${config}`],
      { SCAN_PROBE_DIR: keys, SCAN_PROBE_FILES: String(FILES) },
      RUN_MAIN,
      ['--import', 'tsx', '--import', SCAN_PROBE],
    );
    try {
      const port = await proc.port();
      // Every polled account polled once: no poll reads a key file during the reload.
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: 30_000 })
        .toBe(200);
      proc.kill('SIGHUP');
      await expect.poll(() => reports(proc.stderr()).length, { timeout: 60_000 }).toBe(1);
      await expect.poll(() => proc.stdout().includes('"msg":"configuration reloaded"'), { timeout: 30_000 }).toBe(true);
      const reload = reports(proc.stderr())[0] as ScanReport;
      console.log(
        `reload scan: ${reload.opens} files over ${reload.turns} event-loop turns, at most ${reload.maxOpensPerTurn} opened in one turn`,
      );
      expect(reload.opens).toBe(FILES);
      expect(reload.maxOpensPerTurn).toBeLessThanOrEqual(MAX_OPENS_PER_TURN);
      expect(reload.turns).toBeGreaterThanOrEqual(FILES / MAX_OPENS_PER_TURN);
      expect(reload.healthzDuringScan).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
      await api.close();
    }
  }, 120_000);
});
