/**
 * Issue 12, "Reload cost": reloads load the configuration with loadConfigAsync, which reads
 * without blocking the event loop. It is the same loader as loadConfig (start-up), answered
 * asynchronously: the same Config, the same problems in the same order, every one at once.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigAsync } from '../../../src/config/load.js';
import { READ_CONCURRENCY, readFiles, runAsync } from '../../../src/config/read-steps.js';
import type { AsyncConfigSources, Config, ConfigSources } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/config/errors.js';

/** Not real keys. */
const KEY_A = 'zxtest_AsyncLoadA0001';
const KEY_B = 'zxtest_AsyncLoadB0002';

const fsError = (code: string, path: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`${code}: ${path}`), { code, path, ...extra });

/** A file system in memory: a string is a file, an array a directory, an Error what reading it throws. */
type Tree = Record<string, string | string[] | Error>;

function syncSources(tree: Tree, argv: string[], env: Record<string, string>): ConfigSources {
  const entry = (path: string): string | string[] | Error => tree[path] ?? fsError('ENOENT', path);
  return {
    argv,
    env,
    readFile: (path) => {
      const found = entry(path);
      if (found instanceof Error) throw found;
      if (Array.isArray(found)) throw fsError('EISDIR', path);
      return found;
    },
    readDir: (path) => {
      const found = entry(path);
      if (found instanceof Error) throw found;
      if (!Array.isArray(found)) throw fsError('ENOTDIR', path);
      return [...found];
    },
  };
}

function asyncSources(sync: ConfigSources): AsyncConfigSources {
  // Every answer a turn later, as the real file system gives it.
  const later = <T>(read: () => T): Promise<T> =>
    new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(read());
        } catch (error) {
          reject(error);
        }
      }),
    );
  return {
    argv: sync.argv,
    env: sync.env,
    readFile: (p) => later(() => sync.readFile(p)),
    readDir: (p) => later(() => sync.readDir(p)),
  };
}

type Outcome = { config: Config } | { problems: readonly string[] };

function outcomeOf(load: () => Config): Outcome {
  try {
    return { config: load() };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}

async function asyncOutcomeOf(load: () => Promise<Config>): Promise<Outcome> {
  try {
    return { config: await load() };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}

const ARGV = ['--config.file=/etc/zexa/config.yml'];

describe('loadConfigAsync is loadConfig without blocking', () => {
  it('gives the same Config for a directory, a key file and a variable', async () => {
    const tree: Tree = {
      '/etc/zexa/config.yml': 'accounts:\n  - fromDirectory: keys\n  - name: solo\n    apiKeyFile: solo.key\n',
      '/etc/zexa/keys': ['beta', 'alpha', '..data', '.hidden'],
      '/etc/zexa/keys/alpha': `${KEY_A}\n`,
      '/etc/zexa/keys/beta': `${KEY_B}\n`,
      '/etc/zexa/solo.key': KEY_A,
    };
    const env = { ZEXA_API_KEY_ENVONE: KEY_B };
    const sync = outcomeOf(() => loadConfig(syncSources(tree, ARGV, env)));
    expect('config' in sync && sync.config.accounts.map((a) => a.name)).toEqual(['envone', 'alpha', 'beta', 'solo']);
    expect(await asyncOutcomeOf(() => loadConfigAsync(asyncSources(syncSources(tree, ARGV, env))))).toEqual(sync);
  });

  it('reports the same problems, every one at once and in the same order', async () => {
    const tree: Tree = {
      '/etc/zexa/config.yml': [
        'accounts:',
        '  - fromDirectory: keys',
        '  - fromDirectory: missing',
        '  - fromDirectory: locked',
        '  - name: gone',
        '    apiKeyEnv: UNSET_KEY',
        '  - name: gone',
        '    apiKeyFile: gone.key',
        '  - name: lost',
        '    apiKeyFile: lost.key',
        '  - name: crowded',
        '    apiKeyFile: crowded.key',
        '',
      ].join('\n'),
      '/etc/zexa/keys': ['ok', 'Bad-Name', 'empty', 'pipe', 'sub', 'huge', 'busy'],
      '/etc/zexa/keys/ok': `${KEY_A}\n`,
      '/etc/zexa/keys/Bad-Name': `${KEY_B}\n`,
      '/etc/zexa/keys/empty': '',
      '/etc/zexa/keys/pipe': fsError('ENOTREG', '/etc/zexa/keys/pipe', { fileType: 'a FIFO (named pipe)' }),
      '/etc/zexa/keys/sub': [],
      '/etc/zexa/keys/huge': fsError('EFBIG', '/etc/zexa/keys/huge', { limitBytes: 1024 * 1024 }),
      '/etc/zexa/keys/busy': fsError('EMFILE', '/etc/zexa/keys/busy'),
      '/etc/zexa/locked': fsError('EACCES', '/etc/zexa/locked'),
      '/etc/zexa/crowded.key': fsError('ENFILE', '/etc/zexa/crowded.key'),
    };
    const sync = outcomeOf(() => loadConfig(syncSources(tree, ARGV, {})));
    // Out of file descriptors (EMFILE, ENFILE) on a key file is a problem like the others, named
    // as what it is; it used to escape the loader as a crash (issue 12).
    expect(sync).toEqual({
      problems: [
        '/etc/zexa/config.yml:2: accounts[0].fromDirectory: file name "Bad-Name" in /etc/zexa/keys is not a valid account name (expected 1 to 64 characters of a-z, 0-9 and _; rename the file or move it out)',
        '/etc/zexa/config.yml:3: accounts[1].fromDirectory: directory /etc/zexa/missing does not exist',
        '/etc/zexa/config.yml:4: accounts[2].fromDirectory: directory /etc/zexa/locked cannot be read (permission denied)',
        'key file /etc/zexa/keys/busy of account "busy" (from accounts[0].fromDirectory in /etc/zexa/config.yml) cannot be opened: the process has too many open files (EMFILE)',
        'key file /etc/zexa/keys/empty of account "empty" (from accounts[0].fromDirectory in /etc/zexa/config.yml) is empty',
        'key file /etc/zexa/keys/huge of account "huge" (from accounts[0].fromDirectory in /etc/zexa/config.yml) is larger than 1 MiB',
        'key file /etc/zexa/keys/pipe of account "pipe" (from accounts[0].fromDirectory in /etc/zexa/config.yml) is a FIFO (named pipe), not a regular file (only regular files are read)',
        'environment variable UNSET_KEY (key of account "gone") is not set',
        'account "gone" is defined twice: by /etc/zexa/config.yml:5: accounts[3] and by /etc/zexa/config.yml:7: accounts[4] (account names must be unique)',
        'key file /etc/zexa/lost.key of account "lost" (from accounts[5].apiKeyFile in /etc/zexa/config.yml) does not exist',
        'key file /etc/zexa/crowded.key of account "crowded" (from accounts[6].apiKeyFile in /etc/zexa/config.yml) cannot be opened: the system has too many open files (ENFILE)',
      ],
    });
    expect(await asyncOutcomeOf(() => loadConfigAsync(asyncSources(syncSources(tree, ARGV, {}))))).toEqual(sync);
  });

  it('reads at most READ_CONCURRENCY files at once, in the order asked', async () => {
    const paths = Array.from({ length: 100 }, (_, i) => `/keys/k${i}`);
    let inFlight = 0;
    let most = 0;
    const readFile = async (path: string): Promise<string> => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      if (path.endsWith('7')) throw fsError('ENOENT', path);
      return `text of ${path}`;
    };
    const reads = await runAsync(readFiles(paths), { readFile, readDir: () => Promise.resolve([]) });
    expect(most).toBe(READ_CONCURRENCY);
    expect(reads.map((r) => (typeof r === 'string' ? r : (r.error as { code: string }).code))).toEqual(
      paths.map((p) => (p.endsWith('7') ? 'ENOENT' : `text of ${p}`)),
    );
  });
});
