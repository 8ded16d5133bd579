/** Runs the built `zexa-exporter` (dist/main.js) as a real child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ExporterProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the port from the start log line. */
  port(): Promise<number>;
  /** Resolves with the exit code (or the signal name) once the process has ended and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** `nodeArgs` go before the script (e.g. `--import tsx` to run a TypeScript entry point). */
export function runExporter(
  args: string[],
  env: Record<string, string>,
  script = MAIN,
  nodeArgs: string[] = [],
): ExporterProcess {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  // 'close', not 'exit': 'exit' can come before the last of stdout and stderr has been read, and a
  // test that reads the output once the process has ended would then miss its end (or all of it).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
    port: () =>
      new Promise<number>((resolve, reject) => {
        const check = (): boolean => {
          const match = /"port":(\d+)/.exec(out);
          if (match !== null) {
            resolve(Number(match[1]));
            return true;
          }
          return false;
        };
        if (check()) return;
        const onData = (): void => {
          if (check()) child.stdout.off('data', onData);
        };
        child.stdout.on('data', onData);
        void exited.then(({ code }) => reject(new Error(`exporter exited (${code}) before listening:\n${err}${out}`)));
      }),
  };
}
