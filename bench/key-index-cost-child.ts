/**
 * Run by bench/history-cost.ts as `node --expose-gc --import tsx bench/key-index-cost-child.ts N`:
 * what the key-fingerprint index of issue 13 costs at N accounts. An AccountStore of N accounts
 * is set up first (the exporter holds it anyway); then a KeyTracker observes each account's key
 * once, as the first poll round does, and the child prints, as one JSON line, what that added:
 * the per-account key records (fingerprint, source, last change, shared) and the
 * fingerprint → account index, as V8 heap plus typed-array memory, and as RSS.
 */
import { AccountStore } from '../src/state/account-store.js';
import { systemClock, type Clock } from '../src/lib/clock.js';
import { KeyTracker } from '../src/poll/key-tracker.js';
import { generateAccounts } from '../src/simulator/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const count = Number(process.argv[2]);
const specs = generateAccounts(count);
const accounts = specs.map((s) => ({
  name: s.name,
  key: { kind: 'file' as const, path: `/keys/${s.name}`, origin: 'bench' },
}));
const keys = specs.map((s) => s.key);
const clock: Clock = { ...systemClock, now: () => Date.UTC(2026, 0, 1) };
const settle = (): NodeJS.MemoryUsage => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
};
const storeOf = (n: number): AccountStore => {
  const store = new AccountStore();
  store.configure(accounts.slice(0, n).map((a) => ({ name: a.name, thresholds: { warning: 1000, critical: 100 } })));
  return store;
};
// Warm up the code paths on a throwaway store, so the JIT's code is not counted.
const warmStore = storeOf(Math.min(300, count));
const warm = new KeyTracker(warmStore, { clock, mtimeMs: () => 1_767_225_600_000 });
for (let i = 0; i < Math.min(300, count); i++)
  warm.observe(accounts[i] as (typeof accounts)[number], keys[i] as string);
const store = storeOf(count);
const before = settle();
const tracker = new KeyTracker(store, { clock, mtimeMs: () => 1_767_225_600_000 });
for (let i = 0; i < count; i++) tracker.observe(accounts[i] as (typeof accounts)[number], keys[i] as string);
const after = settle();
if (store.get(accounts[0]?.name ?? '')?.key === undefined) throw new Error('the tracker recorded no key');
process.stdout.write(
  `${JSON.stringify({ accounts: count, bytes: after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers), rssBytes: after.rss - before.rss })}\n`,
);
