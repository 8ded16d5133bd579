/**
 * A short run of `npm run bench -- --memory-breakdown` on this test's own Node.js, so its code
 * cannot rot: every figure of its table is produced, none is asserted (memory on a shared
 * machine proves nothing in a test; BENCHMARKS.md has the measured figures).
 */
import { describe, expect, it } from 'vitest';
import { breakdownTable, measureBreakdown } from '../../bench/memory-breakdown.js';

describe('npm run bench -- --memory-breakdown, smoke run', () => {
  it('reads the running exporter through the probe and prints every row', async () => {
    const run = await measureBreakdown({ path: process.execPath, version: process.version }, [], () => {}, 2_000);
    expect(run.rssMb).toBeGreaterThan(0);
    expect(run.peakMb).toBeGreaterThanOrEqual(run.rssMb);
    expect(run.probe.memoryUsage.heapUsed).toBeGreaterThan(0);
    expect(run.probe.smapsRollup).toMatch(/^Anonymous:/m);
    // The heap snapshot was written and summed: compiled code is always in it.
    expect(run.snapshot.byType.get('code')).toBeGreaterThan(0);
    expect([...run.perImport.keys()]).toContain('yaml');
    const table = breakdownTable([run]);
    expect(table).toContain(`| figure (10 accounts, steady) | Node.js ${process.version} |`);
    expect(table).not.toContain('NaN');
  }, 120_000);
});
