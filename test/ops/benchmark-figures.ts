/**
 * Figures read out of BENCHMARKS.md, so that the Kubernetes manifests can be held to what was
 * measured, and the figures the documentation links to stay readable.
 */
import { readRepoFile } from './ops-files.js';

const MB = 1e6;
const MIB = 2 ** 20;

export interface RssPeak {
  scenario: string;
  bytes: number;
}

/** Each `| figure |` table of the file: its column headers and its rows by figure. */
function tables(markdown: string): { heading: string; columns: string[]; rows: string[][] }[] {
  const out: { heading: string; columns: string[]; rows: string[][] }[] = [];
  let current: { heading: string; columns: string[]; rows: string[][] } | undefined;
  let heading = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('#')) heading = line.replace(/^#+ /, '');
    if (line.startsWith('| figure |')) {
      current = {
        heading,
        columns: line
          .split('|')
          .slice(2, -2)
          .map((c) => c.trim()),
        rows: [],
      };
      out.push(current);
    } else if (current !== undefined && line.startsWith('| ')) {
      current.rows.push(
        line
          .split('|')
          .slice(1, -2)
          .map((c) => c.trim()),
      );
    } else if (!line.startsWith('|')) {
      current = undefined;
    }
  }
  return out;
}

/**
 * The highest steady-window median RSS over every bench table (Node.js 20, Node.js 24, …) of the
 * columns whose header starts with `columnPrefix`: a manifest must hold the worst of them.
 */
export function rssSteadyHighest(
  columnPrefix: string,
  markdown = readRepoFile('BENCHMARKS.md'),
): { bytes: number; where: string } {
  let best = { bytes: 0, where: '' };
  for (const { heading, columns, rows } of tables(markdown)) {
    const rss = rows.find((r) => r[0]?.startsWith('RSS of the exporter process'));
    if (rss === undefined) continue;
    columns.forEach((column, i) => {
      if (!column.startsWith(columnPrefix)) return;
      const match = /\/ ([\d.]+) MB$/.exec(rss[i + 1] ?? '');
      if (match !== null && Number(match[1]) * MB > best.bytes)
        best = { bytes: Number(match[1]) * MB, where: `"${column}" under "${heading}"` };
    });
  }
  if (best.bytes === 0) throw new Error(`BENCHMARKS.md has no RSS figure for a column "${columnPrefix}"`);
  return best;
}

/**
 * Every measured peak RSS: one per column of every bench table (one table per Node.js major;
 * `80 MB / 70 MB` = peak / median) and the load test's `peak (VmHWM) 193.4 MiB`.
 */
export function rssPeaks(markdown = readRepoFile('BENCHMARKS.md')): RssPeak[] {
  const peaks: RssPeak[] = [];
  for (const { heading, columns, rows } of tables(markdown)) {
    const rss = rows.find((r) => r[0]?.startsWith('RSS of the exporter process'));
    if (rss === undefined) continue;
    columns.forEach((column, i) => {
      const cell = rss[i + 1] ?? '';
      const match = /^([\d.]+) MB \//.exec(cell);
      if (match === null) throw new Error(`BENCHMARKS.md RSS cell "${cell}" is not "<peak> MB / <median> MB"`);
      peaks.push({ scenario: `bench, ${heading}, ${column}`, bytes: Number(match[1]) * MB });
    });
  }
  if (peaks.length === 0) throw new Error('BENCHMARKS.md has no "RSS of the exporter process" row');
  for (const m of markdown.matchAll(/peak \(VmHWM\) ([\d.]+) MiB/g))
    peaks.push({ scenario: 'load test, 1,000 accounts, 50 clients', bytes: Number(m[1]) * MIB });
  return peaks;
}

/**
 * A bench cell: the row starting with `figure`, in the column starting with `columnPrefix`, of
 * the first table (the image's Node.js first) that has both.
 */
export function benchCell(figure: string, columnPrefix: string, markdown = readRepoFile('BENCHMARKS.md')): string {
  for (const { columns, rows } of tables(markdown)) {
    const i = columns.findIndex((c) => c.startsWith(columnPrefix));
    const row = rows.find((r) => r[0]?.startsWith(figure));
    if (i >= 0 && row?.[i + 1] !== undefined) return row[i + 1]!;
  }
  throw new Error(`BENCHMARKS.md has no table with a row "${figure}" and a column "${columnPrefix}"`);
}

/** The load test's worst poll slip, in percent of the interval. */
export function pollSlipPercent(markdown = readRepoFile('BENCHMARKS.md')): number {
  const match = /Poll slip: at most \d+ ms = ([\d.]+) % of the interval/.exec(markdown);
  if (match === null) throw new Error('BENCHMARKS.md has no "Poll slip: at most N ms = X % of the interval" line');
  return Number(match[1]);
}
