/**
 * Builds dist/ once before the tiers whose tests start the real `zexa-exporter` process
 * (integration, ops, browser; see vitest.config.ts), so they run the code under test whether
 * vitest was started by `npm test` or on its own. `npm test` builds once itself and sets
 * ZEXA_TEST_BUILT=1, so the tiers it runs one after the other do not build again.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env.ZEXA_TEST_BUILT === '1') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
