/**
 * Issue 12, "plain-text key transport": an http:// API URL off this machine is warned about at
 * start-up, and when a reload changes the URL to one (once per change, not at every reload).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigSources } from '../../src/config/types.js';
import { startExporter } from '../../src/runtime/exporter.js';
import { captureLogs } from '../support/log-capture.js';

const KEY = 'zx_plain_text_3e7a1c5b9d';
const WARNING = /^the API URL is http:\/\/, so every poll sends its key unencrypted to /;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startedLogs(apiUrl: string): Promise<Record<string, unknown>[]> {
  const env = { ZEXA_API_URL: apiUrl, ZEXA_API_KEY: KEY };
  const config = loadConfig({ argv: ['--web.listen-address=127.0.0.1:0'], env, readFile: () => '', readDir: () => [] });
  const logs = captureLogs();
  const exporter = await startExporter(config, { env, logDestination: logs, processMetrics: false });
  cleanups.push(() => exporter.close());
  return logs.records();
}

describe('plain-text key transport', () => {
  it('warns at start-up for http:// to another host, naming the host and never the key', async () => {
    const records = await startedLogs('http://zexa-api.invalid:8080');
    const warning = records.find((r) => typeof r.msg === 'string' && WARNING.test(r.msg));
    expect(warning?.level).toBe('warn');
    expect(warning?.msg).toContain('zexa-api.invalid:8080');
    expect(JSON.stringify(records)).not.toContain(KEY);
  });

  it('stays quiet for loopback and for https', async () => {
    for (const url of ['http://127.0.0.1:9', 'https://zexa-api.invalid']) {
      const records = await startedLogs(url);
      expect(records.filter((r) => typeof r.msg === 'string' && WARNING.test(r.msg))).toEqual([]);
    }
  });

  it('warns when a reload changes the URL to http:// off this machine, once per change', async () => {
    const env: Record<string, string> = { ZEXA_API_URL: 'https://zexa-api.invalid', ZEXA_API_KEY: KEY };
    const sources: ConfigSources = {
      argv: ['--web.listen-address=127.0.0.1:0'],
      env,
      readFile: () => '',
      readDir: () => [],
    };
    const logs = captureLogs();
    const exporter = await startExporter(loadConfig(sources), {
      env,
      logDestination: logs,
      processMetrics: false,
      loadConfig: () => loadConfig(sources),
    });
    cleanups.push(() => exporter.close());
    const warnings = (): unknown[] =>
      logs
        .records()
        .filter((r) => typeof r.msg === 'string' && WARNING.test(r.msg))
        .map((r) => r.api_url);

    expect(warnings()).toEqual([]);
    env.ZEXA_API_URL = 'http://zexa-api.invalid:8080';
    expect((await exporter.reload()).ok).toBe(true);
    expect(warnings()).toEqual(['http://zexa-api.invalid:8080']);
    // The same URL again: already warned about.
    expect((await exporter.reload()).ok).toBe(true);
    expect(warnings()).toEqual(['http://zexa-api.invalid:8080']);
    // Another plain-text host is a new change; loopback and https are not warned about.
    env.ZEXA_API_URL = 'http://127.0.0.1:9';
    expect((await exporter.reload()).ok).toBe(true);
    env.ZEXA_API_URL = 'http://other-api.invalid';
    expect((await exporter.reload()).ok).toBe(true);
    env.ZEXA_API_URL = 'https://zexa-api.invalid';
    expect((await exporter.reload()).ok).toBe(true);
    expect(warnings()).toEqual(['http://zexa-api.invalid:8080', 'http://other-api.invalid']);
    expect(JSON.stringify(logs.records())).not.toContain(KEY);
  });
});
