import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpOrVersion, usage } from '../../../src/config/cli.js';
import { DEFAULTS } from '../../../src/config/defaults.js';
import { loadConfig, nodeConfigSources } from '../../../src/config/load.js';
import type { AccountConfig, Config, ConfigSources } from '../../../src/config/types.js';
import { formatDurationMs, parseDuration, parseListenAddress, parseShard } from '../../../src/config/values.js';
import { keyFingerprint, readAccountKey } from '../../../src/config/keys.js';
import { readFileBounded } from '../../../src/lib/bounded-read.js';
import { KeyUnavailableError } from '../../../src/zexa/errors.js';
import { ConfigError } from '../../../src/config/errors.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'config');
const BAD = join(FIXTURES, 'bad');
const GOOD = join(FIXTURES, 'good');
const KEYS = join(FIXTURES, 'keys');
/** A well-formed key for the rows that are about something else. Not a real key. */
const KEY = 'zxtest_E5vR2nW8qT1y';

type Env = Record<string, string>;

function problemsOf(argv: readonly string[], env: Env, sources?: Partial<ConfigSources>): string[] {
  try {
    loadConfig({ ...nodeConfigSources(argv, env), ...sources });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

function load(argv: readonly string[], env: Env, sources?: Partial<ConfigSources>): Config {
  return loadConfig({ ...nodeConfigSources(argv, env), ...sources });
}

/** In-memory files, for configs that only make sense generated (huge, or with computed keys). */
function memoryFiles(files: Record<string, string>): Pick<ConfigSources, 'readFile' | 'readDir'> {
  const missing = (path: string): Error => Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return {
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw missing(path);
      return text;
    },
    readDir: (path) => {
      throw missing(path);
    },
  };
}

const KEY_FLAG_PROBLEM = (flag: string): string =>
  `${flag}: keys are never accepted on the command line (command lines show in ps and shell history); ` +
  'set ZEXA_API_KEY or ZEXA_API_KEY_FILE (ZEXA_API_KEY_<NAME>[_FILE] for more accounts) instead';
const LISTEN_EXPECTED = '(expected [host]:port, e.g. :10025, 0.0.0.0:10025, [::1]:10025)';
const SHARD_EXPECTED = '(expected INDEX/COUNT with 0 <= INDEX < COUNT <= 1024, e.g. 1/2)';
const NAME_RULE = '1 to 64 characters of a-z, 0-9 and _';
const NO_ACCOUNT =
  'no account configured: set ZEXA_API_KEY=<your key> (or ZEXA_API_KEY_FILE=/path/to/key-file), ' +
  'ZEXA_API_KEY_<NAME> for more accounts, or list accounts in a config file (--config.file); ' +
  'to see the exporter without a key, run `npm run demo`';

interface BadCase {
  name: string;
  argv?: string[];
  /** Added to { ZEXA_API_KEY: KEY } unless `noKey`. */
  env?: Env;
  noKey?: boolean;
  /** A file in test/fixtures/config/bad, passed with --config.file. */
  file?: string;
  /** Exactly the problems, in order; `{file}` is the fixture's path, `{keys}` the key fixtures. */
  want: (string | RegExp)[];
}

const BAD_CASES: BadCase[] = [
  // ---- environment: durations and numbers
  {
    name: 'interval garbage',
    env: { ZEXA_POLL_INTERVAL: '5x' },
    want: ['ZEXA_POLL_INTERVAL: "5x" is not a duration (expected e.g. 90, 30s, 5m)'],
  },
  {
    name: 'interval zero',
    env: { ZEXA_POLL_INTERVAL: '0' },
    want: ['ZEXA_POLL_INTERVAL: "0" is too short (at least 5s)'],
  },
  {
    name: 'interval negative',
    env: { ZEXA_POLL_INTERVAL: '-5s' },
    want: ['ZEXA_POLL_INTERVAL: "-5s" is not a duration (expected e.g. 90, 30s, 5m)'],
  },
  {
    name: 'interval below 5s',
    env: { ZEXA_POLL_INTERVAL: '4s' },
    want: ['ZEXA_POLL_INTERVAL: "4s" is too short (at least 5s)'],
  },
  {
    name: 'interval over a day',
    env: { ZEXA_POLL_INTERVAL: '25h' },
    want: ['ZEXA_POLL_INTERVAL: "25h" is too long (at most 24h)'],
  },
  {
    name: 'interval of absurd size, echo capped',
    env: { ZEXA_POLL_INTERVAL: `${'9'.repeat(400)}h` },
    want: [`ZEXA_POLL_INTERVAL: "${'9'.repeat(64)}"… is too long a duration`],
  },
  {
    name: 'interval set but empty',
    env: { ZEXA_POLL_INTERVAL: '' },
    want: ['ZEXA_POLL_INTERVAL: is set but empty (unset it to use the default)'],
  },
  {
    name: 'timeout below 1s',
    env: { ZEXA_REQUEST_TIMEOUT: '500ms' },
    want: ['ZEXA_REQUEST_TIMEOUT: "500ms" is too short (at least 1s)'],
  },
  {
    name: 'timeout over 5m',
    env: { ZEXA_REQUEST_TIMEOUT: '10m', ZEXA_POLL_INTERVAL: '1h' },
    want: ['ZEXA_REQUEST_TIMEOUT: "10m" is too long (at most 5m)'],
  },
  {
    name: 'timeout longer than the interval',
    env: { ZEXA_REQUEST_TIMEOUT: '90s' },
    want: [
      'ZEXA_REQUEST_TIMEOUT: request timeout 90s is longer than the poll interval 60s (the default); the timeout must be at most the interval',
    ],
  },
  {
    name: 'concurrency zero',
    env: { ZEXA_MAX_CONCURRENCY: '0' },
    want: ['ZEXA_MAX_CONCURRENCY: "0" is out of range (expected an integer from 1 to 1024)'],
  },
  {
    name: 'concurrency too big',
    env: { ZEXA_MAX_CONCURRENCY: '1025' },
    want: ['ZEXA_MAX_CONCURRENCY: "1025" is out of range (expected an integer from 1 to 1024)'],
  },
  {
    name: 'concurrency not a number',
    env: { ZEXA_MAX_CONCURRENCY: 'eight' },
    want: ['ZEXA_MAX_CONCURRENCY: "eight" is not an integer (expected an integer from 1 to 1024)'],
  },
  {
    name: 'concurrency fractional',
    env: { ZEXA_MAX_CONCURRENCY: '2.5' },
    want: ['ZEXA_MAX_CONCURRENCY: "2.5" is not an integer (expected an integer from 1 to 1024)'],
  },
  {
    name: 'attempts over 10',
    env: { ZEXA_MAX_ATTEMPTS: '11' },
    want: ['ZEXA_MAX_ATTEMPTS: "11" is out of range (expected an integer from 1 to 10)'],
  },
  {
    name: 'attempts zero',
    env: { ZEXA_MAX_ATTEMPTS: '0' },
    want: ['ZEXA_MAX_ATTEMPTS: "0" is out of range (expected an integer from 1 to 10)'],
  },
  {
    name: 'rate zero',
    env: { ZEXA_MAX_REQUESTS_PER_SECOND: '0' },
    want: ['ZEXA_MAX_REQUESTS_PER_SECOND: "0" is out of range (expected a number above 0, at most 100000)'],
  },
  {
    name: 'rate NaN',
    env: { ZEXA_MAX_REQUESTS_PER_SECOND: 'NaN' },
    want: ['ZEXA_MAX_REQUESTS_PER_SECOND: "NaN" is not a number (expected a number above 0, at most 100000)'],
  },
  {
    name: 'threshold negative',
    env: { ZEXA_CREDITS_WARNING_THRESHOLD: '-1' },
    want: ['ZEXA_CREDITS_WARNING_THRESHOLD: "-1" is out of range (expected a number of credits >= 0)'],
  },
  {
    name: 'threshold overflow',
    env: { ZEXA_CREDITS_CRITICAL_THRESHOLD: '1e400' },
    want: ['ZEXA_CREDITS_CRITICAL_THRESHOLD: "1e400" is not a number (expected a number of credits >= 0)'],
  },
  {
    name: 'warning below critical',
    env: { ZEXA_CREDITS_WARNING_THRESHOLD: '50', ZEXA_CREDITS_CRITICAL_THRESHOLD: '100' },
    want: [
      'ZEXA_CREDITS_WARNING_THRESHOLD: warning threshold 50 is below the critical threshold 100 (from ZEXA_CREDITS_CRITICAL_THRESHOLD); warning must be at least critical',
    ],
  },
  {
    name: 'critical above the default warning',
    env: { ZEXA_CREDITS_CRITICAL_THRESHOLD: '5000' },
    want: [
      'ZEXA_CREDITS_CRITICAL_THRESHOLD: critical threshold 5000 is above the warning threshold 1000 (the default); critical must be at most warning',
    ],
  },
  // ---- environment: URL, listen address, log level, shard
  {
    name: 'url scheme',
    env: { ZEXA_API_URL: 'ftp://api.zexa.ao' },
    want: ['ZEXA_API_URL: has scheme "ftp" (expected http or https)'],
  },
  {
    name: 'url with credentials is not echoed',
    env: { ZEXA_API_URL: 'https://admin:hunter2@api.zexa.ao' },
    want: [
      'ZEXA_API_URL: must not contain credentials (user:password@); the key goes in ZEXA_API_KEY or ZEXA_API_KEY_FILE',
    ],
  },
  {
    name: 'url with a query',
    env: { ZEXA_API_URL: 'https://api.zexa.ao/?token=x' },
    want: ['ZEXA_API_URL: must not contain a query string or fragment'],
  },
  {
    name: 'url garbage',
    env: { ZEXA_API_URL: 'not a url' },
    want: ['ZEXA_API_URL: "not a url" is not a valid URL (expected e.g. https://api.zexa.ao)'],
  },
  {
    name: 'listen without port',
    env: { ZEXA_EXPORTER_LISTEN_ADDRESS: 'localhost' },
    want: [`ZEXA_EXPORTER_LISTEN_ADDRESS: "localhost" has no port ${LISTEN_EXPECTED}`],
  },
  {
    name: 'listen port too big',
    argv: ['--web.listen-address', ':70000'],
    want: [`--web.listen-address: ":70000" does not have a port from 0 to 65535 ${LISTEN_EXPECTED}`],
  },
  {
    name: 'listen IPv6 without brackets',
    argv: ['--web.listen-address=::1:10025'],
    want: [`--web.listen-address: "::1:10025" needs brackets around an IPv6 address ${LISTEN_EXPECTED}`],
  },
  {
    name: 'listen bad host',
    env: { ZEXA_EXPORTER_LISTEN_ADDRESS: 'bad host!:80' },
    want: [`ZEXA_EXPORTER_LISTEN_ADDRESS: "bad host!:80" does not have a valid host name ${LISTEN_EXPECTED}`],
  },
  {
    name: 'max connections zero',
    argv: ['--web.max-connections=0'],
    want: ['--web.max-connections: "0" is out of range (expected an integer from 1 to 65536)'],
  },
  {
    name: 'max connections not a number',
    env: { ZEXA_EXPORTER_WEB_MAX_CONNECTIONS: 'many' },
    want: ['ZEXA_EXPORTER_WEB_MAX_CONNECTIONS: "many" is not an integer (expected an integer from 1 to 65536)'],
  },
  {
    name: 'log level',
    argv: ['--log.level=verbose'],
    want: [
      '--log.level: "verbose" is not a log level (expected one of trace, debug, info, warn, error, fatal, silent)',
    ],
  },
  {
    name: 'shard index = count',
    env: { ZEXA_SHARD: '2/2' },
    want: [`ZEXA_SHARD: "2/2" is out of range ${SHARD_EXPECTED}`],
  },
  { name: 'shard count zero', argv: ['--shard=0/0'], want: [`--shard: "0/0" is out of range ${SHARD_EXPECTED}`] },
  {
    name: 'shard count too big',
    argv: ['--shard', '0/1025'],
    want: [`--shard: "0/1025" is out of range ${SHARD_EXPECTED}`],
  },
  { name: 'shard garbage', env: { ZEXA_SHARD: 'a/b' }, want: [`ZEXA_SHARD: "a/b" is not a shard ${SHARD_EXPECTED}`] },
  // ---- keys from the environment
  { name: 'no account at all', noKey: true, want: [NO_ACCOUNT] },
  {
    name: 'empty key variable',
    env: { ZEXA_API_KEY_STAGING: '' },
    want: ['environment variable ZEXA_API_KEY_STAGING (key of account "staging") is empty'],
  },
  {
    name: 'key and key file for the same account',
    env: { ZEXA_API_KEY_FILE: join(KEYS, 'production') },
    want: [
      'ZEXA_API_KEY and ZEXA_API_KEY_FILE are both set; set only one (the key itself, or the path of a file holding it)',
    ],
  },
  {
    name: 'key containing whitespace',
    noKey: true,
    env: { ZEXA_API_KEY: 'zxtest_E5vR2n W8qT1y' },
    want: [
      'environment variable ZEXA_API_KEY (key of account "default") contains whitespace, control or non-ASCII characters',
    ],
  },
  {
    name: 'key containing a newline',
    noKey: true,
    env: { ZEXA_API_KEY_PROD: `${KEY}\n` },
    want: [
      'environment variable ZEXA_API_KEY_PROD (key of account "prod") contains whitespace, control or non-ASCII characters',
    ],
  },
  {
    name: 'missing key file',
    noKey: true,
    env: { ZEXA_API_KEY_PROD_FILE: join(KEYS, 'does-not-exist') },
    want: ['key file {keys}/does-not-exist of account "prod" (from ZEXA_API_KEY_PROD_FILE) does not exist'],
  },
  {
    name: 'empty key file',
    noKey: true,
    env: { ZEXA_API_KEY_FILE: join(KEYS, 'empty') },
    want: ['key file {keys}/empty of account "default" (from ZEXA_API_KEY_FILE) is empty'],
  },
  {
    name: 'key file that is a directory',
    noKey: true,
    env: { ZEXA_API_KEY_FILE: KEYS },
    want: ['key file {keys} of account "default" (from ZEXA_API_KEY_FILE) is a directory, not a file'],
  },
  {
    name: 'key file with two trailing newlines',
    noKey: true,
    env: { ZEXA_API_KEY_FILE: join(KEYS, 'two-newlines') },
    want: [
      'key file {keys}/two-newlines of account "default" (from ZEXA_API_KEY_FILE) contains whitespace, control or non-ASCII characters (only one trailing newline is allowed)',
    ],
  },
  {
    name: 'key file variable empty',
    noKey: true,
    env: { ZEXA_API_KEY_FILE: '' },
    want: ['ZEXA_API_KEY_FILE: is set but empty (expected the path of a file holding the key)'],
  },
  {
    name: 'invalid account name from the environment',
    env: { 'ZEXA_API_KEY_EU-WEST': KEY },
    want: [`ZEXA_API_KEY_EU-WEST: "eu-west" is not a valid account name (expected ${NAME_RULE} after ZEXA_API_KEY_)`],
  },
  {
    name: 'account named file through the environment',
    env: { ZEXA_API_KEY_FILE_FILE: join(KEYS, 'production') },
    want: [
      'ZEXA_API_KEY_FILE_FILE: an account cannot be named "file" through the environment (ZEXA_API_KEY_FILE is the key file of account "default"); name it in a config file',
    ],
  },
  {
    name: 'duplicate account after lower-casing',
    env: { ZEXA_API_KEY_STAGING: KEY, ZEXA_API_KEY_staging: KEY },
    want: [
      'account "staging" is defined twice: by ZEXA_API_KEY_STAGING and by ZEXA_API_KEY_staging (account names must be unique)',
    ],
  },
  {
    name: 'duplicate default account',
    env: { ZEXA_API_KEY_DEFAULT: KEY },
    want: [
      'account "default" is defined twice: by ZEXA_API_KEY and by ZEXA_API_KEY_DEFAULT (account names must be unique)',
    ],
  },
  {
    name: 'misspelt key variable',
    env: { ZEXA_API_KEYS: KEY },
    want: [
      'ZEXA_API_KEYS: not a setting of zexa-exporter (keys go in ZEXA_API_KEY, ZEXA_API_KEY_FILE or ZEXA_API_KEY_<NAME>[_FILE])',
    ],
  },
  // ---- command line
  { name: 'key flag with =', argv: [`--api-key=${KEY}`], want: [KEY_FLAG_PROBLEM('--api-key')] },
  { name: 'namespaced key flag', argv: ['--zexa.api-key', KEY], want: [KEY_FLAG_PROBLEM('--zexa.api-key')] },
  { name: 'bare key flag', argv: ['--key', KEY], want: [KEY_FLAG_PROBLEM('--key')] },
  {
    name: 'unknown flag, value not echoed',
    argv: ['--poll.interval=30s'],
    want: ['unknown flag --poll.interval (see --help)'],
  },
  {
    name: 'single dash',
    argv: ['-log.level', 'debug'],
    want: ['unknown flag -log.level (flags start with two dashes: --log.level)'],
  },
  {
    name: 'positional argument not echoed',
    argv: [KEY],
    want: [
      '1 positional argument given, but zexa-exporter takes none (not shown, in case it is a key; settings are --flags or environment variables, see --help)',
    ],
  },
  {
    name: 'flag without value',
    argv: ['--log.level'],
    want: ['--log.level needs a value (--log.level=VALUE or --log.level VALUE)'],
  },
  { name: 'flag given twice', argv: ['--shard=0/2', '--shard', '1/2'], want: ['--shard is given more than once'] },
  {
    name: 'missing config file',
    argv: ['--config.file=/nonexistent/zexa.yml'],
    want: ['--config.file: config file /nonexistent/zexa.yml does not exist'],
  },
  // ---- the YAML file
  {
    name: 'unknown top-level field',
    file: 'unknown-field.yml',
    want: [
      '{file}:1: scrape_interval: unknown field (expected one of api, poll, thresholds, accounts, web, log, shard, check)',
    ],
  },
  {
    name: 'unknown nested field',
    file: 'unknown-nested.yml',
    want: [
      '{file}:3: poll.retries: unknown field (expected one of interval, maxConcurrency, maxAttempts, maxRequestsPerSecond)',
    ],
  },
  {
    name: 'literal key in the file',
    file: 'literal-key.yml',
    want: [
      '{file}:5: accounts[1].apiKey: keys never go into config files (config files get committed); name where the key is instead: apiKeyFile: /path/to/key or apiKeyEnv: VARIABLE_NAME',
      '{file}:4: accounts[1]: needs apiKeyFile (a file holding the key) or apiKeyEnv (the name of a variable holding it)',
    ],
  },
  {
    name: 'apiKeyFile and apiKeyEnv',
    file: 'both-key-sources.yml',
    want: ['{file}:2: accounts[0]: has both apiKeyFile and apiKeyEnv; set only one'],
  },
  {
    name: 'no key source',
    file: 'no-key-source.yml',
    want: [
      '{file}:2: accounts[0]: needs apiKeyFile (a file holding the key) or apiKeyEnv (the name of a variable holding it)',
    ],
  },
  {
    name: 'no name',
    file: 'no-name.yml',
    want: ['{file}:2: accounts[0]: needs a name (or fromDirectory: a directory with one key file per account)'],
  },
  {
    name: 'fromDirectory with a name',
    file: 'directory-and-name.yml',
    want: [
      '{file}:2: accounts[0]: fromDirectory cannot be combined with name, apiKeyFile or apiKeyEnv (each file in the directory is one account, named after the file)',
    ],
  },
  {
    name: 'invalid account name',
    file: 'invalid-name.yml',
    want: [`{file}:2: accounts[0].name: "Production-EU" is not a valid account name (expected ${NAME_RULE})`],
  },
  {
    name: 'duplicate account in the file',
    file: 'duplicate-name.yml',
    want: [
      'account "production" is defined twice: by {file}:2: accounts[0] and by {file}:4: accounts[1] (account names must be unique)',
    ],
  },
  {
    name: 'duplicate account across env and file',
    env: { ZEXA_API_KEY_PRODUCTION: KEY },
    file: 'duplicate-name.yml',
    want: [
      'account "production" is defined twice: by ZEXA_API_KEY_PRODUCTION and by {file}:2: accounts[0] (account names must be unique)',
      'account "production" is defined twice: by ZEXA_API_KEY_PRODUCTION and by {file}:4: accounts[1] (account names must be unique)',
    ],
  },
  {
    name: 'interval 0 in the file',
    file: 'bad-interval.yml',
    want: ['{file}:2: poll.interval: 0 is too short (at least 5s)'],
  },
  {
    name: 'global thresholds in the file',
    file: 'bad-thresholds.yml',
    want: [
      '{file}:2: thresholds.warning: warning threshold 50 is below the critical threshold 100 (from {file}:3: thresholds.critical); warning must be at least critical',
    ],
  },
  {
    name: 'per-account thresholds after merging',
    file: 'account-thresholds.yml',
    want: [
      '{file}:4: accounts[0].thresholds: warning threshold 1000 (the default) is below the critical threshold 5000 (from accounts[0].thresholds.critical); warning must be at least critical',
    ],
  },
  {
    name: 'per-account thresholds against a global from the environment',
    env: { ZEXA_CREDITS_WARNING_THRESHOLD: '4000' },
    file: 'account-thresholds.yml',
    want: [
      '{file}:4: accounts[0].thresholds: warning threshold 4000 (from ZEXA_CREDITS_WARNING_THRESHOLD) is below the critical threshold 5000 (from accounts[0].thresholds.critical); warning must be at least critical',
    ],
  },
  {
    name: 'URL with credentials in the file',
    file: 'url-credentials.yml',
    want: [
      '{file}:2: api.url: must not contain credentials (user:password@); the key goes in ZEXA_API_KEY or ZEXA_API_KEY_FILE',
    ],
  },
  {
    name: 'timeout longer than interval in the file',
    file: 'timeout-over-interval.yml',
    want: [
      '{file}:1: api.timeout: request timeout 2m is longer than the poll interval 60s (from {file}:2: poll.interval); the timeout must be at most the interval',
    ],
  },
  {
    name: 'every scalar setting wrong at once',
    file: 'several-problems.yml',
    want: [
      '{file}:1: api.url: has scheme "ftp" (expected http or https)',
      '{file}:2: poll.maxConcurrency: 0 is out of range (expected an integer from 1 to 1024)',
      '{file}:2: poll.maxAttempts: 11 is out of range (expected an integer from 1 to 10)',
      '{file}:2: poll.maxRequestsPerSecond: -5 is out of range (expected a number above 0, at most 100000)',
      `{file}:3: web.listenAddress: "::1:10025" needs brackets around an IPv6 address ${LISTEN_EXPECTED}`,
      '{file}:4: log.level: "verbose" is not a log level (expected one of trace, debug, info, warn, error, fatal, silent)',
      `{file}:5: shard: "2/2" is out of range ${SHARD_EXPECTED}`,
    ],
  },
  {
    name: 'YAML syntax error',
    file: 'syntax-error.yml',
    want: ['{file}:4:1: invalid YAML: missing character (a closing quote or bracket, a comma, or a space after ":")'],
  },
  { name: 'duplicate YAML key', file: 'duplicate-key.yml', want: ['{file}:3:1: invalid YAML: duplicate key'] },
  {
    name: 'billion laughs',
    file: 'alias-bomb.yml',
    want: ['{file}:3:8: YAML aliases (*name) are not allowed in the config file (72 found); write the values out'],
  },
  {
    name: 'top level is a list',
    file: 'top-level-list.yml',
    want: ['{file}:1: the top level must be a mapping of settings (got a list)'],
  },
  {
    name: 'wrong section types',
    file: 'wrong-types.yml',
    want: [
      '{file}:1: thresholds: must be a mapping (got a list)',
      '{file}:2: accounts: must be a list (got a mapping)',
    ],
  },
  {
    name: 'missing apiKeyFile',
    file: 'missing-key-file.yml',
    want: [
      'key file {keys}/does-not-exist of account "production" (from accounts[0].apiKeyFile in {file}) does not exist',
    ],
  },
  {
    name: 'empty apiKeyFile',
    file: 'empty-key-file.yml',
    want: ['key file {keys}/empty of account "production" (from accounts[0].apiKeyFile in {file}) is empty'],
  },
  {
    name: 'whitespace in key files',
    file: 'whitespace-key-file.yml',
    want: [
      'key file {keys}/with-space of account "production" (from accounts[0].apiKeyFile in {file}) contains whitespace, control or non-ASCII characters (only one trailing newline is allowed)',
      'key file {keys}/two-newlines of account "staging" (from accounts[1].apiKeyFile in {file}) contains whitespace, control or non-ASCII characters (only one trailing newline is allowed)',
    ],
  },
  {
    name: 'apiKeyEnv not set',
    file: 'unset-key-env.yml',
    want: ['environment variable ZEXA_FIXTURE_UNSET_VARIABLE (key of account "production") is not set'],
  },
  {
    name: 'missing fromDirectory',
    file: 'missing-directory.yml',
    want: ['{file}:2: accounts[0].fromDirectory: directory {keys}/does-not-exist does not exist'],
  },
  {
    name: 'file name that is not an account name',
    file: 'bad-directory-names.yml',
    want: [
      `{file}:2: accounts[0].fromDirectory: file name "Bad.Name" in {keys}/bad-names is not a valid account name (expected ${NAME_RULE}; rename the file or move it out)`,
    ],
  },
];

describe('loadConfig rejects bad configurations with one exact line per problem', () => {
  it('has a table large enough to cover the contract', () => {
    expect(BAD_CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const row of BAD_CASES) {
    it(row.name, () => {
      const file = row.file === undefined ? undefined : join(BAD, row.file);
      const argv = [...(row.argv ?? []), ...(file === undefined ? [] : ['--config.file', file])];
      const env = { ...(row.noKey === true ? {} : { ZEXA_API_KEY: KEY }), ...row.env };
      const fill = (s: string): string => s.replaceAll('{file}', file ?? '').replaceAll('{keys}', KEYS);
      const problems = problemsOf(argv, env);
      expect(problems).toEqual(row.want.map((w) => (typeof w === 'string' ? fill(w) : expect.stringMatching(w))));
    });
  }

  it('lists every problem of every source in one ConfigError', () => {
    const problems = problemsOf(['--log.level=loud', '--bogus'], { ZEXA_POLL_INTERVAL: '1s', ZEXA_API_KEY_X: '' }, {});
    expect(problems).toEqual([
      'unknown flag --bogus (see --help)',
      'ZEXA_POLL_INTERVAL: "1s" is too short (at least 5s)',
      '--log.level: "loud" is not a log level (expected one of trace, debug, info, warn, error, fatal, silent)',
      'environment variable ZEXA_API_KEY_X (key of account "x") is empty',
    ]);
    try {
      load(['--log.level=loud'], { ZEXA_API_KEY: KEY });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe(
        'invalid configuration:\n  - --log.level: "loud" is not a log level (expected one of trace, debug, info, warn, error, fatal, silent)',
      );
    }
  });

  it('refuses a config file over 1 MiB before parsing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-'));
    try {
      const big = join(dir, 'big.yml');
      // Valid YAML all the way, so only the size can be the problem.
      writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\n`);
      expect(problemsOf(['--config.file', big], { ZEXA_API_KEY: KEY })).toEqual([
        `--config.file: config file ${big} is larger than 1 MiB`,
      ]);
      const tenMb = `# ${'x'.repeat(10 * 1024 * 1024)}\n`;
      expect(
        problemsOf(['--config.file=/mem/c.yml'], { ZEXA_API_KEY: KEY }, memoryFiles({ '/mem/c.yml': tenMb })),
      ).toEqual([`--config.file: config file /mem/c.yml is larger than 1 MiB (${tenMb.length} bytes)`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an empty fromDirectory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-'));
    try {
      mkdirSync(join(dir, 'keys', '..data'), { recursive: true });
      writeFileSync(join(dir, 'keys', '.hidden'), `${KEY}\n`);
      writeFileSync(join(dir, 'c.yml'), 'accounts:\n  - fromDirectory: keys\n');
      expect(problemsOf(['--config.file', join(dir, 'c.yml')], {})).toEqual([
        `${join(dir, 'c.yml')}:2: accounts[0].fromDirectory: directory ${join(dir, 'keys')} holds no key files (expected one file per account, named after the account)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says that deeply nested YAML is nested too deeply, not that it has too many aliases (issue 12)', () => {
    const deep = `accounts: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const problems = problemsOf(['--config.file=/deep.yml'], { ZEXA_API_KEY: KEY }, memoryFiles({ '/deep.yml': deep }));
    expect(problems).toEqual([expect.stringMatching(/^\/deep\.yml:1:\d+: invalid YAML: nested too deeply/)]);
  });

  it('refuses a 600 KB accounts: [[[…]]] at the 65th level, before parsing it', () => {
    // The parser took 3.8 s of event loop to give up on this; the scan stops at the 65th bracket.
    const deep = `accounts: ${'['.repeat(300_000)}${']'.repeat(300_000)}\n`;
    const problems = problemsOf(['--config.file=/deep.yml'], { ZEXA_API_KEY: KEY }, memoryFiles({ '/deep.yml': deep }));
    expect(problems).toEqual([
      `/deep.yml:1:${'accounts: '.length + 65}: invalid YAML: nested too deeply (more than 64 levels)`,
    ]);
    const indented = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i * 2)}a:`).join('\n');
    expect(problemsOf(['--config.file=/i.yml'], { ZEXA_API_KEY: KEY }, memoryFiles({ '/i.yml': indented }))).toEqual([
      '/i.yml:66:129: invalid YAML: nested too deeply (more than 64 levels)',
    ]);
    // Brackets inside quotes and comments are text, not nesting.
    const quoted = `# ${'['.repeat(100)}\naccounts:\n  - name: "${'['.repeat(100)}"\n`;
    expect(
      problemsOf(['--config.file=/q.yml'], { ZEXA_API_KEY: KEY }, memoryFiles({ '/q.yml': quoted })).join('\n'),
    ).not.toMatch(/nested too deeply/);
  });

  it('refuses YAML tags that build objects no setting expects', () => {
    const files = memoryFiles({ '/c.yml': 'log: !!binary aGVsbG8=\n', '/d.yml': 'log: !!set { info }\n' });
    expect(problemsOf(['--config.file=/c.yml'], { ZEXA_API_KEY: KEY }, files)).toEqual([
      '/c.yml:1:6: invalid YAML: unknown tag',
    ]);
    expect(problemsOf(['--config.file=/d.yml'], { ZEXA_API_KEY: KEY }, files)).toEqual([
      '/d.yml:1:6: invalid YAML: unknown tag',
    ]);
  });
});

describe('loadConfig builds the Config', () => {
  it('uses DEFAULTS for everything not set', () => {
    const config = load([], { ZEXA_API_KEY: KEY });
    expect(config).toEqual({
      api: { url: 'https://api.zexa.ao', timeoutMs: 10_000 },
      poll: { intervalMs: 60_000, maxConcurrency: 8, maxAttempts: 3, maxRequestsPerSecond: undefined },
      thresholds: { warning: 1000, critical: 100 },
      accounts: [
        {
          name: 'default',
          key: { kind: 'env', variable: 'ZEXA_API_KEY' },
          thresholds: { warning: 1000, critical: 100 },
        },
      ],
      web: {
        listenAddress: ':10025',
        host: undefined,
        port: 10025,
        configFile: undefined,
        maxConnections: 512,
        maxConnectionsPerAddress: 64,
      },
      log: { level: 'info' },
      check: { timeoutMs: 30_000 },
      shard: undefined,
      configFile: undefined,
    } satisfies Config);
    expect(config.api.url).toBe(DEFAULTS.api.url);
    expect(config.poll.intervalMs).toBe(DEFAULTS.poll.intervalMs);
  });

  it('never stores a key in the Config', () => {
    const config = load(['--config.file', join(GOOD, 'full.yml')], {
      ZEXA_API_KEY: KEY,
      ZEXA_STAGING_KEY: 'zxtest_G7hJ3kL9mN2p',
    });
    const text = JSON.stringify(config);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('zxtest_');
  });

  it('reads every setting of the YAML file, with paths relative to the file', () => {
    const file = join(GOOD, 'full.yml');
    const config = load(['--config.file', file], { ZEXA_STAGING_KEY: 'zxtest_G7hJ3kL9mN2p' });
    expect(config).toEqual({
      api: { url: 'http://127.0.0.1:8080/zexa', timeoutMs: 5_000 },
      poll: { intervalMs: 120_000, maxConcurrency: 16, maxAttempts: 4, maxRequestsPerSecond: 50 },
      thresholds: { warning: 3000, critical: 300 },
      accounts: [
        {
          name: 'production',
          key: { kind: 'file', path: join(KEYS, 'production'), origin: `accounts[0].apiKeyFile in ${file}` },
          thresholds: { warning: 5000, critical: 500 },
        },
        // Per-account thresholds fall back field by field to the global ones.
        {
          name: 'staging',
          key: { kind: 'env', variable: 'ZEXA_STAGING_KEY' },
          thresholds: { warning: 3000, critical: 50 },
        },
        {
          name: 'alpha',
          key: { kind: 'file', path: join(KEYS, 'dir', 'alpha'), origin: `accounts[2].fromDirectory in ${file}` },
          thresholds: { warning: 2000, critical: 300 },
        },
        {
          name: 'beta',
          key: { kind: 'file', path: join(KEYS, 'dir', 'beta'), origin: `accounts[2].fromDirectory in ${file}` },
          thresholds: { warning: 2000, critical: 300 },
        },
      ],
      web: {
        listenAddress: '127.0.0.1:9999',
        host: '127.0.0.1',
        port: 9999,
        configFile: join(GOOD, 'web.yml'),
        maxConnections: 100,
        maxConnectionsPerAddress: 64,
      },
      log: { level: 'debug' },
      check: { timeoutMs: 45_000 },
      shard: { index: 1, count: 3 },
      configFile: file,
    } satisfies Config);
  });

  it('accepts a config file of comments only', () => {
    const config = load(['--config.file', join(GOOD, 'empty.yml')], { ZEXA_API_KEY: KEY });
    expect(config.accounts.map((a) => a.name)).toEqual(['default']);
    expect(config.configFile).toBe(join(GOOD, 'empty.yml'));
  });

  it("reads check's --timeout as every other setting: flag > env > config file > default, bounds checked", () => {
    const file = join(GOOD, 'full.yml');
    const env = { ZEXA_STAGING_KEY: 'zxtest_G7hJ3kL9mN2p' };
    expect(load([], { ZEXA_API_KEY: KEY }).check.timeoutMs).toBe(30_000);
    expect(load(['--config.file', file], env).check.timeoutMs).toBe(45_000);
    expect(load(['--config.file', file], { ...env, ZEXA_CHECK_TIMEOUT: '20s' }).check.timeoutMs).toBe(20_000);
    expect(load(['--config.file', file, '--timeout=5s'], { ...env, ZEXA_CHECK_TIMEOUT: '20s' }).check.timeoutMs).toBe(
      5_000,
    );
    expect(load(['--timeout', '90'], { ZEXA_API_KEY: KEY }).check.timeoutMs).toBe(90_000);
    expect(() => load(['--timeout=500ms'], { ZEXA_API_KEY: KEY })).toThrow(
      /--timeout: "500ms" is too short \(at least 1s\)/,
    );
    expect(() => load([], { ZEXA_API_KEY: KEY, ZEXA_CHECK_TIMEOUT: 'soon' })).toThrow(
      /ZEXA_CHECK_TIMEOUT: "soon" is not a duration/,
    );
  });

  it('applies flag > env > config file > default', () => {
    const file = join(GOOD, 'full.yml');
    const env = { ZEXA_STAGING_KEY: 'zxtest_G7hJ3kL9mN2p' };
    const withFlag = load(
      [
        '--config.file',
        file,
        '--log.level',
        'error',
        '--web.listen-address=[::1]:9100',
        '--shard=0/2',
        '--web.config.file=/etc/w.yml',
        '--web.max-connections=20',
      ],
      {
        ...env,
        ZEXA_EXPORTER_LOG_LEVEL: 'warn',
        ZEXA_EXPORTER_LISTEN_ADDRESS: ':9200',
        ZEXA_SHARD: '1/2',
        ZEXA_EXPORTER_WEB_CONFIG: '/etc/env.yml',
        ZEXA_EXPORTER_WEB_MAX_CONNECTIONS: '30',
      },
    );
    expect(withFlag.log.level).toBe('error');
    expect(withFlag.web).toEqual({
      listenAddress: '[::1]:9100',
      host: '::1',
      port: 9100,
      configFile: '/etc/w.yml',
      maxConnections: 20,
      maxConnectionsPerAddress: 64,
    });
    expect(withFlag.shard).toEqual({ index: 0, count: 2 });

    const withEnv = load(['--config.file', file], {
      ...env,
      ZEXA_EXPORTER_LOG_LEVEL: 'warn',
      ZEXA_EXPORTER_LISTEN_ADDRESS: ':9200',
      ZEXA_EXPORTER_WEB_MAX_CONNECTIONS: '30',
      ZEXA_POLL_INTERVAL: '90',
      ZEXA_REQUEST_TIMEOUT: '30s',
      ZEXA_MAX_CONCURRENCY: '2',
      ZEXA_MAX_ATTEMPTS: '1',
      ZEXA_MAX_REQUESTS_PER_SECOND: '2.5',
      ZEXA_API_URL: 'https://eu.api.zexa.ao/',
      ZEXA_CREDITS_WARNING_THRESHOLD: '700',
      ZEXA_CREDITS_CRITICAL_THRESHOLD: '70',
    });
    expect(withEnv.log.level).toBe('warn');
    expect(withEnv.web.port).toBe(9200);
    expect(withEnv.web.maxConnections).toBe(30);
    expect(withEnv.web.host).toBeUndefined();
    expect(withEnv.api).toEqual({ url: 'https://eu.api.zexa.ao', timeoutMs: 30_000 });
    expect(withEnv.poll).toEqual({ intervalMs: 90_000, maxConcurrency: 2, maxAttempts: 1, maxRequestsPerSecond: 2.5 });
    expect(withEnv.thresholds).toEqual({ warning: 700, critical: 70 });
    // An account's own thresholds beat the global ones, whatever their source.
    expect(withEnv.accounts.find((a) => a.name === 'production')?.thresholds).toEqual({ warning: 5000, critical: 500 });
    expect(withEnv.accounts.find((a) => a.name === 'staging')?.thresholds).toEqual({ warning: 700, critical: 50 });

    const fromFile = load(['--config.file', file], env);
    expect(fromFile.log.level).toBe('debug');
    expect(fromFile.web.port).toBe(9999);

    const defaults = load([], { ZEXA_API_KEY: KEY });
    expect(defaults.log.level).toBe('info');
    expect(defaults.web.port).toBe(10025);
  });

  it('takes the config file from ZEXA_EXPORTER_CONFIG', () => {
    const file = join(GOOD, 'full.yml');
    const config = load([], { ZEXA_EXPORTER_CONFIG: file, ZEXA_STAGING_KEY: 'zxtest_G7hJ3kL9mN2p' });
    expect(config.configFile).toBe(file);
    expect(config.accounts).toHaveLength(4);
  });

  it('lower-cases account names from ZEXA_API_KEY_<NAME>, default first, then by name', () => {
    const config = load([], {
      ZEXA_API_KEY_STAGING_BACKEND: KEY,
      ZEXA_API_KEY_PROD_FILE: join(KEYS, 'production'),
      ZEXA_API_KEY: KEY,
      ZEXA_API_KEY_A1: KEY,
      UNRELATED: 'x',
    });
    expect(config.accounts).toEqual([
      { name: 'default', key: { kind: 'env', variable: 'ZEXA_API_KEY' }, thresholds: { warning: 1000, critical: 100 } },
      { name: 'a1', key: { kind: 'env', variable: 'ZEXA_API_KEY_A1' }, thresholds: { warning: 1000, critical: 100 } },
      {
        name: 'prod',
        key: { kind: 'file', path: join(KEYS, 'production'), origin: 'ZEXA_API_KEY_PROD_FILE' },
        thresholds: { warning: 1000, critical: 100 },
      },
      {
        name: 'staging_backend',
        key: { kind: 'env', variable: 'ZEXA_API_KEY_STAGING_BACKEND' },
        thresholds: { warning: 1000, critical: 100 },
      },
    ]);
  });

  it('gives a variable named by apiKeyEnv to that account only, so no key is polled twice', () => {
    const files = memoryFiles({ '/c.yml': 'accounts:\n  - name: main\n    apiKeyEnv: ZEXA_API_KEY_MAIN_EU\n' });
    const config = load(['--config.file=/c.yml'], { ZEXA_API_KEY_MAIN_EU: KEY }, files);
    expect(config.accounts.map((a) => [a.name, a.key])).toEqual([
      ['main', { kind: 'env', variable: 'ZEXA_API_KEY_MAIN_EU' }],
    ]);
  });

  it('shrinks the default timeout to a short interval, but not a timeout someone set', () => {
    expect(load([], { ZEXA_API_KEY: KEY, ZEXA_POLL_INTERVAL: '5s' }).api.timeoutMs).toBe(5_000);
    expect(load([], { ZEXA_API_KEY: KEY, ZEXA_POLL_INTERVAL: '5s', ZEXA_REQUEST_TIMEOUT: '5s' }).api.timeoutMs).toBe(
      5_000,
    );
  });

  it('finds --help / -h / --version anywhere before `--`, whatever else is wrong', () => {
    expect(helpOrVersion(['--help'])).toBe('help');
    expect(helpOrVersion(['--bogus', '-h'])).toBe('help');
    expect(helpOrVersion(['--version'])).toBe('version');
    expect(helpOrVersion(['--web.listen-address=:1'])).toBeUndefined();
    expect(helpOrVersion(['--', '--help'])).toBeUndefined();
    // After `--` nothing is a flag.
    expect(problemsOf(['--', '--help'], { ZEXA_API_KEY: KEY })).toEqual([
      '1 positional argument given, but zexa-exporter takes none (not shown, in case it is a key; settings are --flags or environment variables, see --help)',
    ]);
  });
});

describe('fromDirectory with a Kubernetes secret volume layout', () => {
  let root: string;
  let secrets: string;

  /** What the kubelet does: write a new timestamped dir, then atomically swap the ..data link. */
  function publish(version: string, keys: Record<string, string>): void {
    const dir = join(secrets, `..${version}`);
    mkdirSync(dir);
    for (const [name, key] of Object.entries(keys)) writeFileSync(join(dir, name), key);
    symlinkSync(`..${version}`, join(secrets, '..data_tmp'));
    renameSync(join(secrets, '..data_tmp'), join(secrets, '..data'));
    for (const name of Object.keys(keys)) {
      try {
        symlinkSync(join('..data', name), join(secrets, name));
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
      }
    }
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'zexa-config-k8s-'));
    secrets = join(root, 'secrets');
    mkdirSync(secrets);
    publish('2024_01_01_00_00_00.000000001', { production: 'zxtest_K1aB2cD3eF4g\n', staging: 'zxtest_K5hI6jK7lM8n' });
    mkdirSync(join(secrets, 'subdir'));
    writeFileSync(
      join(root, 'config.yml'),
      'accounts:\n  - fromDirectory: secrets\n    thresholds: { warning: 2000 }\n',
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes one account per visible file, skipping dot entries and directories', () => {
    const config = load(['--config.file', join(root, 'config.yml')], {});
    expect(config.accounts).toEqual([
      {
        name: 'production',
        key: {
          kind: 'file',
          path: join(secrets, 'production'),
          origin: `accounts[0].fromDirectory in ${join(root, 'config.yml')}`,
        },
        thresholds: { warning: 2000, critical: 100 },
      },
      {
        name: 'staging',
        key: {
          kind: 'file',
          path: join(secrets, 'staging'),
          origin: `accounts[0].fromDirectory in ${join(root, 'config.yml')}`,
        },
        thresholds: { warning: 2000, critical: 100 },
      },
    ]);
  });

  it('reports a dangling link by its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-dangling-'));
    try {
      mkdirSync(join(dir, 'keys'));
      writeFileSync(join(dir, 'keys', 'ok'), 'zxtest_D1eF2gH3iJ4k\n');
      symlinkSync(join('..data', 'gone'), join(dir, 'keys', 'gone'));
      writeFileSync(join(dir, 'c.yml'), 'accounts:\n  - fromDirectory: keys\n');
      expect(problemsOf(['--config.file', join(dir, 'c.yml')], {})).toEqual([
        `key file ${join(dir, 'keys', 'gone')} of account "gone" (from accounts[0].fromDirectory in ${join(dir, 'c.yml')}) does not exist`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows the symlinks and picks up a rotated secret at the next read', () => {
    const config = load(['--config.file', join(root, 'config.yml')], {});
    const production = config.accounts[0] as AccountConfig;
    expect(readAccountKey(production, {}, readFileBounded)).toBe('zxtest_K1aB2cD3eF4g');
    publish('2024_02_01_00_00_00.000000002', { production: 'zxtest_R9sT8uV7wX6y\n', staging: 'zxtest_K5hI6jK7lM8n' });
    expect(readAccountKey(production, {}, readFileBounded)).toBe('zxtest_R9sT8uV7wX6y');
  });
});

describe('readAccountKey', () => {
  const fileAccount = (path: string): AccountConfig => ({
    name: 'production',
    key: { kind: 'file', path, origin: 'ZEXA_API_KEY_PRODUCTION_FILE' },
    thresholds: { warning: 1000, critical: 100 },
  });
  const envAccount: AccountConfig = {
    name: 'staging',
    key: { kind: 'env', variable: 'ZEXA_API_KEY_STAGING' },
    thresholds: { warning: 1000, critical: 100 },
  };

  it('strips exactly one trailing newline, \\n or \\r\\n', () => {
    expect(readAccountKey(fileAccount(join(KEYS, 'production')), {}, readFileBounded)).toBe('zxtest_P7qM2vL9dR4t');
    expect(readAccountKey(fileAccount(join(KEYS, 'staging')), {}, readFileBounded)).toBe('zxtest_S3kW8nB1xF6j');
    expect(readAccountKey(fileAccount('/k'), {}, () => 'zxtest_noNewline1')).toBe('zxtest_noNewline1');
    expect(() => readAccountKey(fileAccount('/k'), {}, () => 'zxtest_twoNewlines\n\n')).toThrow(KeyUnavailableError);
    expect(() => readAccountKey(fileAccount('/k'), {}, () => '\n')).toThrow(
      'key file /k of account "production" (from ZEXA_API_KEY_PRODUCTION_FILE) is empty',
    );
  });

  it('reads the file again at every call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-key-'));
    try {
      const path = join(dir, 'key');
      writeFileSync(path, 'zxtest_first000001\n');
      const account = fileAccount(path);
      expect(readAccountKey(account, {}, readFileBounded)).toBe('zxtest_first000001');
      writeFileSync(path, 'zxtest_second00002\n');
      expect(readAccountKey(account, {}, readFileBounded)).toBe('zxtest_second00002');
      rmSync(path);
      expect(() => readAccountKey(account, {}, readFileBounded)).toThrow(
        `key file ${path} of account "production" (from ZEXA_API_KEY_PRODUCTION_FILE) does not exist`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the variable or file, never the key', () => {
    const cases: [AccountConfig, Env, (p: string) => string, string][] = [
      [
        envAccount,
        {},
        readFileBounded,
        'environment variable ZEXA_API_KEY_STAGING (key of account "staging") is not set',
      ],
      [
        envAccount,
        { ZEXA_API_KEY_STAGING: 'zxtest_has\ttab00' },
        readFileBounded,
        'environment variable ZEXA_API_KEY_STAGING (key of account "staging") contains whitespace, control or non-ASCII characters',
      ],
      [
        envAccount,
        { ZEXA_API_KEY_STAGING: 'zxtest_ünïcode00' },
        readFileBounded,
        'environment variable ZEXA_API_KEY_STAGING (key of account "staging") contains whitespace, control or non-ASCII characters',
      ],
      [
        fileAccount('/k'),
        {},
        () => 'x'.repeat(5000),
        'key file /k of account "production" (from ZEXA_API_KEY_PRODUCTION_FILE) is longer than 4096 characters; it does not hold just a key',
      ],
      [
        fileAccount('/k'),
        {},
        () => {
          throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        },
        'key file /k of account "production" (from ZEXA_API_KEY_PRODUCTION_FILE) cannot be read (permission denied)',
      ],
    ];
    for (const [account, env, readFile, message] of cases) {
      let caught: unknown;
      try {
        readAccountKey(account, env, readFile);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(KeyUnavailableError);
      expect((caught as KeyUnavailableError).message).toBe(message);
      expect((caught as KeyUnavailableError).reason).toBe('key_unavailable');
    }
  });
});

describe('keyFingerprint', () => {
  it('is the first 12 hex digits of SHA-256, stable across calls', () => {
    // FIPS 180-2 test vector: SHA-256("abc") = ba7816bf8f01cfea...
    expect(keyFingerprint('abc')).toBe('ba7816bf8f01');
    expect(keyFingerprint(KEY)).toBe(createHash('sha256').update(KEY).digest('hex').slice(0, 12));
    expect(keyFingerprint(KEY)).toBe(keyFingerprint(KEY));
    expect(keyFingerprint(KEY)).not.toBe(keyFingerprint(`${KEY}x`));
    expect(keyFingerprint(KEY)).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('value parsers', () => {
  it('parseDuration', () => {
    const good: [string, number][] = [
      ['90', 90_000],
      ['2.5', 2_500],
      ['30s', 30_000],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['1h30m', 5_400_000],
      ['500ms', 500],
      ['1m30s500ms', 90_500],
      ['1d', 86_400_000],
      ['0s', 0],
    ];
    for (const [text, ms] of good) expect(parseDuration(text), text).toBe(ms);
    for (const text of [
      '',
      ' 5s',
      '5s ',
      '5 s',
      '5x',
      '-5s',
      '+5s',
      's',
      '1h1h',
      '30m1h',
      '5sm',
      '1e3',
      'abc',
      '0x10',
      '5S',
    ]) {
      expect(() => parseDuration(text), text).toThrow(
        `${JSON.stringify(text)} is not a duration (expected e.g. 90, 30s, 5m)`,
      );
    }
    expect(() => parseDuration(`${'9'.repeat(400)}`)).toThrow('is too long a duration');
  });

  it('formatDurationMs writes the unit a person would', () => {
    expect([500, 1_000, 10_000, 60_000, 90_000, 300_000, 5_400_000, 86_400_000].map(formatDurationMs)).toEqual([
      '500ms',
      '1s',
      '10s',
      '60s',
      '90s',
      '5m',
      '90m',
      '24h',
    ]);
  });

  it('parseListenAddress', () => {
    expect(parseListenAddress(':10025')).toEqual({ host: undefined, port: 10025 });
    expect(parseListenAddress('0.0.0.0:10025')).toEqual({ host: '0.0.0.0', port: 10025 });
    expect(parseListenAddress('[::1]:10025')).toEqual({ host: '::1', port: 10025 });
    expect(parseListenAddress('[::]:0')).toEqual({ host: '::', port: 0 });
    expect(parseListenAddress('localhost:9000')).toEqual({ host: 'localhost', port: 9000 });
    expect(parseListenAddress('exporter.example.com:80')).toEqual({ host: 'exporter.example.com', port: 80 });
    for (const text of [
      '',
      '10025',
      'localhost',
      ':',
      ':-1',
      ':65536',
      ':port',
      '::1:10025',
      '[::1]',
      '[not-ipv6]:80',
      'a b:80',
      '-bad-:80',
    ]) {
      expect(() => parseListenAddress(text), text).toThrow(JSON.stringify(text));
    }
  });

  it('parseShard', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('1/2')).toEqual({ index: 1, count: 2 });
    expect(parseShard('1023/1024')).toEqual({ index: 1023, count: 1024 });
    for (const text of ['', '1', '1/', '/2', '2/2', '3/2', '0/0', '0/1025', '-1/2', '1.5/2', 'a/b', ' 0/2', '0/2/4']) {
      expect(() => parseShard(text), text).toThrow(JSON.stringify(text));
    }
  });
});

describe('usage', () => {
  it('lists every flag and environment variable with its default', () => {
    const text = usage();
    for (const flag of [
      '--web.listen-address',
      '--web.config.file',
      '--log.level',
      '--config.file',
      '--shard',
      '--timeout',
      '--help',
      '--version',
    ]) {
      expect(text).toContain(flag);
    }
    const envWithDefaults: [string, string][] = [
      ['ZEXA_EXPORTER_LISTEN_ADDRESS', 'default :10025'],
      ['ZEXA_EXPORTER_WEB_CONFIG', 'default none'],
      ['ZEXA_EXPORTER_LOG_LEVEL', 'default info'],
      ['ZEXA_EXPORTER_CONFIG', 'default none'],
      ['ZEXA_SHARD', 'default none'],
      ['ZEXA_API_URL', 'default https://api.zexa.ao'],
      ['ZEXA_POLL_INTERVAL', 'default 60s'],
      // The default follows a shorter poll interval, and says so.
      ['ZEXA_REQUEST_TIMEOUT', 'default 10s, or the poll interval when that is shorter'],
      ['ZEXA_CHECK_TIMEOUT', 'default 30s'],
      ['ZEXA_MAX_ATTEMPTS', 'default 3'],
      ['ZEXA_MAX_CONCURRENCY', 'default 8'],
      ['ZEXA_MAX_REQUESTS_PER_SECOND', 'default none'],
      ['ZEXA_CREDITS_WARNING_THRESHOLD', 'default 1000'],
      ['ZEXA_CREDITS_CRITICAL_THRESHOLD', 'default 100'],
    ];
    const lines = text.split('\n');
    for (const [env, dflt] of envWithDefaults) {
      const at = lines.findIndex((l) => l.includes(env));
      expect(at, env).toBeGreaterThanOrEqual(0);
      // The default is on the variable's own line or within its entry (the next two lines).
      expect(lines.slice(at, at + 3).join('\n'), env).toContain(dflt);
    }
    for (const env of [
      'ZEXA_API_KEY ',
      'ZEXA_API_KEY_FILE',
      'ZEXA_API_KEY_<NAME>',
      'ZEXA_API_KEY_<NAME>_FILE',
      'npm run demo',
    ])
      expect(text).toContain(env);
  });
});

describe('readFileBounded', () => {
  it('refuses files and devices larger than 1 MiB without reading them whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-big-'));
    try {
      const big = join(dir, 'big');
      writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x61));
      expect(() => readFileBounded(big)).toThrow(expect.objectContaining({ code: 'EFBIG' }));
      writeFileSync(big, Buffer.alloc(1024 * 1024, 0x61));
      expect(readFileBounded(big)).toHaveLength(1024 * 1024);
      expect(() => readFileBounded(dir)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // An endless device is not a regular file: refused before a byte is read (issue 12 D1, D3).
    expect(() => readFileBounded('/dev/zero')).toThrow(expect.objectContaining({ code: 'ENOTREG' }));
  });

  it('reads files larger than its reused buffer whole, and never returns bytes of an earlier read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-reuse-'));
    try {
      // 200 KB of text with a 3-byte character straddling each 64 KiB boundary of the read buffer.
      const unit = 'é€accounts: [] # ';
      const long = unit.repeat(Math.ceil((200 * 1024) / Buffer.byteLength(unit)));
      const longFile = join(dir, 'long.yml');
      writeFileSync(longFile, long);
      const shortFile = join(dir, 'short');
      writeFileSync(shortFile, 'zxtest_short00001\n');
      const emptyFile = join(dir, 'empty');
      writeFileSync(emptyFile, '');
      expect(readFileBounded(longFile)).toBe(long);
      expect(readFileBounded(shortFile)).toBe('zxtest_short00001\n');
      expect(readFileBounded(emptyFile)).toBe('');
      expect(readFileBounded(longFile)).toBe(long);
      // Exactly one buffer's worth, then one byte more.
      const exact = join(dir, 'exact');
      writeFileSync(exact, Buffer.alloc(64 * 1024, 0x62));
      expect(readFileBounded(exact)).toBe('b'.repeat(64 * 1024));
      writeFileSync(exact, Buffer.alloc(64 * 1024 + 1, 0x63));
      expect(readFileBounded(exact)).toBe('c'.repeat(64 * 1024 + 1));
      expect(readFileBounded(shortFile)).toBe('zxtest_short00001\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('no error message ever contains a key', () => {
  /** Random keys, with upper case and digits like real ones, so no text contains them by chance. */
  const makeKey = (): string => `Zx${randomBytes(18).toString('base64url')}`;
  const slices = (key: string): string[] => Array.from({ length: key.length - 7 }, (_, i) => key.slice(i, i + 8));

  it('holds for every failing path of loadConfig', () => {
    const key = makeKey();
    const other = makeKey();
    const dir = mkdtempSync(join(tmpdir(), 'zexa-config-leak-'));
    try {
      const keyFile = join(dir, 'key');
      writeFileSync(keyFile, `${key}\n`);
      const badKeyFile = join(dir, 'bad-key');
      writeFileSync(badKeyFile, `${other}\n\n${key}\n`);
      const yaml = (name: string, text: string): string => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      const literal = yaml('literal.yml', `accounts:\n  - name: prod\n    apiKey: ${key}\n    key: "${other}"\n`);
      const keyAsField = yaml('field.yml', `${key}: 1\npoll:\n  ${other}: 2\n`);
      const keyAsValue = yaml('value.yml', `log: { level: ${key} }\nshard: ${key}\n`);
      const badSyntax = yaml('syntax.yml', `api: { url: "${key}\n`);
      const tagged = yaml('tag.yml', `log: !${key} x\n`);

      const runs: [string[], Env][] = [
        [
          [
            `--api-key=${key}`,
            '--zexa.api-key',
            key,
            '--key',
            key,
            `--token=${key}`,
            key,
            `--${key}`,
            `--${key}=${other}`,
            '--',
            key,
          ],
          { ZEXA_API_KEY: key },
        ],
        [[], { ZEXA_API_KEY: `${key} ${other}` }],
        [[], { ZEXA_API_KEY: `${key}\n` }],
        [[], { ZEXA_API_KEY_FILE: badKeyFile }],
        [[], { ZEXA_API_KEY: key, ZEXA_API_KEY_FILE: keyFile }],
        [
          [],
          {
            ZEXA_API_KEY_PROD: key,
            ZEXA_API_KEY_prod: other,
            'ZEXA_API_KEY_BAD-NAME': key,
            ZEXA_API_KEYS: key,
            ZEXA_API_KEY_FILE_FILE: key,
          },
        ],
        [[], { ZEXA_API_KEY: key, ZEXA_API_URL: `https://user:${key}@api.zexa.ao`, ZEXA_POLL_INTERVAL: key }],
        [[], { ZEXA_API_KEY: key, ZEXA_API_URL: `https://api.zexa.ao/?key=${key}` }],
        [[], { ZEXA_API_KEY: key, ZEXA_API_URL: `${key}@?` }],
        [
          [],
          {
            ZEXA_API_KEY: key,
            ZEXA_EXPORTER_LOG_LEVEL: key,
            ZEXA_SHARD: other,
            ZEXA_MAX_CONCURRENCY: key,
            ZEXA_API_KEY_OTHER: other,
          },
        ],
        [['--config.file', keyFile], { ZEXA_API_KEY: key }],
        [['--config.file', keyFile], {}],
        [['--config.file', literal], { ZEXA_API_KEY_X: other }],
        [['--config.file', keyAsField], { ZEXA_API_KEY: key, ZEXA_API_KEY_OTHER: other }],
        [['--config.file', keyAsValue], { ZEXA_API_KEY: key }],
        [['--config.file', badSyntax], {}],
        [['--config.file', tagged], {}],
        [
          [
            '--config.file',
            yaml('dup.yml', `accounts:\n  - { name: a, apiKeyEnv: K1 }\n  - { name: a, apiKeyEnv: K2 }\n`),
          ],
          { K1: key, K2: `${other} x` },
        ],
      ];
      let failures = 0;
      for (const [argv, env] of runs) {
        let caught: unknown;
        try {
          loadConfig(nodeConfigSources(argv, env));
        } catch (error) {
          caught = error;
        }
        expect(caught, JSON.stringify(argv)).toBeInstanceOf(ConfigError);
        failures += 1;
        const error = caught as ConfigError;
        const text = [error.message, String(error.stack), ...error.problems].join('\n');
        for (const secret of [key, other]) {
          for (const slice of slices(secret))
            expect(text.includes(slice), `${JSON.stringify(argv)} leaked part of a key:\n${text}`).toBe(false);
        }
      }
      expect(failures).toBe(runs.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
