/**
 * A reload parses and checks the configuration file off the event loop. On the main thread, the
 * YAML parse of a 1 MiB file of 18,382 accounts held the event loop for 1.3 s (2.2 s on a busy
 * 2-core machine), and /healthz went unanswered meanwhile.
 *
 * The real program (dist/main.js) is reloaded with POST /-/reload while this test asks /healthz
 * over and over, one request after the other; it counts the answers that arrive after the reload
 * was asked for and before it answered. Counts, no clock: the file ends in a duplicate key, so
 * after reading the file the old loader's whole reload was the one synchronous parse, which let
 * through only the answers of the few event-loop turns the file read took (0 to 3 seen); on a
 * worker thread the parse leaves the loop free for as long as it takes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, nodeConfigSources } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { runExporter } from '../support/process.js';
import { startScriptedApi } from '../support/scripted-api.js';

const ACCOUNTS = 18_382;
/** /healthz answers during the reload: more than the old loader's file read ever let through. */
const MIN_ANSWERS_DURING_RELOAD = 20;
/** No more than this many /healthz requests in all, whatever happens. */
const MAX_PROBES = 5000;
/** Not a real key. */
const KEY = 'zxtest_ParseStall00001';

const root = mkdtempSync(join(tmpdir(), 'zexa-reload-parse-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** About 1 MiB: 18,382 accounts, and a second `poll` at the end that makes the file invalid only once parsed whole. */
function largeConfig(apiUrl: string): string {
  const lines = [`api: { url: "${apiUrl}" }`, 'poll: { interval: 1h }', 'accounts:'];
  for (let i = 0; i < ACCOUNTS; i++) {
    lines.push(`  - name: stall_${String(i).padStart(8, '0')}`, '    apiKeyEnv: ZEXA_STALL_KEY');
  }
  lines.push('poll: { interval: 2h }', '');
  return lines.join('\n');
}

/** The status and body of one request on a fresh connection. */
function ask(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('reload of a large configuration file', () => {
  it('parses it off the event loop: /healthz answers while it is parsed, and the refusal is the loader’s own', async () => {
    const api = await startScriptedApi(['4250']);
    const file = join(root, 'config.yml');
    writeFileSync(
      file,
      `api: { url: "${api.url}" }\npoll: { interval: 1h }\naccounts:\n  - name: solo\n    apiKeyEnv: ZEXA_STALL_KEY\n`,
    );
    const argv = ['--web.listen-address=127.0.0.1:0', `--config.file=${file}`];
    const env = { ZEXA_STALL_KEY: KEY };
    const proc = runExporter(argv, env);
    try {
      const port = await proc.port();
      const large = largeConfig(api.url);
      expect(Buffer.byteLength(large)).toBeGreaterThan(1_000_000);
      expect(Buffer.byteLength(large)).toBeLessThanOrEqual(1024 * 1024);
      writeFileSync(file, large);
      // What the same loader says on the main thread: the reload must say exactly this.
      let expected: readonly string[] = [];
      try {
        loadConfig(nodeConfigSources(argv, env));
      } catch (error) {
        if (error instanceof ConfigError) expected = error.problems;
      }
      expect(expected).toEqual([`${file}:${ACCOUNTS * 2 + 4}:1: invalid YAML: duplicate key`]);

      let reloaded: { status: number; body: string } | undefined;
      const reload = ask(port, 'POST', '/-/reload').then((answer) => (reloaded = answer));
      let during = 0;
      let probes = 0;
      while (reloaded === undefined && probes < MAX_PROBES) {
        const answer = await ask(port, 'GET', '/healthz');
        probes += 1;
        if (reloaded === undefined && answer.status === 200) during += 1;
      }
      await reload;
      console.log(`/healthz answered ${during} times while the reload ran (${probes} asked)`);
      expect(reloaded).toEqual({
        status: 400,
        body: `configuration not reloaded; the running configuration is kept:\n${expected.map((p) => `- ${p}\n`).join('')}`,
      });
      expect(during).toBeGreaterThanOrEqual(MIN_ANSWERS_DURING_RELOAD);
      // The running configuration stays: still the one account.
      const metrics = await ask(port, 'GET', '/metrics');
      expect(metrics.body).toContain('account="solo"');
      expect(metrics.body).not.toContain('account="stall_00000000"');
      expect(proc.stdout() + proc.stderr()).not.toContain(KEY);
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
      await api.close();
    }
  }, 120_000);
});
