/**
 * The memory the balance history costs (issue 14: at most 10 MB at 10,000 accounts), measured in
 * a process of its own with 26 hours of polls recorded (see bench/history-cost-child.ts).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface HistoryCost {
  accounts: number;
  /** Heap and typed-array bytes the full history added. */
  bytes: number;
  /** RSS the full history added (noisier: it includes allocator and heap-page slack). */
  rssBytes: number;
  /** Hours the history of an account holds once full. */
  hoursKept: number;
}

export async function measureHistoryCost(accounts: number): Promise<HistoryCost> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const script = fileURLToPath(new URL('./history-cost-child.ts', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(accounts)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || stdout.trim() === '') throw new Error(`the history-cost process exited with ${String(code)}: ${stderr.trim()}`);
  return JSON.parse(stdout) as HistoryCost;
}
