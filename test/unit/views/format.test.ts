/**
 * The status page's numbers are written by hand (src/views/format.ts) so that the exporter
 * never loads ICU's locale data (~4 MB of RSS, issue 11). They must read exactly as
 * `Intl.NumberFormat('en-US')` wrote them before: checked here against Intl itself.
 */
import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../../src/views/format.js';

const WHOLE = new Intl.NumberFormat('en-US');
const FRACTION = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const intl = (value: number): string => (Number.isInteger(value) ? WHOLE.format(value) : FRACTION.format(value));

/** A small deterministic generator (mulberry32), so a failure names the same values every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('formatNumber', () => {
  it('writes what Intl en-US writes at the edges: signs, rounding carries, huge and tiny values', () => {
    const edges = [
      0,
      -0,
      1,
      -1,
      999,
      1000,
      -1000,
      1234567,
      0.001,
      -0.001,
      0.004999,
      0.005,
      1.005,
      2.675,
      0.125,
      0.995,
      -0.995,
      999.995,
      9999.999,
      -1234.567,
      123456789.999,
      1e-7,
      5e-324,
      1e21,
      1.5e21,
      1e23,
      3 * 2 ** 75,
      Number.MAX_VALUE,
      Number.MAX_SAFE_INTEGER,
      2 ** 53 + 2,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    for (const value of edges) expect(formatNumber(value), String(value)).toBe(intl(value));
  });

  it('writes what Intl en-US writes for 20,000 values of every magnitude', () => {
    const next = random(11);
    for (let i = 0; i < 20_000; i++) {
      const magnitude = 10 ** Math.floor(next() * 16 - 3);
      const value = (next() - 0.3) * magnitude;
      const rounded = i % 4 === 0 ? Math.round(value) : i % 4 === 1 ? Math.round(value * 1000) / 1000 : value;
      expect(formatNumber(rounded), String(rounded)).toBe(intl(rounded));
    }
  });
});
