/**
 * Run by bench/history-cost.ts as `node --expose-gc --import tsx bench/history-cost-child.ts N`:
 * fills a BalanceHistory of N accounts with 26 hours of polls (one every 5 minutes, so every
 * bucket of every ring holds data at the coarsest resolution) and prints, as one JSON line, what
 * that added: V8 heap plus typed-array memory, and RSS. Its own process, so nothing else moves
 * the figures; the names are made before the first measure (the exporter holds them anyway).
 */
import { BalanceHistory } from '../src/state/history.js';
import { generateAccounts } from '../src/simulator/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const count = Number(process.argv[2]);
const names = generateAccounts(count).map((a) => a.name);
const start = Date.UTC(2026, 0, 1);
const settle = (): NodeJS.MemoryUsage => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
};
// Warm up the code paths on a throwaway history, so the JIT's code is not counted.
const warm = new BalanceHistory();
for (let m = 0; m < 400; m += 5)
  for (let i = 0; i < 300 && i < count; i++) warm.record(names[i] as string, start + m * 60_000, 1000 - m);
const before = settle();
const history = new BalanceHistory();
for (let m = 0; m <= 26 * 60; m += 5) {
  for (let i = 0; i < count; i++) history.record(names[i] as string, start + m * 60_000, 100_000 - m * ((i % 7) + 1));
}
const after = settle();
const kept = history.series(names[0] as string);
process.stdout.write(
  `${JSON.stringify({
    accounts: history.size,
    bytes: after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers),
    rssBytes: after.rss - before.rss,
    hoursKept: kept === undefined ? 0 : (kept.lastSampleMs - kept.sinceMs) / 3_600_000,
  })}\n`,
);
