/**
 * `zexa-exporter check` against the simulator, in-process through runCheck (the same code the
 * binary dispatches to; test/integration/check-process.test.ts runs the binary itself): every
 * exit code, the table, the JSON field by field, and `--config.check` with no request made.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check/run.js';
import type { RetryPolicy } from '../../src/poll/retry.js';
import { CHECK_COLUMNS, type CheckRow } from '../../src/check/report.js';
import { keyFingerprint } from '../../src/config/keys.js';
import { ownsAccount } from '../../src/poll/shard.js';
import { startSimulator, type SimAccountSpec, type ZexaSimulator } from '../../src/simulator/index.js';
import { expectNoKey } from '../support/leak.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { runExporter } from '../support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'zexa-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `retry`: the check's retry back-off; short by default, `{}` for the product's (which honours Retry-After). */
async function check(
  argv: string[],
  env: Record<string, string>,
  retry: { retryPolicy?: RetryPolicy } = { retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } },
): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCheck(argv, {
    sources: { env, readFile: (p) => readFileSync(p, 'utf8'), readDir: (p) => readdirSync(p) },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    ...retry,
  });
  return { code, stdout, stderr };
}

/** The simulator with `accounts`, and an environment naming each account's key. */
async function withSimulator(
  accounts: SimAccountSpec[],
  run: (sim: ZexaSimulator, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({ accounts });
  const env: Record<string, string> = { ZEXA_API_URL: sim.url, ZEXA_REQUEST_TIMEOUT: '2s' };
  for (const account of accounts) env[`ZEXA_API_KEY_${account.name.toUpperCase()}`] = account.key;
  try {
    await run(sim, env);
  } finally {
    await sim.close();
  }
}

/** The table's rows as cells, by account. */
function tableRows(stdout: string): Map<string, string[]> {
  const lines = stdout.split('\n').filter((l) => l.startsWith('|'));
  const header = lines[0]
    ?.split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  expect(header).toEqual([...CHECK_COLUMNS]);
  expect(lines[1]).toMatch(/^\|(-+\|)+$/);
  return tableRowsOf(stdout);
}

/** The rows of any table in the output by their first cell (the header and rule skipped). */
function tableRowsOf(stdout: string): Map<string, string[]> {
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2);
  return new Map(
    lines.map((l) => {
      const cells = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return [cells[0] as string, cells];
    }),
  );
}

/** Keys of upper-case letters derived from the name: no slice of one is a word the output holds. */
function keyOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex').slice(0, 20);
  return `zx_${[...hex].map((c) => String.fromCharCode(65 + parseInt(c, 16))).join('')}`;
}

const ok = (name: string, credits = 5000): SimAccountSpec => ({ name, key: keyOf(name), credits });

describe('zexa-exporter check', () => {
  it('exits 0 when every account is OK, with one table row each', async () => {
    await withSimulator([ok('production'), ok('staging', 3000)], async (sim, env) => {
      const { code, stdout, stderr } = await check([], env);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const rows = tableRows(stdout);
      expect(rows.get('production')).toEqual([
        'production',
        'OK',
        '5000',
        'USD',
        '1000/100',
        keyFingerprint(ok('production').key),
        '',
      ]);
      expect(rows.get('staging')?.slice(1, 3)).toEqual(['OK', '3000']);
      // The status line first, in the plugin form; the table after it is the long output.
      expect(stdout.split('\n')[0]).toBe(
        "ZEXA OK - 2 accounts: 2 ok | 'production'=5000;1000;100;0 'staging'=3000;1000;100;0",
      );
      expect(parsePluginOutput(stdout).longOutput[0]).toMatch(/^\| account /);
      // One poll each, no more.
      expect(sim.requestCount('production')).toBe(1);
      expect(sim.requestCount('staging')).toBe(1);
    });
  });

  it('retries as configured before judging an account', async () => {
    await withSimulator([ok('production')], async (sim, env) => {
      sim.setFault('production', { kind: 'server_error', status: 503, times: 2 });
      const { code } = await check([], { ...env, ZEXA_MAX_ATTEMPTS: '3' });
      expect(code).toBe(0);
      expect(sim.requestCount('production')).toBe(3);
    });
  });

  it('exits 1 for a LOW balance', async () => {
    await withSimulator([ok('production'), ok('staging', 640)], async (_sim, env) => {
      const { code, stdout } = await check([], env);
      expect(code).toBe(1);
      expect(tableRows(stdout).get('staging')?.[1]).toBe('LOW');
      expect(parsePluginOutput(stdout)).toMatchObject({ status: 'WARNING', text: '2 accounts: 1 low, 1 ok' });
    });
  });

  it('exits 1 when two accounts poll with one key, naming each other', async () => {
    await withSimulator([ok('production')], async (_sim, env) => {
      const { code, stdout } = await check([], { ...env, ZEXA_API_KEY_STAGING: ok('production').key });
      expect(code).toBe(1);
      const rows = tableRows(stdout);
      expect(rows.get('production')?.[1]).toBe('OK');
      expect(rows.get('production')?.[6]).toBe('key shared with staging');
      expect(rows.get('staging')?.[6]).toBe('key shared with production');
      expect(rows.get('staging')?.[5]).toBe(rows.get('production')?.[5]);
    });
  });

  for (const [state, spec] of [
    ['CRITICAL', { ...ok('marketing'), credits: 42 }],
    ['UNAUTHORIZED', { ...ok('legacy'), revoked: true }],
    ['FORBIDDEN', { ...ok('analytics'), forbidden: true }],
  ] as const) {
    it(`exits 2 for ${state}`, async () => {
      await withSimulator([ok('production'), { ...ok('staging'), credits: 640 }, spec], async (_sim, env) => {
        const { code, stdout } = await check([], env);
        expect(code).toBe(2);
        expect(tableRows(stdout).get(spec.name)?.[1]).toBe(state);
        const parsed = parsePluginOutput(stdout);
        expect(parsed).toMatchObject({
          service: 'ZEXA',
          status: 'CRITICAL',
          text: `3 accounts: 1 ${state.toLowerCase()}, 1 low, 1 ok`,
        });
        expect(parsed.perfdata.map((d) => d.label).sort()).toEqual(
          ['production', 'staging', ...(state === 'CRITICAL' ? [spec.name] : [])].sort(),
        );
      });
    });
  }

  it('exits 3 when the API cannot be reached, with the reason in the detail', async () => {
    await withSimulator([ok('production')], async (sim, env) => {
      await sim.close();
      const { code, stdout } = await check([], { ...env, ZEXA_MAX_ATTEMPTS: '1' });
      expect(code).toBe(3);
      const row = tableRows(stdout).get('production');
      expect(row?.[1]).toBe('ERROR');
      expect(row?.[2]).toBe('-');
      expect(row?.[6]).toMatch(/^network, /);
      expect(parsePluginOutput(stdout)).toMatchObject({ status: 'UNKNOWN', text: '1 account: 1 error', perfdata: [] });
    });
  });

  describe('the --timeout deadline', () => {
    /** The check must give up at its deadline (1 s here), long before the hostile API would let it finish. */
    async function timesOut(env: Record<string, string>, argv: string[] = []): Promise<Outcome> {
      const started = Date.now();
      const outcome = await check(['--timeout=1s', ...argv], env, {});
      // Bounded: the hostile answers below would hold the check for 25 s or for ever.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(outcome.code).toBe(3);
      expect(outcome.stderr).toBe('');
      const parsed = parsePluginOutput(outcome.stdout);
      expect(parsed.status).toBe('UNKNOWN');
      expect(parsed.text).toBe('timed out after 1s with 1 of 2 accounts unanswered; known: 1 ok');
      expect(parsed.perfdata).toEqual([
        { label: 'production', value: 5000, uom: '', warn: '1000', crit: '100', min: '0', max: '' },
      ]);
      // The rows known so far, and who did not answer.
      expect([...tableRows(outcome.stdout).keys()]).toEqual(['production']);
      expect(outcome.stdout.trimEnd().split('\n').at(-1)).toBe('no answer within 1s: stuck');
      return outcome;
    }

    it('gives up on an API that hangs', async () => {
      await withSimulator([ok('production'), { ...ok('stuck'), fault: { kind: 'hang' } }], async (_sim, env) => {
        await timesOut({ ...env, ZEXA_REQUEST_TIMEOUT: '20s' });
      });
    });

    it('gives up on a 503 with Retry-After: 25 instead of waiting it out', async () => {
      await withSimulator(
        [ok('production'), { ...ok('stuck'), fault: { kind: 'server_error', status: 503, retryAfterSeconds: 25 } }],
        async (sim, env) => {
          await timesOut({ ...env, ZEXA_MAX_ATTEMPTS: '3' });
          // The first attempt was answered; the retry would have waited 25 s.
          expect(sim.requestCount('stuck')).toBe(1);
        },
      );
    });

    it('gives up on a body that never ends, and reads the deadline from the environment too', async () => {
      await withSimulator([ok('production')], async (sim, env) => {
        // A front that passes production through and answers stuck with a 200 that trickles for ever.
        const trickles = new Set<NodeJS.Timeout>();
        const front = createServer((req, res) => {
          if (req.headers.authorization === `Bearer ${ok('stuck').key}`) {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"credits": 1');
            const timer = setInterval(() => res.write('0'), 100);
            trickles.add(timer);
            res.on('close', () => clearInterval(timer));
            return;
          }
          const upstream = request(
            new URL(req.url ?? '/', sim.url),
            { method: req.method, headers: req.headers },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          req.pipe(upstream);
        });
        await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
        try {
          const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
          const started = Date.now();
          const outcome = await check(
            [],
            {
              ...env,
              ZEXA_API_URL: url,
              ZEXA_REQUEST_TIMEOUT: '20s',
              ZEXA_API_KEY_STUCK: ok('stuck').key,
              ZEXA_CHECK_TIMEOUT: '1s',
            },
            {},
          );
          expect(Date.now() - started).toBeLessThan(15_000);
          expect(outcome.code).toBe(3);
          expect(outcome.stdout.split('\n')[0]).toBe(
            "ZEXA UNKNOWN - timed out after 1s with 1 of 2 accounts unanswered; known: 1 ok | 'production'=5000;1000;100;0",
          );
        } finally {
          for (const timer of trickles) clearInterval(timer);
          front.closeAllConnections();
          await new Promise((resolve) => front.close(resolve));
        }
      });
    });

    it('prints the rows known so far as JSON too', async () => {
      await withSimulator([ok('production'), { ...ok('stuck'), fault: { kind: 'hang' } }], async (_sim, env) => {
        const { code, stdout } = await check(
          ['--output=json', '--timeout=1s'],
          { ...env, ZEXA_REQUEST_TIMEOUT: '20s' },
          {},
        );
        expect(code).toBe(3);
        expect((JSON.parse(stdout) as CheckRow[]).map((r) => r.account)).toEqual(['production']);
      });
    });
  });

  it('ranks a known problem above an unknown one (monitoring-plugins max_state_alt)', async () => {
    await withSimulator([ok('production'), { ...ok('staging'), credits: 640 }], async (sim, env) => {
      sim.setFault('production', { kind: 'invalid_json' });
      const low = await check([], env);
      expect(low.code).toBe(1);
      sim.setCredits('staging', 5);
      const critical = await check([], env);
      expect(critical.code).toBe(2);
    });
  });

  it('exits 3 when the shard owns no account', async () => {
    await withSimulator([ok('production')], async (sim, env) => {
      const index = ownsAccount('production', { index: 0, count: 2 }) ? 1 : 0;
      const { code, stdout, stderr } = await check([], { ...env, ZEXA_SHARD: `${index}/2` });
      expect(code).toBe(3);
      expect(stdout).toBe('');
      expect(stderr).toBe(`zexa-exporter check: no accounts to check (shard ${index}/2 owns none of the 1)\n`);
      expect(sim.requestCount()).toBe(0);
    });
  });

  it('exits 3 on a configuration error, one line per problem, with no request', async () => {
    await withSimulator([ok('production')], async (sim, env) => {
      const { code, stdout, stderr } = await check(['--output=yaml'], { ...env, ZEXA_POLL_INTERVAL: 'soon' });
      expect(code).toBe(3);
      expect(stdout).toBe('');
      expect(stderr).toMatch(
        /^zexa-exporter check: invalid configuration:\n {2}- --output must be one of table, json\n {2}- ZEXA_POLL_INTERVAL: .*\n$/,
      );
      const env2 = await check([], { ...env, ZEXA_POLL_INTERVAL: 'soon', ZEXA_MAX_ATTEMPTS: '0' });
      expect(env2.code).toBe(3);
      expect(env2.stderr).toMatch(
        /^zexa-exporter check: invalid configuration:\n {2}- ZEXA_POLL_INTERVAL: .*\n {2}- ZEXA_MAX_ATTEMPTS: .*\n$/,
      );
      const none = await check([], { ZEXA_API_URL: sim.url });
      expect(none.code).toBe(3);
      expect(none.stderr).toContain('no account configured');
      expect(sim.requestCount()).toBe(0);
    });
  });

  it('prints --output=json as one object per account with the documented fields', async () => {
    await withSimulator(
      [
        ok('production'),
        { ...ok('legacy'), revoked: true },
        { ...ok('flaky'), fault: { kind: 'server_error', status: 502 } },
      ],
      async (sim, env) => {
        const keyFile = join(tmp, 'production.key');
        writeFileSync(keyFile, `${ok('production').key}\n`);
        // production's key from a file, and the same key pasted into a second account.
        const jsonEnv: Record<string, string> = {
          ...env,
          ZEXA_API_KEY_PRODUCTION_FILE: keyFile,
          ZEXA_API_KEY_COPY: ok('production').key,
          ZEXA_MAX_ATTEMPTS: '2',
        };
        delete jsonEnv.ZEXA_API_KEY_PRODUCTION;
        const { code, stdout } = await check(['--output', 'json'], jsonEnv);
        expect(code).toBe(2);
        const rows = JSON.parse(stdout) as CheckRow[];
        expect(rows.map((r) => r.account)).toEqual(['copy', 'flaky', 'legacy', 'production']);
        const byName = new Map(rows.map((r) => [r.account, r]));
        const fp = keyFingerprint(ok('production').key);
        expect(byName.get('production')).toEqual({
          account: 'production',
          state: 'OK',
          balance: 5000,
          currency: 'USD',
          warning: 1000,
          critical: 100,
          key_fingerprint: fp,
          key_source: 'file',
          key_shared_with: ['copy'],
          reason: null,
          http_status: null,
          request_id: null,
          error: null,
          exit_code: 1,
        });
        expect(byName.get('copy')).toMatchObject({
          state: 'OK',
          key_fingerprint: fp,
          key_source: 'env',
          key_shared_with: ['production'],
          exit_code: 1,
        });
        const legacyRequest = sim.requests('legacy').at(-1)?.requestId;
        expect(byName.get('legacy')).toEqual({
          account: 'legacy',
          state: 'UNAUTHORIZED',
          balance: null,
          currency: null,
          warning: 1000,
          critical: 100,
          key_fingerprint: keyFingerprint(ok('legacy').key),
          key_source: 'env',
          key_shared_with: [],
          reason: 'unauthorized',
          http_status: 401,
          request_id: legacyRequest,
          error: expect.any(String) as string,
          exit_code: 2,
        });
        expect(legacyRequest).toMatch(/^req_/);
        expect(byName.get('flaky')).toMatchObject({
          state: 'ERROR',
          balance: null,
          reason: 'server_error',
          http_status: 502,
          request_id: sim.requests('flaky').at(-1)?.requestId,
          exit_code: 3,
        });
        expect(sim.requestCount('flaky')).toBe(2);
        expectNoKey('check --output=json', stdout, [ok('production').key, ok('legacy').key, ok('flaky').key]);
      },
    );
  });

  describe('--config.check', () => {
    it('prints the accounts, their key sources and fingerprints, and makes no request', async () => {
      await withSimulator([ok('production'), ok('staging')], async (sim) => {
        const keyFile = join(tmp, 'prod-key');
        writeFileSync(keyFile, ok('production').key);
        const configFile = join(tmp, 'good.yml');
        writeFileSync(
          configFile,
          `accounts:\n  - name: production\n    apiKeyFile: ${keyFile}\n  - name: staging\n    apiKeyEnv: STAGING_KEY\n    thresholds: { warning: 2000 }\n`,
        );
        const configEnv = { ZEXA_API_URL: sim.url, STAGING_KEY: ok('staging').key };
        const { code, stdout, stderr } = await check(['--config.check', `--config.file=${configFile}`], configEnv);
        expect(stderr).toBe('');
        expect(code).toBe(0);
        expect(stdout).toContain(
          `configuration is valid: 2 accounts (config file ${configFile}), API ${sim.url}, poll interval 60s; no request was made`,
        );
        expect(stdout).toContain(
          `| production | file ${keyFile} (from accounts[0].apiKeyFile in ${configFile}) | ${keyFingerprint(ok('production').key)}`,
        );
        expect(stdout).toMatch(
          new RegExp(`\\| staging +\\| env STAGING_KEY +\\| ${keyFingerprint(ok('staging').key)} +\\| 2000/100 `),
        );

        const json = await check(['--config.check', '--output=json', `--config.file=${configFile}`], configEnv);
        expect(json.code).toBe(0);
        expect(JSON.parse(json.stdout)).toEqual([
          {
            account: 'production',
            key_source: 'file',
            key_location: keyFile,
            key_origin: expect.stringContaining('accounts[0].apiKeyFile') as string,
            key_fingerprint: keyFingerprint(ok('production').key),
            key_shared_with: [],
            warning: 1000,
            critical: 100,
          },
          {
            account: 'staging',
            key_source: 'env',
            key_location: 'STAGING_KEY',
            key_origin: null,
            key_fingerprint: keyFingerprint(ok('staging').key),
            key_shared_with: [],
            warning: 2000,
            critical: 100,
          },
        ]);
        expect(sim.requestCount()).toBe(0);
        expectNoKey('--config.check output', stdout + json.stdout, [ok('production').key, ok('staging').key]);
      });
    });

    it('lists only the accounts this shard polls, and says how many the other shards hold', async () => {
      const names = ['analytics', 'flaky', 'legacy', 'marketing', 'production', 'staging'];
      await withSimulator(
        names.map((n) => ok(n)),
        async (sim, env) => {
          const mine = names.filter((n) => ownsAccount(n, { index: 0, count: 2 }));
          expect(mine.length).toBeGreaterThan(0);
          expect(mine.length).toBeLessThan(names.length);
          const { code, stdout, stderr } = await check(['--config.check'], { ...env, ZEXA_SHARD: '0/2' });
          expect(stderr).toBe('');
          expect(code).toBe(0);
          expect(stdout).toContain(
            `configuration is valid: ${mine.length} accounts, API ${sim.url}, poll interval 60s, shard 0/2 (the other shards hold ${names.length - mine.length} of the 6 accounts); no request was made`,
          );
          expect([...tableRowsOf(stdout).keys()]).toEqual(mine);
          const json = await check(['--config.check', '--output=json'], { ...env, ZEXA_SHARD: '0/2' });
          expect((JSON.parse(json.stdout) as { account: string }[]).map((r) => r.account)).toEqual(mine);
          // The same accounts the check itself polls.
          const polled = await check(['--output=json'], { ...env, ZEXA_SHARD: '0/2' });
          expect((JSON.parse(polled.stdout) as CheckRow[]).map((r) => r.account)).toEqual(mine);
          expect(sim.requestCount()).toBe(mine.length);
        },
      );
    });

    it('exits 2 on a bad file with one line per problem, and makes no request', async () => {
      await withSimulator([ok('production')], async (sim) => {
        const configFile = join(tmp, 'bad.yml');
        writeFileSync(
          configFile,
          'poll: { interval: 1s }\naccounts:\n  - name: Production\n    apiKeyFile: /nonexistent/key\n',
        );
        const { code, stdout, stderr } = await check(['--config.check', `--config.file=${configFile}`], {
          ZEXA_API_URL: sim.url,
        });
        expect(code).toBe(2);
        expect(stdout).toBe('');
        const problems = stderr.split('\n').filter((l) => l.startsWith('  - '));
        expect(stderr.startsWith('zexa-exporter check: invalid configuration:\n')).toBe(true);
        expect(problems.length).toBeGreaterThanOrEqual(2);
        expect(stderr).toContain('poll.interval');
        expect(stderr).toContain('Production');
        expect(sim.requestCount()).toBe(0);
      });
    });
  });

  it('prints its help with every exit code', async () => {
    const { code, stdout } = await check(['--help'], {});
    expect(code).toBe(0);
    for (const line of [
      '--output=table|json',
      '--config.check',
      '  0  OK',
      '  1  WARNING',
      '  2  CRITICAL',
      '  3  UNKNOWN',
    ])
      expect(stdout).toContain(line);
  });

  it('runs against the built-in simulator with no key: npm run demo -- check', async () => {
    const demo = runExporter(['check'], {}, fileURLToPath(new URL('../../dist/demo.js', import.meta.url)));
    const { code } = await demo.exited;
    expect(demo.stderr()).toBe('');
    expect(code).toBe(2);
    const rows = tableRows(demo.stdout());
    expect([...rows.keys()].sort()).toEqual(['analytics', 'flaky', 'legacy', 'marketing', 'production', 'staging']);
    expect(rows.get('legacy')?.[1]).toBe('UNAUTHORIZED');
    expect(rows.get('staging')?.[1]).toBe('LOW');
  });
});
