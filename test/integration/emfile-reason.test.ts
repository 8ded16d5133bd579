/**
 * Issue 12: a key file that cannot be opened because the process is out of file descriptors
 * (EMFILE, ENFILE) used to count as `key_unavailable`, pointing the user at the key. Now it is
 * `too_many_open_files`, in the metric and in the log; the last balance is kept. A socket to the
 * API that cannot be opened for the same reason is a `network` failure whose log line says too
 * many open files, and a reload that meets it names it instead of "could not be loaded".
 * The exporter's own readFile and dispatcher dependencies are what fail here: exhausting the
 * descriptors of the test process for real would break the test runner with it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, loadConfigAsync, nodeAsyncConfigSources } from '../../src/config/load.js';
import { readFileBoundedAsync } from '../../src/lib/bounded-read.js';
import { startExporter } from '../../src/runtime/exporter.js';
import { parseSample } from '../support/exporter-harness.js';
import { captureLogs } from '../support/log-capture.js';
import { startScriptedApi } from '../support/scripted-api.js';
import { ms, TEST_LIMITS } from '../support/test-limits.js';

const KEY = 'zx_emfile_reason_7c3e9a1f5b';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('out of file descriptors (issue 12)', () => {
  it.each(['EMFILE', 'ENFILE'])('%s reading a key file is too_many_open_files, not key_unavailable', async (code) => {
    const api = await startScriptedApi(['4250']);
    cleanups.push(() => api.close());
    const dir = mkdtempSync(join(tmpdir(), 'zexa-emfile-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'victim');
    writeFileSync(keyFile, `${KEY}\n`);
    // The request timeout the default 60 s interval would give, with a 200 ms interval.
    const env = {
      ZEXA_API_URL: api.url,
      ZEXA_API_KEY_VICTIM_FILE: keyFile,
      ZEXA_POLL_INTERVAL: ms(200),
      ZEXA_REQUEST_TIMEOUT: '10s',
    };
    const config = loadConfig(
      {
        argv: ['--web.listen-address=127.0.0.1:0'],
        env,
        readFile: (p) => readFileSync(p, 'utf8'),
        readDir: (p) => readdirSync(p),
      },
      { limits: TEST_LIMITS },
    );
    let exhausted = false;
    const readFile = (path: string): Promise<string> =>
      exhausted
        ? Promise.reject(Object.assign(new Error(`${code}: too many open files, open '${path}'`), { code }))
        : readFileBoundedAsync(path);
    const logs = captureLogs();
    const exporter = await startExporter(config, { env, readFile, logDestination: logs, processMetrics: false });
    cleanups.push(() => exporter.close());
    const metrics = async (): Promise<string> => (await fetch(`${exporter.url}/metrics`)).text();

    await vi.waitFor(async () => expect(parseSample(await metrics(), 'zexa_up{account="victim"}')).toBe(1), {
      timeout: 10_000,
      interval: 50,
    });
    exhausted = true;
    await vi.waitFor(
      async () =>
        expect(
          parseSample(await metrics(), 'zexa_poll_errors_total{account="victim",reason="too_many_open_files"}'),
        ).toBeGreaterThanOrEqual(1),
      { timeout: 10_000, interval: 50 },
    );
    const text = await metrics();
    expect(text).not.toContain('reason="key_unavailable"');
    expect(parseSample(text, 'zexa_credits_remaining{account="victim",currency="USD"}')).toBe(4250);
    const failure = logs.records().find((r) => r.msg === 'poll failed');
    expect(failure?.reason).toBe('too_many_open_files');
    const holder = code === 'EMFILE' ? 'process' : 'system';
    expect(failure?.error).toBe(
      `key file ${keyFile} of account "victim" (from ZEXA_API_KEY_VICTIM_FILE) cannot be opened: the ${holder} has too many open files (${code})`,
    );
  });

  it.each(['EMFILE', 'ENFILE'])(
    '%s opening a socket to the API is a network failure that says too many open files',
    async (code) => {
      const api = await startScriptedApi(['4250']);
      cleanups.push(() => api.close());
      // The request timeout the default 60 s interval would give, with a 200 ms interval.
      const env = {
        ZEXA_API_URL: api.url,
        ZEXA_API_KEY_VICTIM: KEY,
        ZEXA_POLL_INTERVAL: ms(200),
        ZEXA_REQUEST_TIMEOUT: '10s',
      };
      const config = loadConfig(
        { argv: ['--web.listen-address=127.0.0.1:0'], env, readFile: () => '', readDir: () => [] },
        { limits: TEST_LIMITS },
      );
      // The error net.connect gives under `ulimit -n` (seen by hand: `connect EMFILE 127.0.0.1:41735 - Local (undefined:undefined)`, code EMFILE, syscall connect).
      const dispatcher = new Agent({
        connect: (options, callback) =>
          callback(
            Object.assign(
              new Error(`connect ${code} ${options.hostname}:${options.port} - Local (undefined:undefined)`),
              { code, syscall: 'connect' },
            ),
            null,
          ),
      });
      cleanups.push(() => dispatcher.close());
      const logs = captureLogs();
      const exporter = await startExporter(config, {
        env,
        dispatcher,
        logDestination: logs,
        processMetrics: false,
        retryPolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      });
      cleanups.push(() => exporter.close());
      const metrics = async (): Promise<string> => (await fetch(`${exporter.url}/metrics`)).text();

      await vi.waitFor(
        async () =>
          expect(
            parseSample(await metrics(), 'zexa_poll_errors_total{account="victim",reason="network"}'),
          ).toBeGreaterThanOrEqual(1),
        { timeout: 10_000, interval: 50 },
      );
      expect(await metrics()).not.toContain('reason="key_unavailable"');
      const failure = logs.records().find((r) => r.msg === 'poll failed');
      expect(failure?.reason).toBe('network');
      const holder = code === 'EMFILE' ? 'process' : 'system';
      expect(failure?.error).toBe(
        `Zexa API at ${new URL(api.url).host} could not be reached: the ${holder} has too many open files (${code}); lower --web.max-connections or raise ulimit -n`,
      );
      expect(api.requests).toBe(0);
    },
  );

  it('a reload that meets EMFILE on a key file is refused with a problem that says too many open files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-emfile-reload-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'victim'), `${KEY}\n`);
    const configFile = join(dir, 'config.yml');
    // Polls go nowhere (port 9, refused) and once an hour: only the reload reads the key file.
    writeFileSync(
      configFile,
      `api: { url: "http://127.0.0.1:9" }\npoll: { interval: 1h }\naccounts:\n  - fromDirectory: keys\n`,
    );
    const argv = ['--web.listen-address=127.0.0.1:0', `--config.file=${configFile}`];
    const config = loadConfig({
      argv,
      env: {},
      readFile: (p) => readFileSync(p, 'utf8'),
      readDir: (p) => readdirSync(p),
    });
    // What the exporter reloads with (src/main.ts), its key-file reads failing like a process out of descriptors.
    const sources = nodeAsyncConfigSources(argv, {});
    const exhausted = (path: string): Promise<string> =>
      path.endsWith('/victim')
        ? Promise.reject(Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), { code: 'EMFILE' }))
        : sources.readFile(path);
    const logs = captureLogs();
    const exporter = await startExporter(config, {
      env: {},
      logDestination: logs,
      processMetrics: false,
      loadConfig: () => loadConfigAsync({ ...sources, readFile: exhausted }),
    });
    cleanups.push(() => exporter.close());

    const problem = `key file ${dir}/keys/victim of account "victim" (from accounts[0].fromDirectory in ${configFile}) cannot be opened: the process has too many open files (EMFILE)`;
    expect(await exporter.reload()).toEqual({ ok: false, problems: [problem] });
    expect(
      logs
        .records()
        .filter((r) => r.msg === 'configuration reload failed; keeping the running configuration')
        .map((r) => r.problem),
    ).toEqual([problem]);
  });
});
