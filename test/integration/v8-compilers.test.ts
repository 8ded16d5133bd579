/**
 * A small exporter runs without V8's optimising compilers (tuneV8 in src/main.ts): the first
 * function Maglev or TurboFan compiles maps in MB of the `node` executable's machine code, which
 * stays in RSS (BENCHMARKS.md, "Where the memory goes"). Checked in a real process with V8's own
 * trace of what it compiles, through start-up, two poll rounds and scrapes of every format.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAccounts, startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { runExporter } from '../support/process.js';
import { until } from '../support/wait.js';

const ACCOUNTS = generateAccounts(10, { prefix: 'tiers' });
let sim: ZexaSimulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ accounts: ACCOUNTS });
  dir = mkdtempSync(join(tmpdir(), 'zexa-v8-'));
  mkdirSync(join(dir, 'keys'), { mode: 0o700 });
  for (const account of ACCOUNTS) writeFileSync(join(dir, 'keys', account.name), account.key, { mode: 0o600 });
  writeFileSync(
    join(dir, 'config.yml'),
    `api: { url: ${JSON.stringify(sim.url)} }\npoll: { interval: 5s }\naccounts:\n  - fromDirectory: keys\n`,
    { mode: 0o600 },
  );
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** V8's `--trace-opt` line for each function it finished compiling with Maglev or TurboFan. */
const compiled = (out: string): string[] => out.split('\n').filter((line) => line.startsWith('[completed compiling'));

describe('V8 compilers at 10 accounts', () => {
  it('compile nothing through start-up, polls and scrapes', async () => {
    const proc = runExporter(
      ['--web.listen-address=127.0.0.1:0', `--config.file=${join(dir, 'config.yml')}`],
      {},
      undefined,
      ['--trace-opt'],
    );
    try {
      const port = await proc.port();
      await until(() => sim.requestCount() >= 2 * ACCOUNTS.length, 30_000, 'two poll rounds');
      for (const accept of ['text/plain', 'application/openmetrics-text; version=1.0.0']) {
        for (const encoding of ['identity', 'gzip']) {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
            headers: { accept, 'accept-encoding': encoding },
          });
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }
      }
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
    }
    expect(proc.stdout()).toContain('zexa-exporter started');
    // Before the first line of src/main.ts runs, Node.js resolves the entry point itself; on a
    // long path that can make one or two of its own path functions hot. Nothing after that.
    expect(
      compiled(proc.stdout()).filter((line) => !/<JSFunction (isPosixPathSeparator|normalizeString) /.test(line)),
    ).toEqual([]);
  });
});
