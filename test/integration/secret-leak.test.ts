/**
 * With known key strings, run every path a key passes near — success, 401, 403, 5xx, 429,
 * timeout, invalid body, network failure, bad configuration, key on the command line — and
 * assert that neither a key nor any 8-character slice of it appears in the logs (at debug
 * level), /metrics, the status page, or the process's output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { startHarness } from '../support/exporter-harness.js';
import { runExporter } from '../support/process.js';
import { expectNoKey as expectNoKeyIn } from '../support/leak.js';

// Upper-case letters: nothing else the exporter prints looks like these by chance.
const KEYS = {
  ok: 'zx_QHWKZMRTPLVXNBJD',
  revoked: 'zx_FGYTRWQZPMKHXCVN',
  forbidden: 'zx_LKJHGFDSAQWERTYU',
  broken: 'zx_MNBVCXZPOIUYTREW',
  limited: 'zx_ZXCVBNMASDFGHJKL',
  hanging: 'zx_QAZWSXEDCRFVTGBY',
};

function expectNoKey(where: string, text: string, keys: readonly string[] = Object.values(KEYS)): void {
  expectNoKeyIn(where, text, keys);
}

const tmp = mkdtempSync(join(tmpdir(), 'zexa-leak-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('no key ever leaks', () => {
  it('through logs, /metrics, the status page or the JSON API, on every poll outcome', async () => {
    const h = await startHarness({
      accounts: [
        { name: 'ok', key: KEYS.ok, credits: 5000 },
        { name: 'revoked', key: KEYS.revoked, credits: 10, revoked: true },
        { name: 'forbidden', key: KEYS.forbidden, credits: 10, forbidden: true },
        { name: 'broken', key: KEYS.broken, credits: 10, fault: { kind: 'server_error', status: 502 } },
        {
          name: 'limited',
          key: KEYS.limited,
          credits: 10,
          fault: { kind: 'rate_limited', retryAfter: { seconds: 0 } },
        },
        { name: 'hanging', key: KEYS.hanging, credits: 10, fault: { kind: 'hang' } },
      ],
      timeoutMs: 1000,
      intervalMs: 1500,
      logLevel: 'trace',
    });
    try {
      await h.until(async () => (await fetch(`${h.exporter.url}/readyz`)).status === 200, 20_000);
      h.sim.setFault('broken', { kind: 'invalid_json' });
      await h.until(
        async () => ((await h.sample('zexa_poll_errors_total{account="broken",reason="invalid_response"}')) ?? 0) >= 1,
        20_000,
      );
      // Then the API disappears altogether: network errors.
      await h.sim.close();
      await h.until(
        async () => ((await h.sample('zexa_poll_errors_total{account="ok",reason="network"}')) ?? 0) >= 1,
        20_000,
      );

      const metrics = await h.metricsText();
      const page = await (await fetch(`${h.exporter.url}/`)).text();
      const api = [await (await fetch(`${h.exporter.url}/api/v1/accounts`)).text()];
      for (const name of ['ok', 'revoked', 'forbidden', 'broken', 'limited', 'hanging']) {
        api.push(await (await fetch(`${h.exporter.url}/api/v1/accounts/${name}`)).text());
      }
      // The paths really ran:
      for (const reason of [
        'unauthorized',
        'forbidden',
        'server_error',
        'rate_limited',
        'timeout',
        'invalid_response',
        'network',
      ]) {
        expect(metrics).toContain(`reason="${reason}"`);
      }
      expect(h.logs.records().some((r) => r.level === 'debug')).toBe(true);
      expectNoKey('the logs', h.logs.text());
      expectNoKey('/metrics', metrics);
      expectNoKey('the status page', page);
      for (const [i, text] of api.entries()) expectNoKey(`JSON API response ${i}`, text);
      expect(api[0]).toContain('"name":"ok"');
    } finally {
      await h.close();
    }
  });

  it('through configuration errors and the command line', async () => {
    const emptyFile = join(tmp, 'empty');
    writeFileSync(emptyFile, '');
    const runs = [
      runExporter([], { ZEXA_API_KEY: KEYS.ok, ZEXA_POLL_INTERVAL: 'bogus' }),
      runExporter([], { ZEXA_API_KEY: `${KEYS.ok} ${KEYS.revoked}` }),
      runExporter([], { ZEXA_API_KEY_OTHER: `${KEYS.forbidden}\n` }),
      runExporter([`--api-key=${KEYS.broken}`], { ZEXA_API_KEY: KEYS.ok }),
      runExporter([KEYS.limited], { ZEXA_API_KEY: KEYS.ok }),
      runExporter([`--zexa.key`, KEYS.hanging], {}),
      runExporter([], {
        ZEXA_API_KEY_FILE: emptyFile,
        ZEXA_API_KEY_X: KEYS.ok,
        ZEXA_API_URL: `https://user:${KEYS.revoked}@api.zexa.ao`,
      }),
    ];
    for (const run of runs) {
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.stderr().length).toBeGreaterThan(0);
      expectNoKey('configuration error output', run.stdout() + run.stderr());
    }
    // Seven processes start at once: on a busy 2-core machine each may need seconds to load.
  }, 120_000);

  it('through a failure to listen at start-up', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = runExporter([`--web.listen-address=127.0.0.1:${port}`], {
        ZEXA_API_KEY: KEYS.ok,
        ZEXA_API_URL: 'http://127.0.0.1:9',
      });
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.stderr()).toContain('EADDRINUSE');
      expectNoKey('start-up failure output', run.stdout() + run.stderr());
    } finally {
      blocker.close();
    }
  });

  it('through zexa-exporter check, in the table and in JSON, on every outcome and exit code', async () => {
    const sim = await startSimulator({
      accounts: [
        { name: 'ok', key: KEYS.ok, credits: 5000 },
        { name: 'revoked', key: KEYS.revoked, credits: 10, revoked: true },
        { name: 'forbidden', key: KEYS.forbidden, credits: 10, forbidden: true },
        { name: 'broken', key: KEYS.broken, credits: 10, fault: { kind: 'server_error', status: 502 } },
        { name: 'limited', key: KEYS.limited, credits: 500 },
      ],
    });
    const keyFile = join(tmp, 'check-key');
    writeFileSync(keyFile, `${KEYS.ok}\n`);
    const env = {
      ZEXA_API_URL: sim.url,
      ZEXA_MAX_ATTEMPTS: '1',
      ZEXA_API_KEY_OK_FILE: keyFile,
      ZEXA_API_KEY_REVOKED: KEYS.revoked,
      ZEXA_API_KEY_FORBIDDEN: KEYS.forbidden,
      ZEXA_API_KEY_BROKEN: KEYS.broken,
      ZEXA_API_KEY_LIMITED: KEYS.limited,
      // The same key in a second account: shared.
      ZEXA_API_KEY_LIMITED_COPY: KEYS.limited,
    };
    /** Runs the binary once per case, all at once, and returns each output after checking its exit code. */
    const runAll = async (cases: [string[], Record<string, string>, number][]): Promise<string[]> =>
      Promise.all(
        cases.map(async ([args, caseEnv, expected]) => {
          const run = runExporter(args, caseEnv);
          const { code } = await run.exited;
          const output = run.stdout() + run.stderr();
          expect(code, `${args.join(' ')}: ${output}`).toBe(expected);
          return output;
        }),
      );
    const formats = [[], ['--output=json']];
    let outputs: string[];
    try {
      outputs = await runAll(
        formats.flatMap((format): [string[], Record<string, string>, number][] => [
          [['check', ...format], env, 2],
          [
            ['check', ...format],
            { ZEXA_API_URL: sim.url, ZEXA_API_KEY_LIMITED: KEYS.limited, ZEXA_API_KEY_LIMITED_COPY: KEYS.limited },
            1,
          ],
          [['check', ...format], { ZEXA_API_URL: sim.url, ZEXA_API_KEY_OK_FILE: keyFile }, 0],
          [['check', '--config.check', ...format], env, 0],
        ]),
      );
      expect(outputs[0]).toContain('request_id req_');
      expect(JSON.parse(outputs[4] ?? '')).toHaveLength(6);
    } finally {
      await sim.close();
    }
    outputs.push(
      ...(await runAll(
        formats.flatMap((format): [string[], Record<string, string>, number][] => [
          // Without the shared key, whose WARNING would outrank UNKNOWN.
          [
            ['check', ...format],
            { ZEXA_API_URL: env.ZEXA_API_URL, ZEXA_API_KEY_OK_FILE: keyFile, ZEXA_API_KEY_REVOKED: KEYS.revoked },
            3,
          ],
          [
            ['check', ...format],
            { ...env, ZEXA_POLL_INTERVAL: KEYS.ok, ZEXA_API_KEY_X: `${KEYS.revoked} ${KEYS.ok}` },
            3,
          ],
          [['check', '--config.check', ...format], { ...env, ZEXA_SHARD: KEYS.broken }, 2],
        ]),
      )),
    );
    for (const [i, output] of outputs.entries()) {
      expect(output.length).toBeGreaterThan(0);
      expectNoKey(`check output ${i}`, output);
    }
  }, 120_000);
});
