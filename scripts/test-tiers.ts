/**
 * `npm test`: the full gate. Type-checks, lints, builds dist/ once, then runs the test tiers
 * (vitest projects, see vitest.config.ts) one after the other, each in its own vitest run, and
 * prints how long each step took, so the CI log shows where the time goes.
 *
 * A failed type check, lint or build stops the gate (the tests would only repeat it). A failed
 * tier does not: the other tiers still run, and the summary names every tier that failed.
 *
 * `npx tsx scripts/test-tiers.ts unit ops` runs only those tiers (after the same checks).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TIERS = ['unit', 'integration', 'ops', 'browser'] as const;
type Tier = (typeof TIERS)[number];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Step {
  name: string;
  command: string;
  args: string[];
  /** A failed gate step stops the run; a failed tier does not. */
  gate: boolean;
}

function steps(tiers: readonly Tier[]): Step[] {
  const npm = (script: string): Pick<Step, 'command' | 'args'> => ({
    command: 'npm',
    args: ['run', script, '--silent'],
  });
  return [
    { name: 'typecheck', ...npm('typecheck'), gate: true },
    { name: 'lint', ...npm('lint'), gate: true },
    { name: 'build', ...npm('build'), gate: true },
    ...tiers.map((tier) => ({ name: tier, command: 'npm', args: ['run', `test:${tier}`, '--silent'], gate: false })),
  ];
}

/** Reads the tier names on the command line; none means every tier. */
function parseTiers(args: readonly string[]): Tier[] {
  if (args.length === 0) return [...TIERS];
  const unknown = args.filter((arg) => !(TIERS as readonly string[]).includes(arg));
  if (unknown.length > 0) throw new Error(`unknown tier ${unknown.join(', ')}; the tiers are ${TIERS.join(', ')}`);
  return args as Tier[];
}

function run(step: Step): Promise<number> {
  return new Promise((resolve) => {
    // The tiers that start dist/ would build it again in their global setup; it is built above.
    const child = spawn(step.command, step.args, {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, ZEXA_TEST_BUILT: '1' },
    });
    child.on('error', (error) => {
      console.error(`test: ${step.name} did not start: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(args: readonly string[]): Promise<number> {
  const results: { name: string; ok: boolean; ms: number }[] = [];
  const started = performance.now();
  for (const step of steps(parseTiers(args))) {
    console.log(`\n======== test: ${step.name} ========`);
    const begun = performance.now();
    const code = await run(step);
    const ms = performance.now() - begun;
    results.push({ name: step.name, ok: code === 0, ms });
    console.log(
      `======== test: ${step.name} ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${formatSeconds(ms)} ========`,
    );
    if (code !== 0 && step.gate) break;
  }
  console.log(`\ntest: summary (${formatSeconds(performance.now() - started)} in all)`);
  for (const r of results)
    console.log(`test:   ${r.name.padEnd(12)} ${r.ok ? 'passed' : 'FAILED'} ${formatSeconds(r.ms).padStart(8)}`);
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
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
