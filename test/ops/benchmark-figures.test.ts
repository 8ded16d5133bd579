/**
 * BENCHMARKS.md is where every measured figure lives and where the other pages send readers, so
 * its tables must hold the figures they are sent for, in a form that can be read: the prom-client
 * baseline at 10,000 accounts, the load test's poll slip, and the RSS (peak / steady) per size.
 * What the figures are is for the bench to say; the Kubernetes test holds the manifests to them.
 */
import { describe, expect, it } from 'vitest';
import { benchCell, pollSlipPercent, rssPeaks } from './benchmark-figures.js';

describe('BENCHMARKS.md holds readable figures', () => {
  it('the prom-client baseline at 10,000 accounts', () => {
    expect(Number(/^([\d.]+) ms/.exec(benchCell('baseline: prom-client', '10,000 accounts'))?.[1])).toBeGreaterThan(0);
  });

  it('the poll slip under 50 clients, in percent of the interval', () => {
    expect(pollSlipPercent()).toBeGreaterThanOrEqual(0);
    expect(pollSlipPercent()).toBeLessThan(100);
  });

  it('the RSS at 10, 1,000 and 10,000 accounts as "<peak> MB / <steady> MB", peak not below steady', () => {
    for (const column of ['10 accounts', '1,000 accounts', '10,000 accounts']) {
      const cell = /^([\d.]+) MB \/ ([\d.]+) MB$/.exec(benchCell('RSS of the exporter process', column));
      expect(cell, `RSS cell of "${column}"`).not.toBeNull();
      expect(Number(cell![1])).toBeGreaterThanOrEqual(Number(cell![2]));
    }
    expect(rssPeaks().some((p) => p.scenario.startsWith('load test'))).toBe(true);
  });
});
