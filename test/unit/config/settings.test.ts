/**
 * The settings table against the real loader: every setting is reachable from its flag, its
 * variable and its config-file field exactly where the table says, and from nowhere else; and
 * --help, the generated docs/configuration.md and the loader agree on every default, the
 * request timeout's included.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { usage } from '../../../src/config/cli.js';
import { loadConfig } from '../../../src/config/load.js';
import { LIMITS } from '../../../src/config/limits.js';
import { defaultText, fileFields, SETTING_LIST, SETTINGS, type ListedSetting } from '../../../src/config/settings.js';
import type { Config, ConfigSources } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/config/errors.js';
import { memoryFiles } from '../../support/memory-files.js';
import { CONFIGURATION_PATH, text } from '../../../scripts/generate-configuration.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** A well-formed key for an account to exist. Not a real key. */
const KEY = 'zxtest_E5vR2nW8qT1y';
const CONFIG_PATH = '/etc/zexa-exporter/config.yml';
/** The file the configFile setting's example names, read when a test gives that setting. */
const EXAMPLE_FILE_TEXT = 'log: { level: warn }\n';

interface Given {
  argv?: string[];
  env?: Record<string, string>;
  /** The config file's content, read from CONFIG_PATH (named by the variable unless argv or env name a file). */
  file?: unknown;
}

function sources({ argv = [], env = {}, file }: Given): ConfigSources {
  const files: Record<string, string> = { [SETTINGS.configFile.example]: EXAMPLE_FILE_TEXT };
  const fullEnv: Record<string, string> = { ZEXA_API_KEY: KEY, ...env };
  if (file !== undefined) {
    files[CONFIG_PATH] = stringify(file);
    fullEnv[SETTINGS.configFile.env] ??= CONFIG_PATH;
  }
  return { argv, env: fullEnv, ...memoryFiles(files) };
}

function load(given: Given): Config {
  return loadConfig(sources(given));
}

function problemsOf(given: Given): string[] {
  try {
    load(given);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

/** `value` at `path` as YAML data: `{ poll: { interval: '30s' } }`. */
function nested(path: readonly string[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/** The Config with the setting given from each source the table names, by source. */
function configsBySource(setting: ListedSetting): Map<string, Config> {
  const bySource = new Map<string, Config>();
  if (setting.flag !== undefined) bySource.set('flag', load({ argv: [`--${setting.flag}=${setting.example}`] }));
  bySource.set('env', load({ env: { [setting.env]: setting.example } }));
  // The file's own path is in the Config too; the setting's effect is what is compared.
  if (setting.file !== undefined)
    bySource.set('file', { ...load({ file: nested(setting.file, setting.example) }), configFile: undefined });
  return bySource;
}

describe('the settings table', () => {
  it('has one variable, flag and config-file field per setting, each used once', () => {
    const seen = (values: (string | undefined)[]): string[] => values.filter((v): v is string => v !== undefined);
    for (const [what, values] of [
      ['env', seen(SETTING_LIST.map((s) => s.env))],
      ['flag', seen(SETTING_LIST.map((s) => s.flag))],
      ['file', SETTING_LIST.flatMap((s) => fileFields(s))],
    ] as const) {
      expect(new Set(values).size, what).toBe(values.length);
    }
    for (const setting of SETTING_LIST) {
      expect(setting.env, setting.key).toMatch(/^ZEXA_[A-Z_]+$/);
      expect(setting.help, setting.key).toMatch(/^\S.*\.$/);
      expect(setting.unit, setting.key).not.toBe('');
    }
  });

  it('reaches every setting from its flag, variable and config-file field, with the same effect', () => {
    const baseline = load({});
    for (const setting of SETTING_LIST) {
      const bySource = configsBySource(setting);
      expect(bySource.size, setting.key).toBe(
        1 + (setting.flag === undefined ? 0 : 1) + (setting.file === undefined ? 0 : 1),
      );
      const env = bySource.get('env') as Config;
      expect(env, `${setting.env}=${setting.example} changes nothing`).not.toEqual(baseline);
      for (const [source, config] of bySource) expect(config, `${setting.key} from ${source}`).toEqual(env);
    }
  });

  it('reaches a per-account setting from an account entry, for that account only', () => {
    for (const setting of SETTING_LIST.filter((s) => s.perAccount === true)) {
      const [section, field] = setting.file as [string, string];
      const account = { name: 'own', apiKeyEnv: 'ZEXA_TEST_OWN_KEY', [section]: { [field]: setting.example } };
      const config = loadConfig(sources({ env: { ZEXA_TEST_OWN_KEY: KEY }, file: { accounts: [account] } }));
      const own = config.accounts.find((a) => a.name === 'own');
      const other = config.accounts.find((a) => a.name === 'default');
      expect(own?.thresholds, setting.key).not.toEqual(other?.thresholds);
      expect(other?.thresholds, setting.key).toEqual(config.thresholds);
    }
  });

  it('reaches no setting from a flag or config-file field the table does not give it', () => {
    for (const setting of SETTING_LIST) {
      const name = setting.env
        .toLowerCase()
        .replace(/^zexa_(exporter_)?/, '')
        .replace(/_/g, '-');
      if (setting.flag === undefined)
        expect(problemsOf({ argv: [`--${name}=${setting.example}`] }), setting.key).toEqual([
          `unknown flag --${name} (see --help)`,
        ]);
      if (setting.file === undefined) {
        const problems = problemsOf({ file: { [setting.key]: setting.example } });
        expect(problems, setting.key).toHaveLength(1);
        expect(problems[0], setting.key).toContain(
          `${CONFIG_PATH}:1: ${setting.key}: unknown field (expected one of api, `,
        );
      }
    }
  });

  it('keeps the precedence flag > environment > file > default for every setting', () => {
    // The default's text is a valid value other than the example: where it loses, the example won.
    for (const setting of SETTING_LIST.filter((s) => s.default !== undefined && s.file !== undefined)) {
      const other = defaultText(setting).split(',')[0] as string;
      const file = nested(setting.file ?? [], other);
      const fromEnv = load({ env: { [setting.env]: setting.example } });
      expect(load({ env: { [setting.env]: setting.example }, file }), setting.key).toEqual({
        ...fromEnv,
        configFile: CONFIG_PATH,
      });
      if (setting.flag === undefined) continue;
      const fromFlag = load({ argv: [`--${setting.flag}=${setting.example}`] });
      expect(
        load({ argv: [`--${setting.flag}=${setting.example}`], env: { [setting.env]: other }, file }),
        setting.key,
      ).toEqual({ ...fromFlag, configFile: CONFIG_PATH });
    }
  });
});

describe('--help and docs/configuration.md', () => {
  const help = usage().split('\n');
  const page = readFileSync(join(ROOT, CONFIGURATION_PATH), 'utf8').split('\n');

  /** The lines of a setting's --help entry: its flag or variable, its help, then sources and default. */
  function helpEntry(setting: ListedSetting): string[] {
    const first = setting.flag === undefined ? `  ${setting.env}` : `  --${setting.flag}=VALUE`;
    const at = help.indexOf(first);
    expect(at, `--help has no entry ${first.trim()}`).toBeGreaterThanOrEqual(0);
    return help.slice(at, at + 3).map((line) => line.trim());
  }

  it('say the same of every setting: variable, flag, config-file field, default and help', () => {
    for (const setting of SETTING_LIST) {
      const [, helpText, sourcesLine] = helpEntry(setting);
      expect(helpText, setting.key).toBe(setting.help);
      expect(sourcesLine, setting.key).toContain(`default ${defaultText(setting)}`);
      if (setting.flag !== undefined) expect(sourcesLine, setting.key).toContain(`env ${setting.env};`);
      for (const field of fileFields(setting)) expect(sourcesLine, setting.key).toContain(field);
      const row = page.find((line) => line.startsWith(`| \`${setting.env}\` |`));
      expect(row, `${CONFIGURATION_PATH} has no row for ${setting.env}`).toBeDefined();
      // The page's cells say what --help prints.
      expect(row, setting.key).toContain(` | ${text(defaultText(setting))} | `);
      expect(row, setting.key).toContain(` | ${text(setting.help)} |`);
    }
  });

  it('state the request timeout default the loader uses: 10s, or the poll interval when that is shorter', () => {
    const timeout = SETTING_LIST.find((s) => s.key === 'timeout') as ListedSetting;
    const stated = '10s, or the poll interval when that is shorter';
    expect(defaultText(timeout)).toBe(stated);
    expect(helpEntry(timeout)[2]).toContain(`default ${stated}`);
    expect(page.find((line) => line.startsWith('| `ZEXA_REQUEST_TIMEOUT` |'))).toContain(`| ${stated} |`);
    expect(load({}).api.timeoutMs).toBe(10_000);
    expect(load({ env: { ZEXA_POLL_INTERVAL: '30s' } }).api.timeoutMs).toBe(10_000);
    expect(load({ env: { ZEXA_POLL_INTERVAL: `${LIMITS.intervalMs.min / 1000}s` } }).api.timeoutMs).toBe(
      LIMITS.intervalMs.min,
    );
    expect(load({ file: { poll: { interval: '7s' } } }).api.timeoutMs).toBe(7_000);
  });
});
