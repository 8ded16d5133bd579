/**
 * Poll limits come into loadConfig as a dependency (issue 11): the product's floors hold for
 * everyone who does not pass other limits, and tests that poll faster pass them instead of
 * changing a loaded Config afterwards.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/config/defaults.js';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigSources } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/config/errors.js';
import { TEST_LIMITS } from '../../support/test-limits.js';

const KEY = 'zx_limits_test_key_0001';

function sources(env: Record<string, string>, file?: string): ConfigSources {
  return {
    argv: file === undefined ? [] : [`--config.file=${file}`],
    env: { ZEXA_API_KEY: KEY, ...env },
    readFile: (p) => (p === file ? 'poll:\n  interval: 400ms\napi:\n  timeout: 300ms\n' : ''),
    readDir: () => [],
  };
}

function problems(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig limits', () => {
  it('keeps the product floors without limits', () => {
    expect(problems(() => loadConfig(sources({ ZEXA_POLL_INTERVAL: '400ms', ZEXA_REQUEST_TIMEOUT: '300ms' })))).toEqual(
      [
        'ZEXA_REQUEST_TIMEOUT: "300ms" is too short (at least 1s)',
        'ZEXA_POLL_INTERVAL: "400ms" is too short (at least 5s)',
      ],
    );
    expect(problems(() => loadConfig(sources({}, 'c.yml')))).toEqual([
      'c.yml:4: api.timeout: "300ms" is too short (at least 1s)',
      'c.yml:2: poll.interval: "400ms" is too short (at least 5s)',
    ]);
    expect(problems(() => loadConfig(sources({ ZEXA_POLL_INTERVAL: '5s', ZEXA_REQUEST_TIMEOUT: '6s' })))).toEqual([
      'ZEXA_REQUEST_TIMEOUT: request timeout 6s is longer than the poll interval 5s (from ZEXA_POLL_INTERVAL); the timeout must be at most the interval',
    ]);
  });

  it('takes lower bounds from the environment and the config file when given them', () => {
    const fromEnv = loadConfig(sources({ ZEXA_POLL_INTERVAL: '400ms', ZEXA_REQUEST_TIMEOUT: '2s' }), {
      limits: TEST_LIMITS,
    });
    expect([fromEnv.poll.intervalMs, fromEnv.api.timeoutMs]).toEqual([400, 2000]);
    const fromFile = loadConfig(sources({}, 'c.yml'), { limits: TEST_LIMITS });
    expect([fromFile.poll.intervalMs, fromFile.api.timeoutMs]).toEqual([400, 300]);
  });

  it('applies the upper bounds of the limits given', () => {
    const limits = { ...LIMITS, intervalMs: { min: 100, max: 1000 } };
    expect(
      problems(() => loadConfig(sources({ ZEXA_POLL_INTERVAL: '2s', ZEXA_REQUEST_TIMEOUT: '1s' }), { limits })),
    ).toEqual(['ZEXA_POLL_INTERVAL: "2s" is too long (at most 1s)']);
  });
});

describe('tests load their Config, they do not change it', () => {
  it('no test assigns a poll interval or request timeout to a loaded Config', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const offenders: string[] = [];
    for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const file = path.join(entry.parentPath, entry.name);
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\.(poll\.intervalMs|api\.timeoutMs)\s*=(?!=)/.test(line))
            offenders.push(`${path.relative(root, file)}:${i + 1}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
