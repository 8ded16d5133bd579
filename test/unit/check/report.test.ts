import { describe, expect, it } from 'vitest';
import { AccountStore, consumptionNow, stateWithForecast } from '../../../src/state/account-store.js';
import { parseCheckArgs } from '../../../src/check/args.js';
import {
  CHECK_EXIT,
  checkRow,
  outcomeExitCode,
  perfdata,
  renderCheckTable,
  renderTable,
  statusLine,
  worstExitCode,
  type CheckExitCode,
  type CheckRow,
} from '../../../src/check/report.js';
import { parsePerfdata, parsePluginOutput } from '../../support/plugin-output.js';

describe('parseCheckArgs', () => {
  it.each([
    [[], { output: 'table', configOnly: false, warnDraining: false, help: false, configArgv: [], problems: [] }],
    [['--warn-draining', '--web.listen-address=:1'], { warnDraining: true, configArgv: ['--web.listen-address=:1'] }],
    [['--output=json', '--log.level=debug'], { output: 'json', configArgv: ['--log.level=debug'], problems: [] }],
    [['--output', 'json', '--config.check'], { output: 'json', configOnly: true, configArgv: [], problems: [] }],
    [['--output=xml'], { output: 'table', problems: ['--output must be one of table, json'] }],
    [['--output'], { problems: ['--output must be one of table, json'] }],
    [['--output=json', '--output=table'], { output: 'json', problems: ['--output is given more than once'] }],
    [['-h'], { help: true }],
    // Everything after -- is the configuration's (which refuses positionals).
    [['--', '--output=json'], { output: 'table', configArgv: ['--', '--output=json'] }],
  ] as const)('%j', (argv, expected) => {
    expect(parseCheckArgs(argv)).toMatchObject(expected);
  });
});

describe('worstExitCode', () => {
  it.each([
    [[], 0],
    [[0, 0], 0],
    [[0, 3], 3],
    [[3, 1], 1],
    [[1, 2, 3], 2],
    [[2, 3], 2],
  ] as [CheckExitCode[], number][])('%j -> %i', (codes, expected) => {
    expect(worstExitCode(codes)).toBe(expected);
  });
});

describe('checkRow and the table', () => {
  const thresholds = { warning: 1000, critical: 100 };
  const store = new AccountStore();
  store.configure(['low', 'down', 'shared'].map((name) => ({ name, thresholds })));
  store.recordSuccess('low', { credits: 500, currency: 'EUR', atMs: 1 });
  store.recordSuccess('shared', { credits: 5000, currency: 'USD', atMs: 1 });
  store.recordFailure('down', {
    reason: 'timeout',
    message: 'no answer within 2s | retry',
    status: undefined,
    requestId: undefined,
    attempts: 3,
    atMs: 1,
  });

  it('gives each state its exit code, a shared key WARNING', () => {
    expect(checkRow(store.get('low')!, 'env', []).exit_code).toBe(CHECK_EXIT.WARNING);
    expect(checkRow(store.get('down')!, 'file', [])).toMatchObject({
      state: 'ERROR',
      reason: 'timeout',
      http_status: null,
      exit_code: CHECK_EXIT.UNKNOWN,
    });
    expect(checkRow(store.get('shared')!, 'env', ['low']).exit_code).toBe(CHECK_EXIT.WARNING);
    expect(checkRow(store.get('shared')!, 'env', []).exit_code).toBe(CHECK_EXIT.OK);
  });

  it('keeps a pipe in a message from breaking the table', () => {
    const text = renderCheckTable({ rows: [checkRow(store.get('down')!, 'file', [])] });
    expect(text).toContain('| timeout, no answer within 2s \\| retry |');
    expect(text.split('\n')[0]).toBe('ZEXA UNKNOWN - 1 account: 1 error');
  });

  it('pads every column to its widest cell', () => {
    expect(renderTable(['a', 'bb'], [['long', 'x']])).toBe('| a    | bb  |\n|------|-----|\n| long | x   |\n');
  });
});

describe('the plugin status line', () => {
  const thresholds = { warning: 1000, critical: 100 };
  const row = (
    account: string,
    state: CheckRow['state'],
    balance: number | null,
    exit: CheckExitCode,
    shared: string[] = [],
  ): CheckRow => ({
    account,
    state,
    balance,
    currency: balance === null ? null : 'USD',
    ...thresholds,
    key_fingerprint: 'abcdef012345',
    key_source: 'env',
    key_shared_with: shared,
    reason: balance === null ? 'server_error' : null,
    http_status: null,
    request_id: null,
    error: null,
    exit_code: exit,
  });
  const ok = row('production', 'OK', 4999, 0);
  const low = row('staging', 'LOW', 640, 1);
  const critical = row('marketing', 'CRITICAL', 42, 2);
  const error = row('flaky', 'ERROR', null, 3);

  it.each([
    [[ok], 0, 'OK', '1 account: 1 ok'],
    [[ok, low], 1, 'WARNING', '2 accounts: 1 low, 1 ok'],
    [[ok, low, critical, error], 2, 'CRITICAL', '4 accounts: 1 critical, 1 error, 1 low, 1 ok'],
    [[ok, error], 3, 'UNKNOWN', '2 accounts: 1 error, 1 ok'],
    [
      [row('a', 'OK', 5000, 1, ['b']), row('b', 'OK', 5000, 1, ['a'])],
      1,
      'WARNING',
      '2 accounts: 2 ok; 2 share a key with another',
    ],
  ] as const)(
    'exit %#: the first line parses by the guidelines and matches the exit code',
    (rows, code, status, text) => {
      const outcome = { rows };
      expect(outcomeExitCode(outcome)).toBe(code);
      const parsed = parsePluginOutput(renderCheckTable(outcome));
      expect(parsed).toMatchObject({ service: 'ZEXA', status, text });
      // One datum per account with a balance, with its thresholds and the floor 0.
      const withBalance = rows.filter((r) => r.balance !== null);
      expect(parsed.perfdata).toEqual(
        withBalance.map((r) => ({
          label: r.account,
          value: r.balance,
          uom: '',
          warn: '1000',
          crit: '100',
          min: '0',
          max: '',
        })),
      );
      // The table follows as long output.
      expect(parsed.longOutput[0]).toMatch(/^\| account +\| state/);
      expect(parsed.longOutput.filter((l) => l.startsWith('|'))).toHaveLength(rows.length + 2);
    },
  );

  it('quotes every label, doubling a quote inside, so spaces, quotes and = survive', () => {
    const odd = [row("it's a=b", 'OK', 5000, 0), row('two words', 'LOW', 12.5, 1), row('x|y', 'OK', -3, 0)];
    expect(perfdata(odd)).toBe("'it''s a=b'=5000;1000;100;0 'two words'=12.5;1000;100;0 'x|y'=-3;1000;100;0");
    expect(parsePerfdata(perfdata(odd)).map((d) => [d.label, d.value])).toEqual([
      ["it's a=b", 5000],
      ['two words', 12.5],
      ['x|y', -3],
    ]);
  });

  it('says UNKNOWN - timed out, with the rows known so far and who did not answer', () => {
    const outcome = { rows: [ok, critical], timedOut: { afterMs: 30_000, unanswered: ['slow', 'stuck'] } };
    expect(outcomeExitCode(outcome)).toBe(CHECK_EXIT.UNKNOWN);
    expect(statusLine(outcome)).toBe(
      "ZEXA UNKNOWN - timed out after 30s with 2 of 4 accounts unanswered; known: 1 critical, 1 ok | 'production'=4999;1000;100;0 'marketing'=42;1000;100;0",
    );
    const text = renderCheckTable(outcome);
    expect(parsePluginOutput(text).status).toBe('UNKNOWN');
    expect(text.trimEnd().split('\n').at(-1)).toBe('no answer within 30s: slow, stuck');
    expect(statusLine({ rows: [], timedOut: { afterMs: 1500, unanswered: ['slow'] } })).toBe(
      'ZEXA UNKNOWN - timed out after 1500ms with 1 of 1 account unanswered',
    );
  });
});

describe('DRAINING in check', () => {
  const HOUR = 3600_000;
  const store = new AccountStore();
  store.configure([{ name: 'production', thresholds: { warning: 1000, critical: 100 } }]);
  // 1,800 credits an hour from 5,000 for two hours: 1,400 left, empty in under an hour.
  for (let m = 0; m <= 120; m++)
    store.recordSuccess('production', { credits: 5000 - 30 * m, currency: 'USD', atMs: m * 60_000 });
  const status = store.get('production')!;
  const state = stateWithForecast(status, () => consumptionNow(status, store.history, 2 * HOUR));

  it('is a WARNING only with --warn-draining, so existing plugin users see no new warning', () => {
    expect(state).toBe('DRAINING');
    expect(checkRow(status, 'env', [], { state })).toMatchObject({ state: 'DRAINING', exit_code: CHECK_EXIT.OK });
    expect(checkRow(status, 'env', [], { state, warnDraining: true })).toMatchObject({
      state: 'DRAINING',
      exit_code: CHECK_EXIT.WARNING,
    });
    expect(statusLine({ rows: [checkRow(status, 'env', [], { state, warnDraining: true })] })).toBe(
      "ZEXA WARNING - 1 account: 1 draining | 'production'=1400;1000;100;0",
    );
  });
});
