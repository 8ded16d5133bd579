/**
 * The status page's colours meet WCAG AA (4.5:1 for text) in both schemes, as src/views/
 * style.ts promises: the text colours on the table's panel and on the page, the "shared" and
 * "rotation due" marks (--warn) and the badges' white text.
 */
import { describe, expect, it } from 'vitest';
import { BADGES, COLOURS } from '../../../src/views/style.js';

/** WCAG 2.x relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe('status page colours (WCAG AA)', () => {
  it('computes contrast as WCAG does', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`gives every text colour at least 4.5:1 on the panel and the page (${scheme})`, () => {
      const c = COLOURS[scheme];
      for (const text of ['text', 'dim', 'link', 'warn', 'crit'] as const) {
        for (const background of ['panel', 'bg', 'head'] as const) {
          expect(contrast(c[text], c[background]), `${text} on ${background}`).toBeGreaterThanOrEqual(4.5);
        }
      }
    });
  }

  it("gives the badges' white text at least 4.5:1", () => {
    for (const [state, colour] of Object.entries(BADGES))
      expect(contrast('#ffffff', colour), state).toBeGreaterThanOrEqual(4.5);
  });
});
