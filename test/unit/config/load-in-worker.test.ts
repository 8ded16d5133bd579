/**
 * Reloads load the configuration on a worker thread (loadConfigInWorker): the same Config as
 * loadConfig, received in pieces, or the same problems, word for word; a worker that runs out of
 * its memory or its time is stopped and the reload refused with a line that says which. No
 * message holds a key.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { loadConfig, nodeConfigSources } from '../../../src/config/load.js';
import { loadConfigInWorker, RELOAD_WORKER_BOUNDS } from '../../../src/config/load-in-worker.js';

/** Not real keys. */
const KEY = 'zxtest_WorkerLoad000001';
const ENV_KEY = 'zxtest_WorkerLoadEnv0002';
/** More than one piece of 1,000 accounts, and not a whole number of them. */
const DIRECTORY_ACCOUNTS = 2_345;

const root = mkdtempSync(join(tmpdir(), 'zexa-load-worker-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The problems of the ConfigError that `load` rejects with. */
async function refusal(load: Promise<unknown>): Promise<readonly string[]> {
  const error: unknown = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

describe('loadConfigInWorker', () => {
  it('gives the Config that loadConfig gives, every account of it', async () => {
    const dir = join(root, 'good');
    mkdirSync(join(dir, 'keys'), { recursive: true });
    for (let i = 0; i < DIRECTORY_ACCOUNTS; i++)
      writeFileSync(join(dir, 'keys', `acct_${String(i).padStart(5, '0')}`), `${KEY}_${i}\n`);
    writeFileSync(join(dir, 'solo.key'), KEY);
    writeFileSync(
      join(dir, 'config.yml'),
      'poll: { interval: 5m }\naccounts:\n  - fromDirectory: keys\n    thresholds: { warning: 500 }\n  - name: solo\n    apiKeyFile: solo.key\n',
    );
    const argv = [`--config.file=${join(dir, 'config.yml')}`, '--log.level=debug'];
    const env = { ZEXA_API_KEY_FROMENV: ENV_KEY };
    const expected = loadConfig(nodeConfigSources(argv, env));
    expect(expected.accounts).toHaveLength(DIRECTORY_ACCOUNTS + 2);
    expect(await loadConfigInWorker(argv, env)).toEqual(expected);
  });

  it('refuses a bad file with the problems loadConfig gives, word for word, and no key in them', async () => {
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'bad.key'), `${KEY} has spaces\n`);
    writeFileSync(
      join(dir, 'config.yml'),
      [
        'poll: { interval: 1ms, colour: blue }',
        'accounts:',
        '  - fromDirectory: missing',
        '  - name: Bad-Name',
        '    apiKeyEnv: UNSET_VARIABLE',
        '  - name: bad',
        '    apiKeyFile: bad.key',
        '',
      ].join('\n'),
    );
    const argv = [`--config.file=${join(dir, 'config.yml')}`];
    const env = { ZEXA_API_KEY: `${ENV_KEY} also spaced` };
    const expected = await refusal(Promise.resolve().then(() => loadConfig(nodeConfigSources(argv, env))));
    expect(expected.length).toBeGreaterThanOrEqual(4);
    const problems = await refusal(loadConfigInWorker(argv, env));
    expect(problems).toEqual(expected);
    expect(problems.join('\n')).not.toContain(KEY);
    expect(problems.join('\n')).not.toContain(ENV_KEY);
  });

  it('stops a worker that needs more than its memory and refuses the reload', async () => {
    const dir = join(root, 'large');
    mkdirSync(dir);
    const lines = ['accounts:'];
    for (let i = 0; i < 18_382; i++) lines.push(`  - name: acct_${String(i).padStart(8, '0')}`, '    apiKeyEnv: K');
    writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
    // The 1 MiB file's parse alone needs more than 48 MiB of heap.
    const bounds = { ...RELOAD_WORKER_BOUNDS, memoryMb: 16 };
    expect(await refusal(loadConfigInWorker([`--config.file=${join(dir, 'config.yml')}`], { K: KEY }, bounds))).toEqual(
      ['the configuration could not be loaded: loading it needed more than 16 MiB of memory'],
    );
  });

  it('stops a worker that takes longer than its time and refuses the reload', async () => {
    const dir = join(root, 'slow');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.yml'), 'accounts:\n  - name: solo\n    apiKeyEnv: K\n');
    // No worker loads Node.js, the loader and a file within a millisecond.
    const bounds = { ...RELOAD_WORKER_BOUNDS, timeoutMs: 1 };
    expect(await refusal(loadConfigInWorker([`--config.file=${join(dir, 'config.yml')}`], { K: KEY }, bounds))).toEqual(
      ['the configuration could not be loaded within 0.001 s; the loader was stopped'],
    );
  });
});
