/**
 * The monitoring benchmark's backfilled history: the series `/metrics` carries (the golden file's
 * names and label names, plus `instance` and `job`), balances that drain, a top-up, revoked keys
 * with 401s, counters that never fall, and samples only inside the window asked for.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetAccounts, writeHistory } from '../../bench/monitoring-fleet.js';
import { readRepoFile } from '../ops/ops-files.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  t: number;
}

function parseLine(line: string): Sample {
  const match = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+) (\d+)$/.exec(line);
  if (match === null) throw new Error(`not a sample line: ${line}`);
  const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  return { name: match[1]!, labels, value: Number(match[3]), t: Number(match[4]) };
}

/** Metric name → its label names, from a text exposition without timestamps. */
function labelNamesByMetric(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? /.exec(line);
    if (match === null || line.startsWith('#')) continue;
    out.set(
      match[1]!,
      [...(match[2] ?? '').matchAll(/(\w+)="/g)]
        .map((m) => m[1])
        .sort()
        .join(','),
    );
  }
  return out;
}

describe("the monitoring benchmark's history", () => {
  const dir = mkdtempSync(join(tmpdir(), 'zexa-fleet-history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fleet = fleetAccounts(100);
  const end = 1_800_000_000;
  const target = { instance: '127.0.0.1:10025', job: 'zexa' };

  async function history(window: { from?: number; to?: number } = {}): Promise<{ text: string; samples: Sample[] }> {
    const file = join(dir, `h-${window.from ?? 'all'}.om`);
    const written = await writeHistory(file, fleet, { target, endSeconds: end, hours: 7, stepSeconds: 60, ...window });
    const text = readFileSync(file, 'utf8');
    const samples = text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map(parseLine);
    expect(samples).toHaveLength(written);
    return { text, samples };
  }

  let whole: { text: string; samples: Sample[] };
  beforeAll(async () => {
    whole = await history();
  }, 120_000);

  it('uses the names and label names of /metrics (test/golden/metrics.prom), plus instance and job', () => {
    const { text, samples } = whole;
    expect(text.endsWith('# EOF\n')).toBe(true);
    const golden = labelNamesByMetric(readRepoFile('test/golden/metrics.prom'));
    const scraped = samples.filter((s) => !s.name.startsWith('account:'));
    const seen = new Map(
      scraped.map((s) => [
        s.name,
        Object.keys(s.labels)
          .filter((l) => l !== 'instance' && l !== 'job')
          .sort()
          .join(','),
      ]),
    );
    for (const [name, labelNames] of seen) {
      if (name === 'up') continue;
      expect(golden.get(name), `${name} is not in the golden /metrics`).toBe(labelNames);
    }
    expect(scraped.every((s) => s.labels.instance === target.instance && s.labels.job === target.job)).toBe(true);
    // Every per-account family of the golden file is backfilled.
    for (const name of [
      'zexa_credits_remaining',
      'zexa_credits_threshold',
      'zexa_up',
      'zexa_last_success_timestamp_seconds',
      'zexa_credits_consumed_total',
      'zexa_auth_errors_total',
    ]) {
      expect(seen.has(name), name).toBe(true);
    }
  });

  it("drains balances to the simulator's starting balance, with a top-up, and counts only decreases as consumed", () => {
    const { samples } = whole;
    const of = (name: string, account: string): Sample[] =>
      samples.filter((s) => s.name === name && s.labels.account === account);
    const toppedUp = fleet.find((a) => a.topUp > 0)!;
    const balance = of('zexa_credits_remaining', toppedUp.spec.name);
    expect(balance.at(-1)!.value).toBe(toppedUp.spec.credits);
    const rises = balance.slice(1).filter((s, i) => s.value > balance[i]!.value);
    expect(rises).toHaveLength(1);
    const consumed = of('zexa_credits_consumed_total', toppedUp.spec.name).map((s) => s.value);
    const added = of('zexa_credits_added_total', toppedUp.spec.name).map((s) => s.value);
    expect(consumed.every((v, i) => i === 0 || v >= consumed[i - 1]!)).toBe(true);
    expect(added.at(-1)).toBe(toppedUp.topUp);
    // Start balance - end balance + top-up = everything consumed.
    expect(consumed.at(-1)! - consumed[0]!).toBe(balance[0]!.value - balance.at(-1)!.value + toppedUp.topUp);
  });

  it(
    'carries the recorded 5-minute steps, 72 per account in 6 hours, whatever second the history ends at',
    { timeout: 60_000 },
    async () => {
      // An end that is no whole minute: the steps are counted back from it, not from the epoch.
      const odd = end + 17;
      const file = join(dir, 'h-odd.om');
      await writeHistory(file, fleet, { target, endSeconds: odd, hours: 7, stepSeconds: 60 });
      const a = fleet.find((x) => !x.revoked)!;
      const steps = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(`account:zexa_credits_consumed:increase5m{account="${a.spec.name}"}`))
        .map(parseLine);
      expect(steps.filter((s) => s.t > odd - 6 * 3600)).toHaveLength(72);
      expect(steps.at(-1)!.t).toBe(odd);
      expect(steps.every((s, i) => i === 0 || s.t - steps[i - 1]!.t === 300)).toBe(true);
      // A recording rule's series: only `account`, and a step is the drain alone.
      expect(steps.every((s) => Object.keys(s.labels).join() === 'account' && s.value === a.drain * 300)).toBe(true);
    },
  );

  it('gives a revoked key no balance and a 401 at every poll', () => {
    const { samples } = whole;
    const revoked = fleet.find((a) => a.revoked)!;
    expect(revoked.spec.revoked).toBe(true);
    expect(samples.some((s) => s.name === 'zexa_credits_remaining' && s.labels.account === revoked.spec.name)).toBe(
      false,
    );
    const errors = samples.filter(
      (s) => s.name === 'zexa_auth_errors_total' && s.labels.account === revoked.spec.name && s.labels.code === '401',
    );
    expect(errors.at(-1)!.value - errors[0]!.value).toBe(errors.length - 1);
  });

  it('writes only the samples of the window asked for, one file per promtool block', { timeout: 60_000 }, async () => {
    const from = end - 3 * 3600;
    const { samples } = await history({ from, to: from + 7200 });
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => s.t >= from && s.t < from + 7200)).toBe(true);
  });
});
