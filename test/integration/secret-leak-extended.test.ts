/**
 * The leak test of secret-leak.test.ts, extended to the paths it does not reach: the real process
 * logging at trace level through failing polls, a key rotated in its file, reloads (POST and
 * SIGHUP) of broken configuration files that hold keys, keys put into the wrong settings, an
 * uncaught exception and an unhandled rejection while running, and a crash at start-up. Neither a
 * key nor any 8-character slice of one may appear anywhere.
 *
 * Keys are never accepted as command-line arguments: secret-leak.test.ts ("through configuration
 * errors and the command line") and the config unit tests cover that.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { until } from '../support/exporter-harness.js';
import { runExporter, type ExporterProcess } from '../support/process.js';
import { expectNoKey as expectNoKeyIn } from '../support/leak.js';

// Upper-case runs, as in secret-leak.test.ts: nothing else the exporter prints looks like these.
const KEYS = {
  ok: 'zx_PWQMZKRTNVXLBJHD',
  revoked: 'zx_GHYTRWQZPMKLXCVB',
  limited: 'zx_KJHGFDSQWERTYUAZ',
  broken: 'zx_NBVCXZPOIUYTREWQ',
  hanging: 'zx_AZWSXEDCRFVTGBYH',
  filed: 'zx_QWPLMZKXNCJVBHGF',
  rotated: 'zx_UYTREWQLKJHGFDSA',
};
const ALL_KEYS = Object.values(KEYS);

function expectNoKey(where: string, text: string): void {
  expectNoKeyIn(where, text, ALL_KEYS);
}

const dir = mkdtempSync(join(tmpdir(), 'zexa-leak2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exits and collects both streams; kills the process if it has not ended within 10 s. */
async function finished(proc: ExporterProcess): Promise<{ code: number | null; output: string }> {
  // Only a guard against a hang: seven processes started at once on a busy 2-core machine may
  // each need several seconds just to load.
  const timer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.stdout() + proc.stderr() };
}

describe('no key leaks from the running process', () => {
  it('through trace logs, rotation, /metrics, the status page, the JSON API and reloads of broken files that hold keys', async () => {
    const sim = await startSimulator({
      accounts: [
        { name: 'ok', key: KEYS.ok, credits: 5000 },
        { name: 'revoked', key: KEYS.revoked, credits: 10, revoked: true },
        {
          name: 'limited',
          key: KEYS.limited,
          credits: 10,
          fault: { kind: 'rate_limited', retryAfter: { seconds: 0 } },
        },
        { name: 'broken', key: KEYS.broken, credits: 10, fault: { kind: 'server_error', status: 502 } },
        { name: 'hanging', key: KEYS.hanging, credits: 10, fault: { kind: 'hang' } },
        { name: 'filed', key: KEYS.filed, credits: 10 },
        { name: 'rotated', key: KEYS.rotated, credits: 20 },
      ],
    });
    const keyFile = join(dir, 'filed.key');
    writeFileSync(keyFile, `${KEYS.filed}\n`);
    const configFile = join(dir, 'config.yml');
    const goodConfig = [
      'accounts:',
      ...['ok', 'revoked', 'limited', 'broken', 'hanging'].flatMap((name) => [
        `  - name: ${name}`,
        `    apiKeyEnv: KEY_${name.toUpperCase()}`,
      ]),
      '  - name: filed',
      `    apiKeyFile: ${keyFile}`,
      '',
    ].join('\n');
    writeFileSync(configFile, goodConfig);
    const env: Record<string, string> = {
      ZEXA_API_URL: sim.url,
      ZEXA_POLL_INTERVAL: '5s',
      ZEXA_REQUEST_TIMEOUT: '1s',
      ZEXA_EXPORTER_LOG_LEVEL: 'trace',
    };
    for (const name of ['ok', 'revoked', 'limited', 'broken', 'hanging'] as const)
      env[`KEY_${name.toUpperCase()}`] = KEYS[name];
    const proc = runExporter(['--web.listen-address=127.0.0.1:0', `--config.file=${configFile}`], env);
    const seen: string[] = [];
    try {
      const port = await proc.port();
      const url = `http://127.0.0.1:${port}`;
      const metrics = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
      await until(
        async () => {
          const text = await metrics();
          return (
            ['unauthorized', 'rate_limited', 'server_error', 'timeout'].every((reason) =>
              text.includes(`reason="${reason}"`),
            ) && text.includes('zexa_up{account="filed"} 1')
          );
        },
        20_000,
        'every failure path to run',
      );
      sim.setFault('broken', { kind: 'invalid_json' });

      // The key in the file is replaced: the log names fingerprints only.
      writeFileSync(`${keyFile}.new`, `${KEYS.rotated}\n`);
      renameSync(`${keyFile}.new`, keyFile);

      // Broken files that hold keys in every place a confused operator might put one.
      const broken = [
        `accounts:\n  - name: ok\n    apiKey: ${KEYS.ok}\n`,
        `accounts:\n  - name: ok\n    apiKeyEnv: KEY_OK\n    bogus: ${KEYS.revoked}\n`,
        `accounts:\n  - name: ok\n    apiKeyEnv: "${KEYS.broken}\n`,
        `# the old key was ${KEYS.hanging}\naccounts:\n  - name: Bad Name\n    apiKeyEnv: KEY_OK\n  - name: [unclosed\n`,
        `accounts: [${KEYS.ok}, ${KEYS.revoked}]\n`,
        `${KEYS.ok}\n`,
      ];
      for (const text of broken) {
        writeFileSync(configFile, text);
        const response = await fetch(`${url}/-/reload`, { method: 'POST' });
        expect(response.status).toBe(400);
        seen.push(await response.text());
      }
      // The same through SIGHUP, which only logs.
      writeFileSync(configFile, broken[1] ?? '');
      proc.kill('SIGHUP');
      await until(
        () => proc.stdout().split('configuration reload failed').length > broken.length + 1,
        10_000,
        'the SIGHUP reload to fail',
      );

      await until(async () => (await metrics()).includes('reason="invalid_response"'), 15_000, 'the invalid body');
      await until(() => proc.stdout().includes('key changed: using the new key'), 15_000, 'the rotation');
      writeFileSync(configFile, goodConfig);
      seen.push(await metrics(), await (await fetch(`${url}/`)).text());
      // The JSON API: the list, every account with its history, and a key asked for as a name.
      seen.push(await (await fetch(`${url}/api/v1/accounts`)).text());
      for (const name of ['ok', 'revoked', 'limited', 'broken', 'hanging', 'filed', KEYS.ok]) {
        seen.push(await (await fetch(`${url}/api/v1/accounts/${encodeURIComponent(name)}`)).text());
      }
      expect(proc.stdout()).toContain('"level":"debug"');
    } finally {
      proc.kill('SIGTERM');
      const { code } = await proc.exited;
      await sim.close();
      expect(code).toBe(0);
    }
    for (const [i, text] of seen.entries()) expectNoKey(`response ${i}`, text);
    expectNoKey('stdout', proc.stdout());
    expectNoKey('stderr', proc.stderr());
  });
});

describe('no key leaks from configuration errors', () => {
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('when a key is pasted into a setting whose bad value the message would quote', async () => {
    const base = { KEY_OK: KEYS.ok };
    const runs = [
      runExporter([], { ZEXA_API_KEY: KEYS.ok, ZEXA_POLL_INTERVAL: KEYS.revoked }),
      runExporter([], { ZEXA_API_KEY: KEYS.ok, ZEXA_REQUEST_TIMEOUT: KEYS.limited, ZEXA_MAX_ATTEMPTS: KEYS.broken }),
      runExporter([], { ZEXA_API_KEY: KEYS.ok, ZEXA_API_URL: KEYS.hanging, ZEXA_SHARD: KEYS.filed }),
      runExporter([`--log.level=${KEYS.rotated}`], {
        ZEXA_API_KEY: KEYS.ok,
        ZEXA_CREDITS_WARNING_THRESHOLD: KEYS.revoked,
      }),
      runExporter([], {
        ZEXA_API_KEY: KEYS.ok,
        ZEXA_EXPORTER_LISTEN_ADDRESS: KEYS.limited,
        ZEXA_EXPORTER_LOG_LEVEL: KEYS.broken,
      }),
      runExporter(
        [
          `--config.file=${file('fields.yml', `poll:\n  interval: ${KEYS.revoked}\nthresholds:\n  warning: ${KEYS.limited}\n${KEYS.broken}: 1\naccounts:\n  - name: ${KEYS.hanging}\n    apiKeyEnv: KEY_OK\n`)}`,
        ],
        base,
      ),
      runExporter(
        [
          `--config.file=${file('sources.yml', `accounts:\n  - name: a\n    apiKeyEnv: ${KEYS.filed}\n  - name: b\n    apiKeyFile: ${KEYS.rotated}\n`)}`,
        ],
        base,
      ),
    ];
    for (const [i, run] of runs.entries()) {
      const { code, output } = await finished(run);
      expect(code, `run ${i}: ${output}`).toBe(2);
      expect(output).toContain('hidden: it looks like a key');
      expectNoKey(`configuration error output of run ${i}`, output);
    }
  }, 120_000);

  it('through the configuration errors of files that hold keys', async () => {
    const base = { KEY_OK: KEYS.ok };
    const runs = [
      runExporter(
        [
          `--config.file=${file('url.yml', `api:\n  url: https://user:${KEYS.revoked}@api.zexa.ao\naccounts:\n  - name: ok\n    apiKeyEnv: KEY_OK\n`)}`,
        ],
        base,
      ),
      runExporter(
        [`--config.file=${file('literal.yml', `accounts:\n  - name: ok\n    apiKey: ${KEYS.limited}\n`)}`],
        base,
      ),
      runExporter([`--config.file=${file('list.yml', `accounts: [${KEYS.broken}, ${KEYS.hanging}]\n`)}`], base),
      runExporter([`--config.file=${file('scalar.yml', `${KEYS.filed}\n`)}`], base),
      runExporter(
        [`--config.file=${file('unterminated.yml', `accounts:\n  - name: ok\n    apiKeyEnv: "${KEYS.rotated}\n`)}`],
        base,
      ),
      runExporter(
        [
          `--config.file=${file('unknown.yml', `accounts:\n  - name: ok\n    apiKeyEnv: KEY_OK\n    token: ${KEYS.revoked}\n`)}`,
        ],
        base,
      ),
    ];
    for (const [i, run] of runs.entries()) {
      const { code, output } = await finished(run);
      expect(code, `run ${i}: ${output}`).toBe(2);
      expect(run.stderr().length).toBeGreaterThan(0);
      expectNoKey(`configuration error output of run ${i}`, output);
    }
  }, 120_000);
});

describe('no key leaks when the process crashes', { timeout: 90_000 }, () => {
  const sim = startSimulator({ accounts: [{ name: 'ok', key: KEYS.ok, credits: 5000 }] });
  afterAll(async () => (await sim).close());

  /** A test-only preload: it holds a key in a variable (and in what it throws) and then crashes. */
  function preload(name: string, body: string): string {
    const file = join(dir, `${name}.mjs`);
    // afterStart runs its callback once the exporter listens (its crash handlers are installed
    // long before), however slowly a busy machine loads it: a fixed delay raced the start-up.
    const afterStart =
      "import * as preloadHttp from 'node:http';\n" +
      'const afterStart = (fn) => { const listen = preloadHttp.Server.prototype.listen; ' +
      "preloadHttp.Server.prototype.listen = function (...args) { this.once('listening', () => setTimeout(fn, 100)); return listen.apply(this, args); }; };\n";
    writeFileSync(
      file,
      `${afterStart}const key = process.env.ZEXA_API_KEY;\nconst config = { apiKey: key, accounts: [{ name: 'ok', key }] };\n${body}\n`,
    );
    return file;
  }

  async function crash(script: string): Promise<{ code: number | null; output: string }> {
    const proc = runExporter(['--web.listen-address=127.0.0.1:0'], {
      ZEXA_API_KEY: KEYS.ok,
      ZEXA_API_URL: (await sim).url,
      ZEXA_EXPORTER_LOG_LEVEL: 'trace',
      NODE_OPTIONS: `--import=${script}`,
    });
    return finished(proc);
  }

  it('through an uncaught exception while running', async () => {
    const { code, output } = await crash(
      preload(
        'throw',
        `afterStart(() => { const e = new Error('test-only crash'); e.config = config; e.cause = config; throw e; });`,
      ),
    );
    expect(code).toBe(1);
    expect(output).toContain('zexa-exporter: crashed: Error: test-only crash');
    expect(output).toContain('zexa-exporter started');
    expectNoKey('uncaught exception output', output);
  });

  it('through an uncaught non-Error value holding the configuration', async () => {
    const { code, output } = await crash(preload('throw-object', 'afterStart(() => { throw config; });'));
    expect(code).toBe(1);
    expect(output).toContain('zexa-exporter: crashed: unknown error');
    expectNoKey('uncaught value output', output);
  });

  it('through an unhandled rejection while running', async () => {
    const { code, output } = await crash(
      preload(
        'reject',
        `afterStart(() => { Promise.reject(Object.assign(new Error('test-only rejection'), { config })); });`,
      ),
    );
    expect(code).toBe(1);
    expect(output).toContain('zexa-exporter: unhandled rejection: Error: test-only rejection');
    expectNoKey('unhandled rejection output', output);
  });

  it('through a crash at start-up', async () => {
    // The HTTP server cannot be created: an unexpected failure inside startExporter.
    const { code, output } = await crash(
      preload(
        'startup',
        `import http from 'node:http';\nhttp.createServer = () => { throw Object.assign(new Error('test-only start-up failure'), { cause: config, config }); };`,
      ),
    );
    expect(code).toBe(1);
    expect(output).toContain('zexa-exporter: crashed: Error: test-only start-up failure');
    expect(output).not.toContain('zexa-exporter started');
    expectNoKey('start-up crash output', output);
  });
});
