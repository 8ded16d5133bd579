#!/usr/bin/env node
/**
 * `node dist/simulator/cli.js --port 18080 --accounts 50` (or `--demo`): the simulator as a
 * process, for manual runs and docker-compose. Prints the URL and the accounts with masked keys,
 * and stops cleanly on SIGINT or SIGTERM.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliUsageError, maskKey, parseSimulatorArgs, USAGE, type SimulatorCliOptions } from './cli-args.js';
import { CREDITS_PATH } from './answer.js';
import { demoAccounts, generateAccounts } from './fixtures.js';
import { startSimulator } from './server.js';
import type { SimAccountSpec } from './types.js';

// Beyond this the listing would bury the URL; the key files hold them all.
const MAX_LISTED = 50;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describe(spec: SimAccountSpec): string {
  const notes = [
    spec.revoked === true ? 'revoked (401)' : '',
    spec.forbidden === true ? 'forbidden (403)' : '',
    spec.drainPerSecond ? `drains ${spec.drainPerSecond}/s` : '',
    spec.drainPerRequest ? `drains ${spec.drainPerRequest}/request` : '',
    spec.fault ? `fault: ${spec.fault.kind}` : '',
  ].filter((note) => note !== '');
  const balance = `${spec.credits} ${spec.currency ?? 'USD'}`;
  return `  ${spec.name.padEnd(12)} ${maskKey(spec.key).padEnd(20)} ${balance.padStart(12)}  ${notes.join(', ')}`.trimEnd();
}

async function writeKeyFiles(dir: string, accounts: readonly SimAccountSpec[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const spec of accounts) {
    const file = join(dir, spec.name);
    await writeFile(file, `${spec.key}\n`, { mode: 0o600 });
    // writeFile's mode only applies to new files; an old file keeps its (maybe wider) mode.
    await chmod(file, 0o600);
  }
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function serve(options: SimulatorCliOptions): Promise<number> {
  const accounts =
    options.accounts === 'demo' ? demoAccounts() : generateAccounts(options.accounts, { seed: options.seed });
  // Listen for signals before listening on the port, so a quick SIGTERM is never fatal.
  const signal = waitForSignal();
  if (options.keyDir !== undefined) await writeKeyFiles(options.keyDir, accounts);
  const sim = await startSimulator({ host: options.host, port: options.port, latencyMs: options.latencyMs, accounts });
  out(`Zexa API simulator listening on ${sim.url}`);
  out(`Try: curl -H 'Authorization: Bearer <key>' ${sim.url}${CREDITS_PATH}`);
  out(`${accounts.length} account(s), keys masked:`);
  for (const spec of accounts.slice(0, MAX_LISTED)) out(describe(spec));
  if (accounts.length > MAX_LISTED) out(`  … and ${accounts.length - MAX_LISTED} more`);
  if (options.keyDir !== undefined) out(`Key files (one per account, named after it) in ${options.keyDir}`);
  else if (options.accounts === 'demo') out('The demo keys are in src/simulator/fixtures.ts (or use --key-dir).');
  else out('Use --key-dir DIR to get the keys.');
  const received = await signal;
  await sim.close();
  out(`Zexa API simulator stopped (${received})`);
  return 0;
}

async function run(argv: readonly string[]): Promise<number> {
  let options: SimulatorCliOptions;
  try {
    options = parseSimulatorArgs(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    console.error(`zexa simulator: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await serve(options);
  } catch (err) {
    console.error(`zexa simulator: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
