/**
 * `npm test`: the full gate. Type-checks, lints and builds dist/ (the checks, side by side), then
 * runs the test tiers (vitest projects, see vitest.config.ts), each in its own vitest run, side by
 * side as well, and prints how long each step took, so the CI log shows where the time goes.
 *
 * Side by side, because the tiers mostly wait: on child processes, servers and Prometheus, not on
 * the CPU (the integration tier kept two cores about a third busy). Every line a step prints is
 * prefixed with its name (`[ops] …`), so interleaved output still reads per step.
 * `--serial` (or ZEXA_TEST_SERIAL=1) runs one step at a time, without prefixes.
 *
 * A failed type check, lint or build stops the gate (the tests would only repeat it). A failed
 * tier does not: the other tiers still run, and the summary names every tier that failed.
 *
 * `npx tsx scripts/test-tiers.ts unit ops` runs only those tiers (after the same checks).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TIERS = ['unit', 'integration', 'ops', 'browser'] as const;
type Tier = (typeof TIERS)[number];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Step {
  name: string;
  command: string;
  args: string[];
}

/** The checks run side by side first; any failure stops the gate. Then the tiers, side by side. */
function phases(tiers: readonly Tier[]): { checks: Step[]; tiers: Step[] } {
  const npm = (name: string, script: string): Step => ({ name, command: 'npm', args: ['run', script, '--silent'] });
  return {
    checks: [npm('typecheck', 'typecheck'), npm('lint', 'lint'), npm('build', 'build')],
    tiers: tiers.map((tier) => npm(tier, `test:${tier}`)),
  };
}

/** Reads `--serial` and the tier names on the command line; no tier means every tier. */
function parseArgs(args: readonly string[]): { tiers: Tier[]; serial: boolean } {
  const serial = args.includes('--serial') || process.env.ZEXA_TEST_SERIAL === '1';
  const names = args.filter((arg) => arg !== '--serial');
  const unknown = names.filter((arg) => !(TIERS as readonly string[]).includes(arg));
  if (unknown.length > 0)
    throw new Error(`unknown tier ${unknown.join(', ')}; the tiers are ${TIERS.join(', ')} (and --serial)`);
  return { tiers: names.length === 0 ? [...TIERS] : (names as Tier[]), serial };
}

interface Result {
  name: string;
  ok: boolean;
  ms: number;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Runs one step; with `prefix`, each line of its output goes out as `[name] line`. */
function run(step: Step, prefix: boolean): Promise<Result> {
  const begun = performance.now();
  console.log(`======== test: ${step.name} started ========`);
  return new Promise((resolve) => {
    // The tiers that start dist/ would build it again in their global setup; it is built above.
    const child = spawn(step.command, step.args, {
      cwd: ROOT,
      stdio: prefix ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, ZEXA_TEST_BUILT: '1' },
    });
    if (prefix)
      for (const [from, to] of [
        [child.stdout, process.stdout],
        [child.stderr, process.stderr],
      ] as const)
        if (from !== null)
          createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) =>
            to.write(`[${step.name}] ${line}\n`),
          );
    const done = (code: number, why?: string): void => {
      const ms = performance.now() - begun;
      console.log(
        `======== test: ${step.name} ${code === 0 ? 'passed' : `FAILED (${why ?? `exit ${code}`})`} in ${formatSeconds(ms)} ========`,
      );
      resolve({ name: step.name, ok: code === 0, ms });
    };
    child.on('error', (error) => done(1, `did not start: ${error.message}`));
    child.on('close', (code, signal) => done(code ?? 1, code === null ? `signal ${signal ?? 'unknown'}` : undefined));
  });
}

async function runPhase(steps: readonly Step[], serial: boolean): Promise<Result[]> {
  if (!serial) return Promise.all(steps.map((step) => run(step, true)));
  const results: Result[] = [];
  for (const step of steps) results.push(await run(step, false));
  return results;
}

async function main(args: readonly string[]): Promise<number> {
  const { tiers, serial } = parseArgs(args);
  const { checks, tiers: tierSteps } = phases(tiers);
  const started = performance.now();
  const results = await runPhase(checks, serial);
  if (results.every((r) => r.ok)) results.push(...(await runPhase(tierSteps, serial)));
  console.log(`\ntest: summary (${formatSeconds(performance.now() - started)} in all${serial ? ', serial' : ''})`);
  for (const r of results)
    console.log(`test:   ${r.name.padEnd(12)} ${r.ok ? 'passed' : 'FAILED'} ${formatSeconds(r.ms).padStart(8)}`);
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  if (results.length === checks.length && tierSteps.length > 0) console.error('test: a check failed; no tier ran');
  if (failed.length > 0) console.error(`test: FAILED: ${failed.join(', ')}`);
  return failed.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(`test: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
