/**
 * Figures read out of BENCHMARKS.md, so that README and the Kubernetes manifests can be held to
 * what was measured (issue 15: "README drift", "memory sizing").
 */
import { readRepoFile } from './ops-files.js';

const MB = 1e6;
const MIB = 2 ** 20;

export interface RssPeak {
  scenario: string;
  bytes: number;
}

/** The `| figure | ... |` row of the first table whose figure starts with `prefix`, cells after the figure. */
function row(markdown: string, prefix: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| ${prefix}`));
  if (line === undefined) throw new Error(`BENCHMARKS.md has no table row starting with "${prefix}"`);
  return line.split('|').slice(2, -2).map((c) => c.trim());
}

function header(markdown: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith('| figure |'));
  if (line === undefined) throw new Error('BENCHMARKS.md has no "| figure |" table');
  return line.split('|').slice(2, -2).map((c) => c.trim());
}

/**
 * Every measured peak RSS: one per column of the bench table (`80 MB / 70 MB` = peak / median)
 * and the load test's `peak (VmHWM) 193.4 MiB`.
 */
export function rssPeaks(markdown = readRepoFile('BENCHMARKS.md')): RssPeak[] {
  const columns = header(markdown);
  const peaks = row(markdown, 'RSS of the exporter process').map((cell, i) => {
    const match = /^([\d.]+) MB \//.exec(cell);
    if (match === null) throw new Error(`BENCHMARKS.md RSS cell "${cell}" is not "<peak> MB / <median> MB"`);
    return { scenario: `bench, ${columns[i]}`, bytes: Number(match[1]) * MB };
  });
  for (const m of markdown.matchAll(/peak \(VmHWM\) ([\d.]+) MiB/g)) peaks.push({ scenario: 'load test, 1,000 accounts, 50 clients', bytes: Number(m[1]) * MIB });
  return peaks;
}

/** The steady-window median RSS of a bench column whose header starts with `columnPrefix`. */
export function rssSteady(columnPrefix: string, markdown = readRepoFile('BENCHMARKS.md')): number {
  const i = header(markdown).findIndex((c) => c.startsWith(columnPrefix));
  if (i < 0) throw new Error(`BENCHMARKS.md has no column "${columnPrefix}"`);
  const cell = row(markdown, 'RSS of the exporter process')[i]!;
  return Number(/\/ ([\d.]+) MB$/.exec(cell)?.[1]) * MB;
}

/** A bench cell of the first column starting with `columnPrefix`. */
export function benchCell(figure: string, columnPrefix: string, markdown = readRepoFile('BENCHMARKS.md')): string {
  const i = header(markdown).findIndex((c) => c.startsWith(columnPrefix));
  if (i < 0) throw new Error(`BENCHMARKS.md has no column "${columnPrefix}"`);
  return row(markdown, figure)[i]!;
}

/** The load test's worst poll slip, in percent of the interval. */
export function pollSlipPercent(markdown = readRepoFile('BENCHMARKS.md')): number {
  const match = /Poll slip: at most \d+ ms = ([\d.]+) % of the interval/.exec(markdown);
  if (match === null) throw new Error('BENCHMARKS.md has no "Poll slip: at most N ms = X % of the interval" line');
  return Number(match[1]);
}
