/**
 * `npm run bench [-- --quick] [-- --accounts 10000]`: the scale benchmark of issue 5. Builds dist/, then measures
 * 10 / 1,000 / 10,000 accounts (about 10 minutes on a 2-core machine; 10,000 accounts both with `fromDirectory` and listed one by
 * one in the config file; `--quick`: 10 and 1,000 accounts with short windows, about a minute;
 * `--accounts`: only those sizes of the full run; `--form directory|file`: only that config form) and prints the machine and a Markdown table.
 * `--write` also puts that table in BENCHMARKS.md, in place of the one of the same Node.js major.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBenchmark, type BenchOptions, type SizePlan } from './benchmark.js';
import { buildDist, type AccountsForm } from './exporter-process.js';
import { breakdownTable, measureBreakdown } from './memory-breakdown.js';
import { DEFAULT_NODE_MAJOR, resolveNode, type NodeRuntime } from './node-runtime.js';
import { markdownTable } from './report.js';
import { replaceBenchSection } from './write-section.js';

const FULL: readonly SizePlan[] = [
  { accounts: 10, intervalMs: 5_000, steadyWindowMs: 10_000 },
  { accounts: 1_000, intervalMs: 15_000, steadyWindowMs: 30_000 },
  { accounts: 10_000, intervalMs: 60_000, steadyWindowMs: 60_000 },
  // The same 10,000 accounts listed one by one in the config file, each with its apiKeyFile (issue 11).
  { accounts: 10_000, form: 'file', intervalMs: 60_000, steadyWindowMs: 60_000 },
];

const QUICK: readonly SizePlan[] = [
  { accounts: 10, intervalMs: 5_000, steadyWindowMs: 5_000 },
  { accounts: 1_000, intervalMs: 5_000, steadyWindowMs: 5_000 },
];

const USAGE =
  'Usage: npm run bench [-- --quick] [-- --accounts 10,1000,10000] [-- --form directory,file] [-- --node 20|22|24] [-- --write]\n' +
  '       npm run bench -- --memory-breakdown [--node 20,24] [--exec-argv "--some-v8-flag ..."]';

/** `--node 20,24` as majors; the image's Node.js 24 when not given. */
function nodeMajors(value: string | undefined): number[] {
  const majors = (value ?? String(DEFAULT_NODE_MAJOR)).split(',').map(Number);
  if (!majors.every((m) => [20, 22, 24].includes(m)))
    throw new Error('--node takes 20, 22 or 24 (a comma-separated list with --memory-breakdown)');
  return majors;
}

async function memoryBreakdown(majors: readonly number[], execArgv: readonly string[]): Promise<number> {
  buildDist();
  const runs = [];
  for (const major of majors)
    runs.push(await measureBreakdown(resolveNode(major), execArgv, (line) => console.error(line)));
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end\n`,
  );
  console.log(breakdownTable(runs));
  return 0;
}

const major = (node: NodeRuntime): number => Number(node.version.replace(/^v/, '').split('.')[0]);

/** The commit measured, marked when the code differs from it (BENCHMARKS.md, which --write edits, aside). */
function commit(): string {
  const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!BENCHMARKS.md') === '' ? '' : ' (with local changes)'}`;
  } catch {
    return 'an unknown commit (no git)';
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let quick: boolean;
  let plans: readonly SizePlan[];
  let node: NodeRuntime;
  let write: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        accounts: { type: 'string' },
        form: { type: 'string' },
        node: { type: 'string' },
        'memory-breakdown': { type: 'boolean' },
        'exec-argv': { type: 'string' },
        write: { type: 'boolean' },
      },
      strict: true,
    });
    const majors = nodeMajors(values.node);
    if (values['memory-breakdown'] === true && values.write === true)
      throw new Error("--write writes the scale benchmark's table; --memory-breakdown only prints");
    if (values['memory-breakdown'] === true)
      return await memoryBreakdown(
        majors,
        (values['exec-argv'] ?? '').split(' ').filter((a) => a !== ''),
      );
    if (majors.length !== 1) throw new Error('--node takes one major for the scale benchmark');
    node = resolveNode(majors[0] as number);
    quick = values.quick ?? false;
    write = values.write ?? false;
    plans = quick ? QUICK : FULL;
    if (values.accounts !== undefined) {
      const wanted = values.accounts.split(',').map(Number);
      const sizes = [...new Set(FULL.map((p) => p.accounts))];
      if (!wanted.every((n) => sizes.includes(n)))
        throw new Error(`--accounts takes a comma-separated list of ${sizes.join(', ')}`);
      plans = FULL.filter((p) => wanted.includes(p.accounts));
    }
    if (values.form !== undefined) {
      const forms = values.form.split(',');
      if (!forms.every((f): f is AccountsForm => f === 'directory' || f === 'file'))
        throw new Error('--form takes directory, file, or both: directory,file');
      // Every size asked for, in each form asked for.
      const sizes = [...new Map(plans.map((p) => [p.accounts, p])).values()];
      plans = forms.flatMap((form) => sizes.map((p) => ({ ...p, form })));
    }
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  buildDist();
  const options: BenchOptions = {
    plans,
    latencyMs: 50,
    concurrency: 32,
    repeats: quick ? 1 : 3,
    scrapeEveryMs: 1_000,
    registryRuns: quick ? 3 : 7,
    rateWindowMs: quick ? 5_000 : 10_000,
    node: node.path,
    log: (line) => console.error(line),
  };
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const figures = await runBenchmark(options);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  const command =
    `npm run bench${argv.length > 0 ? ` -- ${argv.filter((a) => a !== '--write').join(' ')}` : ''}`.trimEnd();
  const report = [
    `Machine: ${cpus().length} × ${cpu}, ${gb(totalmem())} RAM (${gb(freemem())} free at the end), bench on Node.js ${process.version}, exporter on Node.js ${node.version}, ${process.platform}/${process.arch}`,
    '',
    `Run: \`${command}\` on ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC at ${commit()}, ` +
      `load average (1 min) ${loadBefore.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end; ` +
      `simulator latency ${options.latencyMs} ms, concurrency ${options.concurrency}, ` +
      `${options.repeats} repeat(s) of the poll round, scrapes every ${options.scrapeEveryMs} ms from a process of their own, in turn plain, gzip, plain with undici, OpenMetrics and OpenMetrics gzip; took ${Math.round((Date.now() - started) / 1000)} s`,
    '',
    markdownTable(figures, node.version),
  ].join('\n');
  console.log(report);
  if (write) {
    const file = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
    writeFileSync(file, replaceBenchSection(readFileSync(file, 'utf8'), major(node), report));
    console.error(`bench: wrote the Node.js ${major(node)} table of BENCHMARKS.md`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
