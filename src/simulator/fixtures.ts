/**
 * Ready-made accounts: the demo's six, one per state the exporter shows, and any number of
 * generated ones for tests and benchmarks. Keys are fake and say so; generated ones are derived
 * from the name, so a second process (a benchmark, the CLI's key files) can rebuild them.
 */
import { createHash } from 'node:crypto';
import { SimulatorUsageError } from './errors.js';
import type { SimAccountSpec } from './types.js';

/**
 * For `npm run demo`, polled every 5 s with thresholds 1000 (warning) and 100 (critical):
 * production drains half a credit a second (1,800 an hour), so it moves at each poll and, once
 * the status page has an hour of history, shows when it runs out (about 2 h 45 min after start).
 */
export function demoAccounts(): SimAccountSpec[] {
  return [
    { name: 'production', key: 'zx_demo_production_not_a_real_key', credits: 5000, drainPerSecond: 0.5 },
    { name: 'staging', key: 'zx_demo_staging_not_a_real_key', credits: 640 },
    { name: 'marketing', key: 'zx_demo_marketing_not_a_real_key', credits: 42 },
    { name: 'legacy', key: 'zx_demo_legacy_not_a_real_key', credits: 1500, revoked: true },
    { name: 'analytics', key: 'zx_demo_analytics_not_a_real_key', credits: 3100, forbidden: true },
    {
      name: 'flaky',
      key: 'zx_demo_flaky_not_a_real_key',
      credits: 2500,
      fault: { kind: 'flaky', every: 3, status: 503 },
    },
  ];
}

export interface GenerateAccountsOptions {
  /** Name prefix; default `acct` (giving `acct_00001`, …). */
  prefix?: string;
  /** Balance of the account with 1-based `index`; default a spread from 1,000 to 99,999. */
  credits?: (index: number) => number;
  currency?: string;
  drainPerRequest?: number;
  drainPerSecond?: number;
  /** Mixed into the keys, to get a different set of keys for the same names. Default ''. */
  seed?: string;
}

/** Enough for the largest benchmark with room to spare, and small enough to fail fast on a typo. */
const MAX_GENERATED = 1_000_000;

/** The key `generateAccounts` gives the account `name` with `seed`. */
export function generatedKey(name: string, seed = ''): string {
  const digest = createHash('sha256').update(`${seed}\0${name}`).digest('hex').slice(0, 32);
  return `zx_sim_${digest}`;
}

/** `acct_00001` … `acct_<count>`, zero-padded to at least five digits, with distinct keys. */
export function generateAccounts(count: number, opts: GenerateAccountsOptions = {}): SimAccountSpec[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_GENERATED) {
    throw new SimulatorUsageError(`count must be an integer from 0 to ${MAX_GENERATED}, got ${String(count)}`);
  }
  const prefix = opts.prefix ?? 'acct';
  const width = Math.max(5, String(count).length);
  // 7919 is prime, so consecutive accounts get balances far apart and rarely equal.
  const credits = opts.credits ?? ((index: number) => 1000 + ((index * 7919) % 99_000));
  const accounts: SimAccountSpec[] = [];
  for (let index = 1; index <= count; index += 1) {
    const name = `${prefix}_${String(index).padStart(width, '0')}`;
    const spec: SimAccountSpec = { name, key: generatedKey(name, opts.seed), credits: credits(index) };
    if (opts.currency !== undefined) spec.currency = opts.currency;
    if (opts.drainPerRequest !== undefined) spec.drainPerRequest = opts.drainPerRequest;
    if (opts.drainPerSecond !== undefined) spec.drainPerSecond = opts.drainPerSecond;
    accounts.push(spec);
  }
  return accounts;
}
