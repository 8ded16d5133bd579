/**
 * The status page figures of issue 14 against the running exporter: the size of the first page
 * of `/`, and how long headless Chromium takes to load it (navigation start to the load event,
 * median of 3), when Debian's chromium is installed.
 */
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { median } from './stats.js';

export interface StatusPageFigures {
  bytes: number;
  /** NaN when chromium is not installed. */
  chromiumLoadMs: number;
}

function findChromium(): string | undefined {
  try {
    const path = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
    return path === '' ? undefined : path;
  } catch {
    return undefined;
  }
}

export async function measureStatusPage(url: string): Promise<StatusPageFigures> {
  const bytes = Buffer.byteLength(await (await fetch(`${url}/`)).text());
  const executablePath = findChromium();
  if (executablePath === undefined) return { bytes, chromiumLoadMs: Number.NaN };
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, javaScriptEnabled: true });
      await page.goto(`${url}/`, { waitUntil: 'load' });
      // A string: this runs in the page, whose DOM types the Node.js-only tsconfig does not know.
      const loadMs = await page.evaluate(
        '(() => { const e = performance.getEntriesByType("navigation")[0]; return e === undefined ? NaN : e.loadEventEnd - e.startTime; })()',
      );
      times.push(Number(loadMs));
      await page.close();
    }
    return { bytes, chromiumLoadMs: median(times) };
  } finally {
    await browser.close();
  }
}
