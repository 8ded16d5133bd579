/**
 * Issue 12 D2: a header value Node refuses (a typographic quote, \x01) in the web config's
 * http_server_config.headers. Before, the exporter started and then answered every request,
 * /healthz included, with 500. Now start-up ends with exit 2 naming the header, and a reload
 * to such a file is refused: the old headers stay, requests are served, and the reload gauge
 * says 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startExporter } from '../../src/runtime/exporter.js';
import { parseSample } from '../support/exporter-harness.js';
import { captureLogs } from '../support/log-capture.js';
import { runExporter } from '../support/process.js';
import { startScriptedApi } from '../support/scripted-api.js';

const KEY = 'zx_web_headers_8d3f0b6c2e';
const GOOD_CSP = "default-src 'self'";
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function webConfigFile(csp: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'zexa-web-headers-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'web.yml');
  writeFileSync(file, `http_server_config:\n  headers:\n    Content-Security-Policy: ${JSON.stringify(csp)}\n`);
  return file;
}

describe('configured headers Node would refuse (issue 12 D2)', () => {
  it.each([
    ['a typographic quote', 'default-src ’self’', 'U+2019'],
    ['\\x01', 'default-src \x01self', 'U+0001'],
  ])('%s at start-up: exit 2 naming the header, never the value', async (_what, csp, codePoint) => {
    const file = webConfigFile(csp);
    const proc = runExporter(['--web.listen-address=127.0.0.1:0', `--web.config.file=${file}`], {
      ZEXA_API_KEY: KEY,
      ZEXA_API_URL: 'http://127.0.0.1:9',
    });
    cleanups.push(async () => {
      proc.kill('SIGKILL');
      await proc.exited;
    });
    // The old code listened; then /healthz answered 500. Either outcome ends the race.
    const outcome = await Promise.race([
      proc.exited.then(({ code }) => ({ exited: code })),
      proc.port().then(
        async (port) => ({ listening: (await fetch(`http://127.0.0.1:${port}/healthz`)).status }),
        () => new Promise<never>(() => undefined),
      ),
    ]);
    expect(outcome).toEqual({ exited: 2 });
    expect(proc.stderr()).toContain(`http_server_config.headers.Content-Security-Policy: the value holds ${codePoint}`);
    expect(proc.stderr()).toContain(file);
    expect(proc.stderr()).not.toContain('self');
  });

  it('a reload to such a value is refused: old headers kept, every endpoint serves, reload gauge 0', async () => {
    const api = await startScriptedApi(['100']);
    cleanups.push(() => api.close());
    const file = webConfigFile(GOOD_CSP);
    const env = { ZEXA_API_URL: api.url, ZEXA_API_KEY: KEY };
    const config = loadConfig({
      argv: ['--web.listen-address=127.0.0.1:0', `--web.config.file=${file}`],
      env,
      readFile: () => '',
      readDir: () => [],
    });
    const logs = captureLogs();
    const exporter = await startExporter(config, { env, logDestination: logs, processMetrics: false });
    cleanups.push(() => exporter.close());
    const healthz = await fetch(`${exporter.url}/healthz`);
    expect(healthz.headers.get('content-security-policy')).toBe(GOOD_CSP);

    writeFileSync(
      file,
      `http_server_config:\n  headers:\n    Content-Security-Policy: "default-src ’self’ 'unsafe-inline'"\n`,
    );
    // The web config is looked at again at most once a second, on a request.
    await vi.waitFor(
      async () => {
        const metrics = await fetch(`${exporter.url}/metrics`);
        expect(metrics.status).toBe(200);
        expect(parseSample(await metrics.text(), 'zexa_exporter_config_last_reload_successful')).toBe(0);
      },
      { timeout: 10_000, interval: 100 },
    );

    for (const path of ['/healthz', '/readyz', '/metrics', '/']) {
      const response = await fetch(`${exporter.url}${path}`);
      expect([200, 503], path).toContain(response.status);
      // The status page sets a stricter policy of its own.
      if (path !== '/') expect(response.headers.get('content-security-policy'), path).toBe(GOOD_CSP);
    }
    const failure = logs.records().find((r) => r.msg === 'web config reload failed; keeping the previous one');
    expect(failure?.problems).toEqual([
      `web config file ${file}: http_server_config.headers.Content-Security-Policy: the value holds U+2019 (a typographic quote where ' was meant) at character 13, which an HTTP header cannot carry (only tab, visible ASCII and Latin-1 can be sent)`,
    ]);

    // Fixed again: the reload goes through and the gauge is back at 1.
    writeFileSync(file, `http_server_config:\n  headers:\n    Content-Security-Policy: "default-src 'none'"\n`);
    await vi.waitFor(
      async () => {
        const metrics = await fetch(`${exporter.url}/metrics`);
        expect(metrics.headers.get('content-security-policy')).toBe("default-src 'none'");
        expect(parseSample(await metrics.text(), 'zexa_exporter_config_last_reload_successful')).toBe(1);
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});
