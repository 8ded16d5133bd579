/**
 * `npm run bench -- --write` keeps one table per Node.js major in BENCHMARKS.md: the run's table
 * replaces the one between that major's markers and nothing else, and BENCHMARKS.md has the
 * markers of every supported major once each.
 */
import { describe, expect, it } from 'vitest';
import { benchMarkers, replaceBenchSection } from '../../bench/write-section.js';
import { readRepoFile } from '../ops/ops-files.js';

const FILE = [
  '# Benchmarks',
  '## Node.js 24',
  benchMarkers(24).begin,
  '',
  '| figure | 10 accounts |',
  '| old | 1 |',
  '',
  benchMarkers(24).end,
  '## Node.js 20',
  benchMarkers(20).begin,
  '| figure | 10 accounts |',
  '| twenty | 2 |',
  benchMarkers(20).end,
  'after',
].join('\n');

describe('bench --write', () => {
  it("replaces only its major's table", () => {
    const out = replaceBenchSection(FILE, 24, '| figure | 10 accounts |\n| new | 3 |\n');
    expect(out).toContain('| new | 3 |');
    expect(out).not.toContain('| old | 1 |');
    expect(out).toContain('| twenty | 2 |');
    expect(out.endsWith('after')).toBe(true);
    // Writing twice gives the same file: no table piles up.
    expect(replaceBenchSection(out, 24, '| figure | 10 accounts |\n| new | 3 |')).toBe(out);
  });

  it('refuses a file without the markers, or with them twice, naming them', () => {
    expect(() => replaceBenchSection('# Benchmarks\n', 22, 'x')).toThrow('<!-- bench: Node.js 22 -->');
    expect(() => replaceBenchSection(`${FILE}\n${benchMarkers(20).begin}`, 20, 'x')).toThrow('exactly once');
    const swapped = `${benchMarkers(22).end}\n${benchMarkers(22).begin}`;
    expect(() => replaceBenchSection(swapped, 22, 'x')).toThrow('before');
  });

  it('BENCHMARKS.md holds the markers of every supported major once', () => {
    const markdown = readRepoFile('BENCHMARKS.md');
    for (const major of [20, 22, 24]) expect(() => replaceBenchSection(markdown, major, 'x')).not.toThrow();
  });
});
