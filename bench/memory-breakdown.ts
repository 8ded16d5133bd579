/**
 * `npm run bench -- --memory-breakdown [--node 20,24]`: where the exporter's memory goes, per
 * Node.js major, measured the way BENCHMARKS.md's 10-account figure is (a config file with one
 * `fromDirectory` entry, 5 s poll interval, read 35 s after start):
 * - RSS added by each import of the entry point, each in a fresh process;
 * - the running exporter's VmRSS / VmHWM, process.memoryUsage(), V8's heap spaces,
 *   /proc/<pid>/smaps_rollup and a heap snapshot summed by node type, taken through
 *   bench/memory-probe.mjs on SIGUSR2.
 * Prints Markdown, one column per major.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateAccounts, startSimulator } from '../src/simulator/index.js';
import { startExporterChild, writeConfigFile, writeKeyDirectory } from './exporter-process.js';
import type { NodeRuntime } from './node-runtime.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
const STEADY_AFTER_MS = 35_000;
const MB = 1024 * 1024;

/** The entry point's imports, in the order main.ts reaches them, then the app's own layers. */
const IMPORTS: readonly string[] = [
  'yaml',
  'pino',
  // The parts of undici the client loads (src/zexa/undici.ts), not the package's index.
  'dist/zexa/undici.js',
  'prom-client',
  'dist/config/load.js',
  'dist/runtime/exporter.js',
];

/**
 * RSS of a bare `node` that has imported one empty ES module (the module loader's own cost is in
 * it), then what each import adds, in one fresh process importing them in this order, MB.
 */
function importCosts(node: NodeRuntime): { floorMb: number; perImport: Map<string, number> } {
  const targets = [
    'data:text/javascript,export{}',
    ...IMPORTS.map((spec) => (spec.startsWith('dist/') ? pathToFileURL(join(ROOT, spec)).href : spec)),
  ];
  const script = `const rss = []; for (const t of ${JSON.stringify(targets)}) { await import(t); rss.push(process.memoryUsage().rss); } console.log(JSON.stringify(rss));`;
  const rss = JSON.parse(
    execFileSync(node.path, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }),
  ) as number[];
  const perImport = new Map<string, number>();
  IMPORTS.forEach((spec, i) => perImport.set(spec, ((rss[i + 1] ?? Number.NaN) - (rss[i] ?? Number.NaN)) / MB));
  return { floorMb: (rss[0] ?? Number.NaN) / MB, perImport };
}

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size of a heap snapshot's nodes summed by node type, and the largest object/code names. */
function summariseSnapshot(path: string): { byType: Map<string, number>; topNames: [string, number][] } {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshotFile;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] ?? '?';
    const size = snap.nodes[i + sizeAt] as number;
    byType.set(type, (byType.get(type) ?? 0) + size);
    if (type === 'object' || type === 'code' || type === 'closure') {
      const name = `${type}: ${(snap.strings[snap.nodes[i + nameAt] as number] ?? '?').slice(0, 40)}`;
      byName.set(name, (byName.get(name) ?? 0) + size);
    }
  }
  const topNames = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { byType, topNames };
}

interface ProbeOutput {
  memoryUsage: NodeJS.MemoryUsage;
  spaces: { space_name: string; space_size: number; space_used_size: number }[];
  smapsRollup: string;
}

export interface MemoryBreakdown {
  node: NodeRuntime;
  execArgv: readonly string[];
  floorMb: number;
  perImport: Map<string, number>;
  rssMb: number;
  peakMb: number;
  probe: ProbeOutput;
  snapshot: ReturnType<typeof summariseSnapshot>;
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('memory probe did not answer');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The exporter at 10 accounts, steady, on `node` with `execArgv` before dist/main.js. */
export async function measureBreakdown(
  node: NodeRuntime,
  execArgv: readonly string[] = [],
  log: (line: string) => void = () => {},
  steadyAfterMs: number = STEADY_AFTER_MS,
): Promise<MemoryBreakdown> {
  log(`memory breakdown: ${node.version}: RSS per import`);
  const { floorMb, perImport } = importCosts(node);
  const dir = mkdtempSync(join(tmpdir(), 'zexa-mem-'));
  const accounts = generateAccounts(10);
  const sim = await startSimulator({ accounts });
  try {
    const keyDir = join(dir, 'keys');
    writeKeyDirectory(keyDir, accounts);
    const configFile = join(dir, 'config.yml');
    writeConfigFile(configFile, { apiUrl: sim.url, keyDir, intervalMs: 5_000, maxConcurrency: 32 });
    const out = join(dir, 'probe.json');
    const started = Date.now();
    const child = await startExporterChild(configFile, {
      node: node.path,
      execArgv: ['--import', pathToFileURL(PROBE).href, ...execArgv],
      env: { ZEXA_BENCH_PROBE_OUT: out },
    });
    try {
      log(`memory breakdown: ${node.version}: exporter running, reading at ${steadyAfterMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, steadyAfterMs - (Date.now() - started))));
      const rssMb = child.rssBytes() / MB;
      const peakMb = child.peakRssBytes() / MB;
      process.kill(child.pid, 'SIGUSR2');
      await until(() => existsSync(out), 60_000);
      const probe = JSON.parse(readFileSync(out, 'utf8')) as ProbeOutput;
      return {
        node,
        execArgv,
        floorMb,
        perImport,
        rssMb,
        peakMb,
        probe,
        snapshot: summariseSnapshot(`${out}.heapsnapshot`),
      };
    } finally {
      await child.stop();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function smaps(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/** One table, one column per measured runtime. */
export function breakdownTable(runs: readonly MemoryBreakdown[]): string {
  const mb = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const rows: [string, (r: MemoryBreakdown) => string][] = [
    ['Node.js options', (r) => (r.execArgv.length === 0 ? '(tuneV8 only)' : r.execArgv.join(' '))],
    ['VmRSS at 35 s (MB)', (r) => mb(r.rssMb)],
    ['VmHWM, peak (MB)', (r) => mb(r.peakMb)],
    ['bare `node` RSS, one empty ES module imported (MB)', (r) => mb(r.floorMb)],
    ...IMPORTS.map((spec): [string, (r: MemoryBreakdown) => string] => [
      `+ import ${spec} (MB, in this order)`,
      (r) => mb(r.perImport.get(spec) ?? Number.NaN),
    ]),
    ['memoryUsage().rss (MB)', (r) => mb(r.probe.memoryUsage.rss / MB)],
    [
      'memoryUsage().heapTotal / heapUsed (MB)',
      (r) => `${mb(r.probe.memoryUsage.heapTotal / MB)} / ${mb(r.probe.memoryUsage.heapUsed / MB)}`,
    ],
    [
      'memoryUsage().external / arrayBuffers (MB)',
      (r) => `${mb(r.probe.memoryUsage.external / MB)} / ${mb(r.probe.memoryUsage.arrayBuffers / MB)}`,
    ],
    ...[
      'new_space',
      'old_space',
      'code_space',
      'large_object_space',
      'code_large_object_space',
      'trusted_space',
      'shared_trusted_space',
    ].map((space): [string, (r: MemoryBreakdown) => string] => [
      `V8 ${space} size / used (MB)`,
      (r) => {
        const s = r.probe.spaces.find((x) => x.space_name === space);
        return s === undefined ? '–' : `${mb(s.space_size / MB)} / ${mb(s.space_used_size / MB)}`;
      },
    ]),
    [
      'smaps_rollup Rss / Anonymous (MB)',
      (r) => `${mb(smaps(r.probe.smapsRollup, 'Rss'))} / ${mb(smaps(r.probe.smapsRollup, 'Anonymous'))}`,
    ],
    [
      'smaps_rollup file-backed (Rss − Anonymous, MB)',
      (r) => mb(smaps(r.probe.smapsRollup, 'Rss') - smaps(r.probe.smapsRollup, 'Anonymous')),
    ],
    ...['code', 'object', 'string', 'array', 'closure', 'hidden', 'concatenated string', 'native'].map(
      (type): [string, (r: MemoryBreakdown) => string] => [
        `heap snapshot: ${type} (MB)`,
        (r) => mb((r.snapshot.byType.get(type) ?? Number.NaN) / MB),
      ],
    ),
    [
      'heap snapshot: largest names',
      (r) =>
        r.snapshot.topNames
          .slice(0, 5)
          .map(([name, size]) => `${name.replace(/\|/g, '/')} ${mb(size / MB)}`)
          .join('; '),
    ],
  ];
  const head = ['figure (10 accounts, steady)', ...runs.map((r) => `Node.js ${r.node.version}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [figure, cell] of rows) lines.push(`| ${[figure, ...runs.map(cell)].join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
