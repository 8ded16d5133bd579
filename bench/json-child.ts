/**
 * Runs a bench script as a child process (TypeScript through tsx, from the project root) and
 * resolves with the JSON report it prints on stdout. The measuring runs in its own process so its
 * RSS and CPU are its own. Fails with the child's stderr when it exits non-zero or prints nothing.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function runJsonChild<T>(
  script: string,
  args: readonly string[],
  what: string,
  nodeFlags: readonly string[] = [],
): Promise<T> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || stdout.trim() === '')
    throw new Error(`${what} exited with ${String(code)} and no report: ${stderr.trim()}`);
  return JSON.parse(stdout) as T;
}
