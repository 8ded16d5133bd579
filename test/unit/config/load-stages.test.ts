/**
 * Issue 15 "Configuration errors come in stages": a config file with nine problems reported six;
 * the duplicate name, the warning-below-critical threshold and the missing key file showed only
 * on a second run. Every problem that one pass can find is reported in one run.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigSources } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/config/errors.js';

/** Not a real key. */
const KEY = 'zxtest_Stages0000001';

const NINE_PROBLEMS = `poll:
  interval: 1s
  maxAtempts: 3
log:
  level: loud
thresholds:
  warning: -5
accounts:
  - name: production
    apiKeyFile: keys/production
  - name: production
    apiKeyEnv: KEY_B
  - name: staging
    apiKeyFile: keys/missing
  - name: billing
    apiKeyEnv: KEY_B
    thresholds: { warning: 10, critical: 50 }
  - name: Bad-Name
    apiKeyEnv: KEY_B
  - name: both
    apiKeyFile: keys/production
    apiKeyEnv: KEY_B
`;

function problemsOf(files: Record<string, string>, env: Record<string, string>): string[] {
  const sources: ConfigSources = {
    argv: ['--config.file=/etc/zexa/config.yml'],
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    readDir: (path) => {
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    },
  };
  try {
    loadConfig(sources);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('loadConfig accepted a broken file');
}

describe('config errors in one run', () => {
  it('reports all nine problems of a file at once, the account problems included', () => {
    const problems = problemsOf(
      { '/etc/zexa/config.yml': NINE_PROBLEMS, '/etc/zexa/keys/production': `${KEY}\n` },
      { KEY_B: KEY },
    );
    expect(problems).toEqual([
      '/etc/zexa/config.yml:2: poll.interval: "1s" is too short (at least 5s)',
      '/etc/zexa/config.yml:3: poll.maxAtempts: unknown field (expected one of interval, maxConcurrency, maxAttempts, maxRequestsPerSecond)',
      '/etc/zexa/config.yml:7: thresholds.warning: -5 is out of range (expected a number of credits >= 0)',
      '/etc/zexa/config.yml:18: accounts[4].name: "Bad-Name" is not a valid account name (expected 1 to 64 characters of a-z, 0-9 and _)',
      '/etc/zexa/config.yml:20: accounts[5]: has both apiKeyFile and apiKeyEnv; set only one',
      '/etc/zexa/config.yml:5: log.level: "loud" is not a log level (expected one of trace, debug, info, warn, error, fatal, silent)',
      'account "production" is defined twice: by /etc/zexa/config.yml:9: accounts[0] and by /etc/zexa/config.yml:11: accounts[1] (account names must be unique)',
      'key file /etc/zexa/keys/missing of account "staging" (from accounts[2].apiKeyFile in /etc/zexa/config.yml) does not exist',
      '/etc/zexa/config.yml:17: accounts[3].thresholds: warning threshold 10 (from accounts[3].thresholds.warning) is below the critical threshold 50 (from accounts[3].thresholds.critical); warning must be at least critical',
    ]);
  });

  it('names later entries by their own index when an earlier entry is refused', () => {
    // accounts[0] is refused and left out; the entries after it keep their numbers and lines.
    const file = [
      'accounts:',
      '  - name: Bad-Name',
      '    apiKeyEnv: KEY_B',
      '  - name: staging',
      '    apiKeyFile: keys/missing',
      '  - name: billing',
      '    apiKeyEnv: KEY_B',
      '    thresholds: { warning: 10, critical: 50 }',
      '',
    ].join('\n');
    expect(problemsOf({ '/etc/zexa/config.yml': file }, { KEY_B: KEY })).toEqual([
      '/etc/zexa/config.yml:2: accounts[0].name: "Bad-Name" is not a valid account name (expected 1 to 64 characters of a-z, 0-9 and _)',
      'key file /etc/zexa/keys/missing of account "staging" (from accounts[1].apiKeyFile in /etc/zexa/config.yml) does not exist',
      '/etc/zexa/config.yml:8: accounts[2].thresholds: warning threshold 10 (from accounts[2].thresholds.warning) is below the critical threshold 50 (from accounts[2].thresholds.critical); warning must be at least critical',
    ]);
  });

  it('does not compare a bad setting it already reported with a default', () => {
    // critical 2000 with a broken warning: one problem (the warning), not also "critical above the default warning".
    const file = 'thresholds:\n  warning: lots\n  critical: 2000\naccounts:\n  - name: a\n    apiKeyEnv: KEY_B\n';
    expect(problemsOf({ '/etc/zexa/config.yml': file }, { KEY_B: KEY })).toEqual([
      '/etc/zexa/config.yml:2: thresholds.warning: "lots" is not a number (expected a number of credits >= 0)',
    ]);
  });
});
