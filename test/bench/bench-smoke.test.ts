/**
 * A tiny run of the scale benchmark (`npm run bench`), so its code cannot rot: 50 accounts, one
 * repeat, a few seconds. It asserts that every figure was produced and the table printed, never
 * their values (timings on a busy test machine prove nothing).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busiestSecondRatio, paceOf, runBenchmark, type SizeFigures } from '../../bench/benchmark.js';
import { writeConfigFile, writeKeyDirectory } from '../../bench/exporter-process.js';
import { markdownTable } from '../../bench/report.js';
import { loadConfig, nodeConfigSources } from '../../src/config/load.js';
import { generateAccounts } from '../../src/simulator/index.js';
import { median } from '../../bench/stats.js';

describe('bench helpers', () => {
  it('computes the median of odd and even counts, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('measures the busiest second against the mean over whole seconds', () => {
    // 2 requests in second 0, 1 in second 1, 3 in second 2: mean 2, busiest 3.
    expect(busiestSecondRatio([0, 500, 1500, 2000, 2100, 2999, 3000], 0, 3000)).toBe(1.5);
  });

  it('derives a request rate from the spacing of the starts', () => {
    expect(paceOf([1000, 0, 500, 1500])).toBe(2);
    expect(paceOf([5])).toBeNaN();
  });
});

describe("the bench's config file", () => {
  it("lists every account with its apiKeyFile in the config-file form, and the exporter's loader reads it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-bench-form-'));
    try {
      const accounts = generateAccounts(3);
      const keyDir = join(dir, 'keys');
      writeKeyDirectory(keyDir, accounts);
      const file = join(dir, 'config.yml');
      writeConfigFile(file, {
        apiUrl: 'http://127.0.0.1:9',
        keyDir,
        form: 'file',
        names: accounts.map((a) => a.name),
        intervalMs: 60_000,
        maxConcurrency: 8,
      });
      expect(readFileSync(file, 'utf8')).not.toContain('fromDirectory');
      const config = loadConfig(nodeConfigSources([], { ZEXA_EXPORTER_CONFIG: file }));
      expect(config.accounts.map((a) => [a.name, a.key])).toEqual(
        accounts.map((a) => [
          a.name,
          { kind: 'file', path: join(keyDir, a.name), origin: expect.stringContaining('apiKeyFile') as unknown },
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run bench, smoke run', () => {
  it('produces every figure of the table for a tiny setup', async () => {
    const lines: string[] = [];
    const figures = await runBenchmark({
      plans: [{ accounts: 50, intervalMs: 5_000, steadyWindowMs: 2_500 }],
      latencyMs: 50,
      concurrency: 32,
      repeats: 1,
      scrapeEveryMs: 200,
      registryRuns: 2,
      rateWindowMs: 2_000,
      log: (line) => lines.push(line),
    });
    expect(figures).toHaveLength(1);
    const f = figures[0] as SizeFigures;
    expect(f.accounts).toBe(50);
    expect(f.form).toBe('directory');
    const numbers: (keyof SizeFigures)[] = [
      'series',
      'textBytes',
      'gzipBytes',
      'metricsMs',
      'metricsGzipMs',
      'metricsUndiciMs',
      'metricsOpenMetricsMs',
      'metricsOpenMetricsGzipMs',
      'openMetricsRatio',
      'openMetricsBytes',
      'scrapes',
      'baselineMs',
      'speedup',
      'gzipFirstMs',
      'gzipAgainMs',
      'cycleMs',
      'bareCycleMs',
      'cycleRatio',
      'busiestRatio',
      'rateCap',
      'rateMeasured',
      'rateErrorPct',
      'rssMb',
      'rssSteadyMb',
      'healthcheckPeakMb',
      'eventLoopP99MaxMs',
      'eventLoopP99MedianMs',
      'callsPerAccountHour',
      'expectedCallsPerAccountHour',
      'steadyWindowMs',
      'historyBytes',
      'historyRssBytes',
      'historyHours',
      'keyIndexBytes',
      'keyIndexRssBytes',
      'pageBytes',
    ];
    for (const name of numbers) {
      expect(Number.isFinite(f[name]), `${name} = ${String(f[name])}`).toBe(true);
    }
    // Facts, not timings: the series were rebuilt for the baseline, gzip was served and reused.
    expect(f.series).toBeGreaterThanOrEqual(50 * 9);
    expect(f.gzipServed).toBe(true);
    expect(f.openMetricsServed).toBe(true);
    expect(f.gzipReused).toBe(true);
    expect(f.expectedCallsPerAccountHour).toBe(720);
    expect(f.historyHours).toBeGreaterThanOrEqual(24);
    expect(f.pageBytes).toBeGreaterThan(1000);
    // The healthcheck subcommand reached the running exporter, and its own peak was read.
    expect(f.healthcheckExitCode).toBe(0);
    expect(f.healthcheckPeakMb).toBeGreaterThan(10);
    const table = markdownTable(figures);
    expect(table.split('\n').filter((line) => line.startsWith('|'))).toHaveLength(2 + 17);
    expect(table).toContain(`| Node.js of the exporter process | ${process.version} |`);
    expect(table).not.toContain('NaN');
    expect(lines.some((line) => line.includes('50 accounts'))).toBe(true);
  }, 120_000);
});
