/** Debian's Chromium for the browser tests, driven by playwright-core; one profile per test file. */
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with its profile under `workDir`, at 1280 × 720. */
export function launchChromium(
  executablePath: string | undefined,
  workDir: string,
  options: { javaScriptEnabled?: boolean } = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(workDir, 'profile'), {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 720 },
    offline: false,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
}
