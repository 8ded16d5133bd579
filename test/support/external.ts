/**
 * Finding the outside programs some tests run for real (promtool, prometheus, alertmanager,
 * chromium, openssl, kubectl). Where one is missing the test is skipped with a loud notice naming
 * the Debian package, except under CI=true, where a missing program is a failure: .ci/run
 * installs them first, so missing there means the install step is broken.
 */
import { execFileSync } from 'node:child_process';

export interface ExternalProgram {
  /** Absolute path, or undefined when missing (outside CI only). */
  path: string | undefined;
  /** Pass to `describe.skipIf(...)` / `it.skipIf(...)`. */
  missing: boolean;
}

function which(command: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

/**
 * Looks a program up by any of `commands`. Under CI=true a missing program throws (the test file
 * fails); elsewhere it prints a notice to stderr and reports `missing: true`.
 */
export function requireProgram(commands: readonly string[], debianPackage: string): ExternalProgram {
  for (const command of commands) {
    const path = which(command);
    if (path !== undefined) return { path, missing: false };
  }
  const message =
    `${commands.join(' / ')} not found: install Debian's \`${debianPackage}\` package ` +
    `(apt-get update && apt-get install -y ${debianPackage})`;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and ${message}`);
  }
  console.error(`\n*** SKIPPING TESTS: ${message} ***\n`);
  return { path: undefined, missing: true };
}
