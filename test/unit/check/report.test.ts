import { describe, expect, it } from 'vitest';
import { AccountStore } from '../../../src/state/account-store.js';
import { parseCheckArgs } from '../../../src/check/args.js';
import { CHECK_EXIT, checkRow, renderCheckTable, renderTable, worstExitCode, type CheckExitCode } from '../../../src/check/report.js';

describe('parseCheckArgs', () => {
  it.each([
    [[], { output: 'table', configOnly: false, help: false, configArgv: [], problems: [] }],
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
  store.recordFailure('down', { reason: 'timeout', message: 'no answer within 2s | retry', status: undefined, requestId: undefined, attempts: 3, atMs: 1 });

  it('gives each state its exit code, a shared key WARNING', () => {
    expect(checkRow(store.get('low')!, 'env', []).exit_code).toBe(CHECK_EXIT.WARNING);
    expect(checkRow(store.get('down')!, 'file', [])).toMatchObject({ state: 'ERROR', reason: 'timeout', http_status: null, exit_code: CHECK_EXIT.UNKNOWN });
    expect(checkRow(store.get('shared')!, 'env', ['low']).exit_code).toBe(CHECK_EXIT.WARNING);
    expect(checkRow(store.get('shared')!, 'env', []).exit_code).toBe(CHECK_EXIT.OK);
  });

  it('keeps a pipe in a message from breaking the table', () => {
    const text = renderCheckTable([checkRow(store.get('down')!, 'file', [])]);
    expect(text).toContain('| timeout, no answer within 2s \\| retry |');
    expect(text.trimEnd().split('\n').at(-1)).toBe('UNKNOWN: 1 account, 1 ERROR (exit 3)');
  });

  it('pads every column to its widest cell', () => {
    expect(renderTable(['a', 'bb'], [['long', 'x']])).toBe('| a    | bb  |\n|------|-----|\n| long | x   |\n');
  });
});
