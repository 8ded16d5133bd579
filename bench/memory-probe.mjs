/**
 * Preloaded into the exporter by `npm run bench -- --memory-breakdown` (`node --import`): on
 * SIGUSR2 it writes the process's own view of its memory (process.memoryUsage(), V8's heap
 * spaces, /proc/self/smaps_rollup) and a heap snapshot next to ZEXA_BENCH_PROBE_OUT, then the
 * marker file the bench waits for. Nothing of it runs unless the bench asks.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';

const out = process.env.ZEXA_BENCH_PROBE_OUT;
if (out !== undefined) {
  process.on('SIGUSR2', () => {
    const before = {
      memoryUsage: process.memoryUsage(),
      heap: getHeapStatistics(),
      spaces: getHeapSpaceStatistics(),
      smapsRollup: readFileSync('/proc/self/smaps_rollup', 'utf8'),
    };
    writeHeapSnapshot(`${out}.heapsnapshot`);
    writeFileSync(`${out}.tmp`, JSON.stringify(before));
    renameSync(`${out}.tmp`, out);
  });
}

// The whole life's peak of a short-lived process (the `healthcheck` subcommand): read on exit.
const peakOut = process.env.ZEXA_BENCH_PEAK_OUT;
if (peakOut !== undefined) {
  process.on('exit', () => {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    writeFileSync(peakOut, match?.[1] ?? '');
  });
}
