/**
 * `npm run bench:long-tasks`: the long tasks of the exporter's main thread at 10,000 accounts.
 *
 * The built exporter runs on the image's Node.js (bench/node-runtime.ts) with `--cpu-prof`, one
 * `fromDirectory` entry, a 60 s interval and 50 ms of simulator latency, and is scraped once a
 * second (plain and gzip in turn) from the moment it listens, so the start-up poll round and the
 * first renders are inside the window. A long task is a run of profile samples with no idle
 * sample between them; each is named by the entry frame that took most of its samples and by the
 * functions that took most of them.
 *
 *   npm run bench:long-tasks [-- --accounts 10000 --seconds 75 --node 24 --top 5 --keep FILE]
 *
 * `--keep FILE` copies the profile there (it opens in Chrome's DevTools); `--analyse FILE` only
 * prints the long tasks of a profile kept before.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { generateAccounts, startSimulator } from '../src/simulator/index.js';
import { buildDist, startExporterChild, writeConfigFile, writeKeyDirectory } from './exporter-process.js';
import { resolveNode } from './node-runtime.js';
import { ScrapeClient } from './scrape-client.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface LongTask {
  /** Milliseconds since the profile started. */
  startMs: number;
  durationMs: number;
  /** The entry frame (the child of the root) that took most of the task's samples. */
  entry: string;
  /** The functions with the most self time in the task, with their share of its samples. */
  top: string[];
  /**
   * Samples in the task times the profile's sampling interval: the time the thread was on the CPU.
   * Far below `durationMs` when the process waited for a CPU (a loaded machine) in the middle.
   */
  sampledMs: number;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
  return `${functionName === '' ? '(anonymous)' : functionName}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`;
}

/** Samples that belong to whichever task they interrupt, not a task of their own. */
const NEUTRAL = new Set(['(garbage collector)', '(program)']);

/**
 * The tasks in `profile` of `minMs` or more, longest first: runs of samples under one entry frame
 * (a child of the root) with no idle sample between them; the collector's and V8's own samples
 * count towards the task they interrupt.
 */
export function longTasks(profile: CpuProfile, minMs: number): LongTask[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const root = profile.nodes[0] as ProfileNode;
  const entryOf = (id: number): ProfileNode => {
    let current = id;
    for (;;) {
      const up = parent.get(current);
      if (up === undefined || up === root.id) return byId.get(current) as ProfileNode;
      current = up;
    }
  };
  const tasks: LongTask[] = [];
  const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
  const intervalUs = deltas[Math.floor(deltas.length / 2)] ?? 0;
  let t = 0;
  let run: { start: number; end: number; samples: number[] } | undefined;
  let runEntry: number | undefined;
  const close = (): void => {
    if (run !== undefined && run.end - run.start >= minMs * 1000) {
      const entries = new Map<string, number>();
      const self = new Map<string, number>();
      for (const id of run.samples) {
        const entry = frameName(entryOf(id));
        entries.set(entry, (entries.get(entry) ?? 0) + 1);
        const name = frameName(byId.get(id) as ProfileNode);
        self.set(name, (self.get(name) ?? 0) + 1);
      }
      const most = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
      tasks.push({
        startMs: run.start / 1000,
        durationMs: (run.end - run.start) / 1000,
        entry: most(entries)[0]?.[0] ?? '?',
        sampledMs: (run.samples.length * intervalUs) / 1000,
        top: most(self)
          .slice(0, 4)
          .map(([name, n]) => `${name} ${Math.round((100 * n) / run!.samples.length)} %`),
      });
    }
    run = undefined;
    runEntry = undefined;
  };
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    const name = (byId.get(id) as ProfileNode).callFrame.functionName;
    if (name === '(idle)') {
      close();
      return;
    }
    const entry = entryOf(id);
    if (!NEUTRAL.has(entry.callFrame.functionName)) {
      if (runEntry !== undefined && runEntry !== entry.id) close();
      runEntry = entry.id;
    }
    run ??= { start: t, end: t, samples: [] };
    run.end = t;
    run.samples.push(id);
  });
  close();
  return tasks.sort((a, b) => b.durationMs - a.durationMs);
}

const USAGE =
  'Usage: npm run bench:long-tasks [-- --accounts 10000 --seconds 75 --node 24 --top 5 --keep FILE] | [-- --analyse FILE --from µs]';

/**
 * Prints the `top` longest tasks of the profile in `file` that ended after `fromUs` (the monotonic
 * clock in µs, the profile's own clock): start-up work before the first scrape is left out.
 */
function report(file: string, top: number, fromUs = 0): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const fromMs = Math.max(0, (fromUs - profile.startTime) / 1000);
  const tasks = longTasks(profile, 20).filter((task) => task.startMs + task.durationMs > fromMs);
  console.log(`Profile from +${(fromMs / 1000).toFixed(1)} s (the first scrape) on.`);
  console.log(`Tasks of 20 ms or more: ${tasks.length}; the ${Math.min(top, tasks.length)} largest:`);
  for (const task of tasks.slice(0, top)) {
    console.log(
      `- ${task.durationMs.toFixed(0)} ms (sampled ${task.sampledMs.toFixed(0)} ms) at +${(task.startMs / 1000).toFixed(1)} s: ${task.entry}\n    ${task.top.join('; ')}`,
    );
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let accounts: number;
  let seconds: number;
  let major: number;
  let top: number;
  let keep: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        accounts: { type: 'string', default: '10000' },
        seconds: { type: 'string', default: '75' },
        node: { type: 'string', default: '24' },
        top: { type: 'string', default: '5' },
        keep: { type: 'string' },
        analyse: { type: 'string' },
        from: { type: 'string' },
      },
    });
    keep = values.keep;
    if (values.analyse !== undefined) {
      report(values.analyse, Number(values.top), Number(values.from ?? 0));
      return 0;
    }
    [accounts, seconds, major, top] = [values.accounts, values.seconds, values.node, values.top].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    if (![accounts, seconds, major, top].every((n) => Number.isInteger(n) && n > 0)) throw new Error('bad number');
  } catch (error) {
    console.error(`long-tasks: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  buildDist();
  const node = resolveNode(major);
  const specs = generateAccounts(accounts);
  const dir = mkdtempSync(join(tmpdir(), 'zexa-long-tasks-'));
  const profiles = join(dir, 'profiles');
  mkdirSync(profiles);
  const sim = await startSimulator({ accounts: specs, latencyMs: 50 });
  const loadBefore = loadavg();
  let scrapes = 0;
  let firstScrapeUs: number;
  try {
    writeKeyDirectory(join(dir, 'keys'), specs);
    writeConfigFile(join(dir, 'config.yml'), {
      apiUrl: sim.url,
      keyDir: join(dir, 'keys'),
      intervalMs: 60_000,
      maxConcurrency: 32,
    });
    const exporter = await startExporterChild(join(dir, 'config.yml'), {
      node: node.path,
      execArgv: ['--cpu-prof', '--cpu-prof-interval=500', `--cpu-prof-dir=${profiles}`],
    });
    try {
      const url = new URL(exporter.url);
      const client = new ScrapeClient(url.hostname, Number(url.port));
      firstScrapeUs = Number(process.hrtime.bigint() / 1000n);
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        const started = Date.now();
        const gzip = scrapes % 2 === 1;
        const response = await client.get('/metrics', gzip ? { 'Accept-Encoding': 'gzip' } : {});
        if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
        if (gzip) gunzipSync(response.body);
        scrapes++;
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
    } finally {
      await exporter.stop();
    }
    const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('the exporter wrote no CPU profile');
    if (keep !== undefined) copyFileSync(join(profiles, file), keep);
    const fmt = (l: number[]): string => l.map((n) => n.toFixed(2)).join(', ');
    console.log(
      `Exporter on Node.js ${node.version}, ${accounts} accounts, ${scrapes} scrapes in ${seconds} s; ` +
        `load average before: ${fmt(loadBefore)}, after: ${fmt(loadavg())}`,
    );
    console.log(`First scrape at ${firstScrapeUs} µs (monotonic clock)`);
    report(join(profiles, file), top, firstScrapeUs);
    return 0;
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
