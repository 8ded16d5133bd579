/**
 * `zexa-exporter check` against the simulator, in-process through runCheck (the same code the
 * binary dispatches to; test/integration/check-process.test.ts runs the binary itself): every
 * exit code, the table, the JSON field by field, and `--config.check` with no request made.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check/run.js';
import { CHECK_COLUMNS, type CheckRow } from '../../src/check/report.js';
import { keyFingerprint } from '../../src/config/keys.js';
import { ownsAccount } from '../../src/poll/shard.js';
import { startSimulator, type SimAccountSpec, type ZexaSimulator } from '../../src/simulator/index.js';
import { expectNoKey } from '../support/leak.js';
import { runExporter } from '../support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'zexa-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function check(argv: string[], env: Record<string, string>): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCheck(argv, {
    sources: { env, readFile: (p) => readFileSync(p, 'utf8'), readDir: (p) => readdirSync(p) },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  });
  return { code, stdout, stderr };
}

/** The simulator with `accounts`, and an environment naming each account's key. */
async function withSimulator(accounts: SimAccountSpec[], run: (sim: ZexaSimulator, env: Record<string, string>) => Promise<void>): Promise<void> {
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
  const header = lines[0]?.split('|').slice(1, -1).map((c) => c.trim());
  expect(header).toEqual([...CHECK_COLUMNS]);
  expect(lines[1]).toMatch(/^\|(-+\|)+$/);
  return new Map(lines.slice(2).map((l) => {
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    return [cells[0] as string, cells];
  }));
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
      expect(rows.get('production')).toEqual(['production', 'OK', '5000', 'USD', '1000/100', keyFingerprint(ok('production').key), '']);
      expect(rows.get('staging')?.slice(1, 3)).toEqual(['OK', '3000']);
      expect(stdout.trimEnd().split('\n').at(-1)).toBe('OK: 2 accounts, 2 OK (exit 0)');
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
      expect(stdout).toContain('WARNING: 2 accounts, 1 LOW, 1 OK (exit 1)');
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
      expect(stdout).toContain('(exit 3)');
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
      expect(stderr).toMatch(/^zexa-exporter check: invalid configuration:\n {2}- --output must be one of table, json\n {2}- ZEXA_POLL_INTERVAL: .*\n$/);
      const env2 = await check([], { ...env, ZEXA_POLL_INTERVAL: 'soon', ZEXA_MAX_ATTEMPTS: '0' });
      expect(env2.code).toBe(3);
      expect(env2.stderr).toMatch(/^zexa-exporter check: invalid configuration:\n {2}- ZEXA_POLL_INTERVAL: .*\n {2}- ZEXA_MAX_ATTEMPTS: .*\n$/);
      const none = await check([], { ZEXA_API_URL: sim.url });
      expect(none.code).toBe(3);
      expect(none.stderr).toContain('no account configured');
      expect(sim.requestCount()).toBe(0);
    });
  });

  it('prints --output=json as one object per account with the documented fields', async () => {
    await withSimulator(
      [ok('production'), { ...ok('legacy'), revoked: true }, { ...ok('flaky'), fault: { kind: 'server_error', status: 502 } }],
      async (sim, env) => {
        const keyFile = join(tmp, 'production.key');
        writeFileSync(keyFile, `${ok('production').key}\n`);
        // production's key from a file, and the same key pasted into a second account.
        const jsonEnv: Record<string, string> = { ...env, ZEXA_API_KEY_PRODUCTION_FILE: keyFile, ZEXA_API_KEY_COPY: ok('production').key, ZEXA_MAX_ATTEMPTS: '2' };
        delete jsonEnv.ZEXA_API_KEY_PRODUCTION;
        const { code, stdout } = await check(['--output', 'json'], jsonEnv);
        expect(code).toBe(2);
        const rows = JSON.parse(stdout) as CheckRow[];
        expect(rows.map((r) => r.account)).toEqual(['copy', 'flaky', 'legacy', 'production']);
        const byName = new Map(rows.map((r) => [r.account, r]));
        const fp = keyFingerprint(ok('production').key);
        expect(byName.get('production')).toEqual({
          account: 'production', state: 'OK', balance: 5000, currency: 'USD', warning: 1000, critical: 100,
          key_fingerprint: fp, key_source: 'file', key_shared_with: ['copy'],
          reason: null, http_status: null, request_id: null, error: null, exit_code: 1,
        });
        expect(byName.get('copy')).toMatchObject({ state: 'OK', key_fingerprint: fp, key_source: 'env', key_shared_with: ['production'], exit_code: 1 });
        const legacyRequest = sim.requests('legacy').at(-1)?.requestId;
        expect(byName.get('legacy')).toEqual({
          account: 'legacy', state: 'UNAUTHORIZED', balance: null, currency: null, warning: 1000, critical: 100,
          key_fingerprint: keyFingerprint(ok('legacy').key), key_source: 'env', key_shared_with: [],
          reason: 'unauthorized', http_status: 401, request_id: legacyRequest, error: expect.any(String) as string, exit_code: 2,
        });
        expect(legacyRequest).toMatch(/^req_/);
        expect(byName.get('flaky')).toMatchObject({
          state: 'ERROR', balance: null, reason: 'server_error', http_status: 502, request_id: sim.requests('flaky').at(-1)?.requestId, exit_code: 3,
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
        writeFileSync(configFile, `accounts:\n  - name: production\n    apiKeyFile: ${keyFile}\n  - name: staging\n    apiKeyEnv: STAGING_KEY\n    thresholds: { warning: 2000 }\n`);
        const configEnv = { ZEXA_API_URL: sim.url, STAGING_KEY: ok('staging').key };
        const { code, stdout, stderr } = await check(['--config.check', `--config.file=${configFile}`], configEnv);
        expect(stderr).toBe('');
        expect(code).toBe(0);
        expect(stdout).toContain(`configuration is valid: 2 accounts (config file ${configFile}), API ${sim.url}, poll interval 60s; no request was made`);
        expect(stdout).toContain(`| production | file ${keyFile} (from accounts[0].apiKeyFile in ${configFile}) | ${keyFingerprint(ok('production').key)}`);
        expect(stdout).toMatch(new RegExp(`\\| staging +\\| env STAGING_KEY +\\| ${keyFingerprint(ok('staging').key)} +\\| 2000/100 `));

        const json = await check(['--config.check', '--output=json', `--config.file=${configFile}`], configEnv);
        expect(json.code).toBe(0);
        expect(JSON.parse(json.stdout)).toEqual([
          { account: 'production', key_source: 'file', key_location: keyFile, key_origin: expect.stringContaining('accounts[0].apiKeyFile') as string, key_fingerprint: keyFingerprint(ok('production').key), key_shared_with: [], warning: 1000, critical: 100 },
          { account: 'staging', key_source: 'env', key_location: 'STAGING_KEY', key_origin: null, key_fingerprint: keyFingerprint(ok('staging').key), key_shared_with: [], warning: 2000, critical: 100 },
        ]);
        expect(sim.requestCount()).toBe(0);
        expectNoKey('--config.check output', stdout + json.stdout, [ok('production').key, ok('staging').key]);
      });
    });

    it('exits 2 on a bad file with one line per problem, and makes no request', async () => {
      await withSimulator([ok('production')], async (sim) => {
        const configFile = join(tmp, 'bad.yml');
        writeFileSync(configFile, 'poll: { interval: 1s }\naccounts:\n  - name: Production\n    apiKeyFile: /nonexistent/key\n');
        const { code, stdout, stderr } = await check(['--config.check', `--config.file=${configFile}`], { ZEXA_API_URL: sim.url });
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
    for (const line of ['--output=table|json', '--config.check', '  0  OK', '  1  WARNING', '  2  CRITICAL', '  3  UNKNOWN']) expect(stdout).toContain(line);
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
