/**
 * The exporter under test as the real program: `node dist/main.js` in its own process, so its
 * RSS is the exporter's alone, configured the way an operator with thousands of keys would: a
 * config file with `accounts: [{ fromDirectory }]` (form `directory`), or a config file that lists
 * every account with its `apiKeyFile` (form `file`, issue 11: the YAML of a large file must not
 * lift the peak).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SimAccountSpec } from '../src/simulator/index.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const PROBE = new URL('./memory-probe.mjs', import.meta.url).href;

/** Builds dist/ (what the exporter process runs) with the project's TypeScript. */
export function buildDist(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

/** One key file per account, named after it, mode 0600: what `--key-dir` of the simulator CLI writes. */
export function writeKeyDirectory(dir: string, accounts: readonly SimAccountSpec[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const spec of accounts) {
    const file = join(dir, spec.name);
    writeFileSync(file, `${spec.key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
}

/** How the bench's config file names the accounts. */
export type AccountsForm = 'directory' | 'file';

export interface ExporterRunSettings {
  apiUrl: string;
  keyDir: string;
  /** `directory`: one `fromDirectory` entry; `file`: one entry per account (`names`) with its apiKeyFile in keyDir. */
  form?: AccountsForm | undefined;
  names?: readonly string[] | undefined;
  intervalMs: number;
  maxConcurrency: number;
  maxRequestsPerSecond?: number | undefined;
}

export function writeConfigFile(path: string, s: ExporterRunSettings): void {
  const lines = [
    'api:',
    `  url: ${JSON.stringify(s.apiUrl)}`,
    'poll:',
    `  interval: ${s.intervalMs / 1000}s`,
    `  maxConcurrency: ${s.maxConcurrency}`,
    ...(s.maxRequestsPerSecond === undefined ? [] : [`  maxRequestsPerSecond: ${s.maxRequestsPerSecond}`]),
    'accounts:',
    ...(s.form === 'file'
      ? (s.names ?? []).flatMap((name) => [
          `  - name: ${name}`,
          `    apiKeyFile: ${JSON.stringify(join(s.keyDir, name))}`,
        ])
      : [`  - fromDirectory: ${JSON.stringify(s.keyDir)}`]),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

export interface ExporterChild {
  readonly pid: number;
  readonly url: string;
  /** Resident set size now, in bytes (from /proc), or NaN once the process is gone. */
  rssBytes(): number;
  /**
   * The kernel's high-water mark of the resident set since the process started (`VmHWM`), in
   * bytes, or NaN once it is gone: the true peak, which sampling every 250 ms can miss (loading a
   * large config file is one synchronous burst of a second or two).
   */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** One `kB` field of /proc/<pid>/status, or NaN once the process is gone. */
function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? Number.NaN : Number(match[1]);
  } catch {
    return Number.NaN;
  }
}

export interface ExporterChildOptions {
  /** The `node` binary to run the exporter on (default: this process's own). */
  node?: string | undefined;
  /** Node.js options before dist/main.js (a preload, V8 flags, `--cpu-prof` to profile the exporter). */
  execArgv?: readonly string[] | undefined;
  /** Added to the exporter's environment. */
  env?: Readonly<Record<string, string>> | undefined;
}

export async function startExporterChild(
  configFile: string,
  options: ExporterChildOptions = {},
): Promise<ExporterChild> {
  const child: ChildProcess = spawn(options.node ?? process.execPath, [...(options.execArgv ?? []), MAIN], {
    env: {
      ...options.env,
      PATH: process.env.PATH ?? '',
      ZEXA_EXPORTER_CONFIG: configFile,
      ZEXA_EXPORTER_LISTEN_ADDRESS: '127.0.0.1:0',
      ZEXA_EXPORTER_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Only the start line matters; later output is drained and dropped so memory stays flat.
  const keep = (chunk: Buffer): void => {
    if (output.length < 64 * 1024) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`exporter did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const check = (): void => {
      const match = /"port":(\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve(Number(match[1]));
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exporter exited with code ${String(code)} before listening:\n${output}`));
    });
  });
  const pid = child.pid as number;
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    rssBytes: () => statusKb(pid, 'VmRSS') * 1024,
    peakRssBytes: () => statusKb(pid, 'VmHWM') * 1024,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(forced);
    },
  };
}

/**
 * `zexa-exporter healthcheck` against the running exporter at `url`, as the container runs it
 * every 30 s: its exit code and its own peak RSS (VmHWM read as it exits, through
 * bench/memory-probe.mjs), MB.
 */
export async function healthcheckPeak(
  configFile: string,
  url: string,
  node: string = process.execPath,
): Promise<{ exitCode: number; peakMb: number }> {
  const out = `${configFile}.healthcheck-peak`;
  let exitCode = 0;
  try {
    await promisify(execFile)(node, ['--import', PROBE, MAIN, 'healthcheck'], {
      env: {
        PATH: process.env.PATH ?? '',
        ZEXA_EXPORTER_CONFIG: configFile,
        ZEXA_EXPORTER_LISTEN_ADDRESS: new URL(url).host,
        ZEXA_BENCH_PEAK_OUT: out,
      },
    });
  } catch (error) {
    exitCode = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1;
  }
  const kb = Number(readFileSync(out, 'utf8'));
  rmSync(out, { force: true });
  return { exitCode, peakMb: kb / 1024 };
}
