/**
 * The synthetic fleet of the monitoring benchmark: N accounts whose balances drain at different
 * rates, a few topped up, a few with a revoked key (401). The same model gives the simulator's
 * accounts (the live part) and the history written for `promtool tsdb create-blocks-from
 * openmetrics` (the backfilled part), so the live series continue the history.
 *
 * The history carries the series `/metrics` carries, by the same names and labels
 * (test/golden/metrics.prom), plus `instance` and `job` as Prometheus would have attached them,
 * and the 5-minute consumption steps the shipped recording rules would have recorded.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { DEFAULTS } from '../src/config/defaults.js';
import { generateAccounts, type SimAccountSpec } from '../src/simulator/index.js';

/** Every 100th account's key is revoked: the API answers 401 at every poll. */
const REVOKED_EVERY = 100;
/** Every 20th account (from the 7th) was topped up 3 hours before the end of the history. */
const TOPPED_UP = { every: 20, first: 7, agoSeconds: 3 * 3600, credits: 20_000 };
/** The interval of the recording group whose series the history carries (zexa-recording-5m). */
const RECORDED_STEP_SECONDS = 300;

export interface FleetAccount {
  spec: SimAccountSpec;
  revoked: boolean;
  /** Credits per second. */
  drain: number;
  /** Credits added `TOPPED_UP.agoSeconds` before the end, or 0. */
  topUp: number;
}

/**
 * Balances from 1,000 to 99,999 (generateAccounts' spread) draining at 72 to 1,800 credits an
 * hour, so some accounts are LOW or CRITICAL, many run out within 72 hours (the forecast fires)
 * and others last for weeks.
 */
export function fleetAccounts(count: number): FleetAccount[] {
  return generateAccounts(count).map((spec, i) => {
    const index = i + 1;
    const revoked = index % REVOKED_EVERY === 0;
    const drain = 0.02 * (1 + (index % 25));
    // Only where the balance before the top-up stays above zero, so each step is one decrease.
    const before = spec.credits + drain * TOPPED_UP.agoSeconds - TOPPED_UP.credits;
    const topUp = index % TOPPED_UP.every === TOPPED_UP.first && before > 1000 ? TOPPED_UP.credits : 0;
    return { spec: { ...spec, drainPerSecond: drain, ...(revoked ? { revoked: true } : {}) }, revoked, drain, topUp };
  });
}

export interface HistoryOptions {
  /** Labels every series gets, as Prometheus attaches them to a scrape: `instance`, `job`. */
  target: { instance: string; job: string };
  /** Unix seconds of the last sample: the balance then is the simulator's starting balance. */
  endSeconds: number;
  hours: number;
  stepSeconds: number;
  /** Only the samples at or after `from` and before `to` (Unix seconds) go into this file. */
  from?: number;
  to?: number;
}

/** The balance `ago` seconds before the end: more credits further back, less the top-up before it. */
function balanceAt(a: FleetAccount, ago: number): number {
  const credits = a.spec.credits + a.drain * ago - (ago >= TOPPED_UP.agoSeconds ? a.topUp : 0);
  return Math.max(0, Math.floor(credits));
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/**
 * Writes the history in OpenMetrics text, one family after the other and each series' samples
 * in time order, as `promtool tsdb create-blocks-from openmetrics` reads it. Returns the number
 * of samples written. promtool reads its whole input once per 2-hour block it makes, so the
 * caller writes one file per 2-hour block (`from`, `to`) to read each sample only twice.
 */
export async function writeHistory(
  path: string,
  fleet: readonly FleetAccount[],
  options: HistoryOptions,
): Promise<number> {
  const out = createWriteStream(path);
  let buffer = '';
  let samples = 0;
  const flush = async (): Promise<void> => {
    if (!out.write(buffer)) await once(out, 'drain');
    buffer = '';
  };
  const steps = Math.floor((options.hours * 3600) / options.stepSeconds);
  const { from = -Infinity, to = Infinity } = options;
  const grid = Array.from({ length: steps + 1 }, (_, k) => ({
    k,
    t: options.endSeconds - (steps - k) * options.stepSeconds,
  }));
  const times = grid.filter(({ t }) => t >= from && t < to);
  /** `recorded`: a series of a recording rule, with no target labels, every 5 minutes. */
  const series = async (
    name: string,
    pairs: Record<string, string>,
    value: (ago: number, k: number) => number,
    recorded = false,
  ): Promise<void> => {
    const head = `${name}${labels(recorded ? pairs : { ...pairs, ...options.target })} `;
    const at = recorded ? times.filter(({ t }) => (options.endSeconds - t) % RECORDED_STEP_SECONDS === 0) : times;
    for (const { k, t } of at) buffer += `${head}${value(options.endSeconds - t, k)} ${t}\n`;
    samples += at.length;
    if (buffer.length > 1 << 20) await flush();
  };
  const pollsUpTo = (k: number): number => k + 1;
  const working = fleet.filter((a) => !a.revoked);
  const { warning, critical } = DEFAULTS.thresholds;

  for (const a of working)
    await series('zexa_credits_remaining', { account: a.spec.name, currency: 'USD' }, (ago) => balanceAt(a, ago));
  for (const a of fleet) {
    await series('zexa_credits_threshold', { account: a.spec.name, severity: 'warning' }, () => warning);
    await series('zexa_credits_threshold', { account: a.spec.name, severity: 'critical' }, () => critical);
  }
  for (const a of fleet) await series('zexa_up', { account: a.spec.name }, () => (a.revoked ? 0 : 1));
  for (const a of working)
    await series('zexa_last_success_timestamp_seconds', { account: a.spec.name }, (ago) => options.endSeconds - ago);
  for (const a of fleet) {
    await series('zexa_auth_errors_total', { account: a.spec.name, code: '401' }, (_, k) =>
      a.revoked ? pollsUpTo(k) : 0,
    );
    await series('zexa_auth_errors_total', { account: a.spec.name, code: '403' }, () => 0);
  }
  for (const a of fleet.filter((x) => x.revoked))
    await series('zexa_poll_errors_total', { account: a.spec.name, reason: 'unauthorized' }, (_, k) => pollsUpTo(k));
  // The counters of decreases and increases, as the exporter sums them between polls.
  const start = options.hours * 3600;
  for (const a of fleet) {
    await series('zexa_credits_consumed_total', { account: a.spec.name }, (ago) => {
      if (a.revoked) return 0;
      const spent = balanceAt(a, start) - balanceAt(a, ago) + (ago < TOPPED_UP.agoSeconds ? a.topUp : 0);
      return Math.max(0, spent);
    });
    await series('zexa_credits_added_total', { account: a.spec.name }, (ago) =>
      a.revoked || ago >= TOPPED_UP.agoSeconds ? 0 : a.topUp,
    );
  }
  // The 5-minute steps the zexa-recording-5m group records, as a Prometheus that had run the
  // rules through the history would hold them: its 6-hour and 1-hour windows are then full at
  // the first evaluation, as in steady operation, instead of nearly empty. Top-ups are not
  // consumption, so a step is the drain alone.
  for (const a of working)
    await series(
      'account:zexa_credits_consumed:increase5m',
      { account: a.spec.name },
      () => a.drain * RECORDED_STEP_SECONDS,
      true,
    );
  for (const a of fleet) {
    await series(
      'zexa_api_key_info',
      { account: a.spec.name, fingerprint: createHash('sha256').update(a.spec.key).digest('hex').slice(0, 12) },
      () => 1,
    );
    await series(
      'zexa_api_key_last_change_timestamp_seconds',
      { account: a.spec.name, source: 'file' },
      () => options.endSeconds - start - 86_400,
    );
    await series('zexa_api_key_shared', { account: a.spec.name }, () => 0);
  }
  // The exporter's own series: one poll per account and step.
  const perStep = fleet.length;
  const failing = fleet.length - working.length;
  await series('zexa_api_requests_total', { code: '200' }, (_, k) => (perStep - failing) * pollsUpTo(k));
  await series('zexa_api_requests_total', { code: '401' }, (_, k) => failing * pollsUpTo(k));
  const buckets = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
  for (const le of buckets)
    await series('zexa_api_request_duration_seconds_bucket', { le }, (_, k) =>
      Number(le) < 0.05 ? 0 : perStep * pollsUpTo(k),
    );
  await series('zexa_api_request_duration_seconds_count', {}, (_, k) => perStep * pollsUpTo(k));
  await series('zexa_api_request_duration_seconds_sum', {}, (_, k) => 0.06 * perStep * pollsUpTo(k));
  await series('zexa_exporter_build_info', { version: 'bench', nodejs_version: process.version }, () => 1);
  await series('up', {}, () => 1);
  buffer += '# EOF\n';
  await flush();
  out.end();
  await once(out, 'finish');
  return samples;
}
