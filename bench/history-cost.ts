/**
 * What single structures of the exporter cost in memory at a given number of accounts, each
 * measured in a process of its own started with `--expose-gc` (so nothing else moves the figures):
 * - the balance history full (issue 14: at most 10 MB at 10,000 accounts; bench/history-cost-child.ts);
 * - the key-fingerprint index behind zexa_api_key_info and zexa_api_key_shared (issue 13;
 *   bench/key-index-cost-child.ts).
 */
import { fileURLToPath } from 'node:url';
import { runJsonChild } from './json-child.js';

export interface MemoryCost {
  accounts: number;
  /** Heap and typed-array bytes the structure added, after a full GC. */
  bytes: number;
  /** RSS the structure added (noisier: it includes allocator and heap-page slack). */
  rssBytes: number;
}

export interface HistoryCost extends MemoryCost {
  /** Hours the history of an account holds once full. */
  hoursKept: number;
}

/** Runs `bench/<script>` with `--expose-gc` through tsx and parses the one JSON line it prints. */
async function costInChild<T extends MemoryCost>(script: string, accounts: number): Promise<T> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  // With the exporter's own heap sizing (tuneV8 in src/main.ts sets --optimize-for-size): with
  // V8's default sizing the RSS growth also counts heap pages V8 keeps committed, 7.5–16 MB for
  // the same 8.7 MB of history between runs; with the exporter's, 8.5–8.7 MB.
  return runJsonChild<T>(path, [String(accounts)], script, ['--expose-gc', '--optimize-for-size']);
}

export function measureHistoryCost(accounts: number): Promise<HistoryCost> {
  return costInChild<HistoryCost>('history-cost-child.ts', accounts);
}

export function measureKeyIndexCost(accounts: number): Promise<MemoryCost> {
  return costInChild<MemoryCost>('key-index-cost-child.ts', accounts);
}
