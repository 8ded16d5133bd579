/**
 * The command line on node:util parseArgs (issue 11): the cases where parseArgs on its own reads
 * an argument list differently from the exporter's rules. config.test.ts pins the messages.
 */
import { describe, expect, it } from 'vitest';
import { helpOrVersion, parseCommandLine } from '../../../src/config/cli.js';

const KEY = 'zx_live_9F8e7D6c5B4a39281706';
const POSITIONALS = (n: number): string =>
  `${n} positional argument${n === 1 ? '' : 's'} given, but zexa-exporter takes none ` +
  '(not shown, in case it is a key; settings are --flags or environment variables, see --help)';

function parse(argv: string[]): { flags: Record<string, string>; problems: string[] } {
  const { flags, problems } = parseCommandLine(argv);
  return { flags: Object.fromEntries([...flags].map(([name, { value }]) => [name, value])), problems };
}

describe('parseCommandLine', () => {
  it('takes --flag VALUE and --flag=VALUE, a value starting with a dash only after =', () => {
    expect(parse(['--log.level', 'debug', '--shard=-1/2'])).toEqual({
      flags: { 'log.level': 'debug', shard: '-1/2' },
      problems: [],
    });
  });

  it('does not take the next flag, or --, as a value (a declared parseArgs string option would)', () => {
    expect(parse(['--log.level', '--shard', '1/2'])).toEqual({
      flags: { shard: '1/2' },
      problems: ['--log.level needs a value (--log.level=VALUE or --log.level VALUE)'],
    });
    expect(parse(['--log.level', '--', 'debug'])).toEqual({
      flags: {},
      problems: ['--log.level needs a value (--log.level=VALUE or --log.level VALUE)', POSITIONALS(1)],
    });
  });

  it('judges a single-dash argument whole, even with a dash inside (parseArgs would end the options there)', () => {
    expect(parse(['-a-b', '--log.level', 'debug'])).toEqual({
      flags: { 'log.level': 'debug' },
      problems: ['unknown flag -a-b (see --help)'],
    });
    expect(parse(['-x-y', '--shard', '0/2', 'stray'])).toEqual({
      flags: { shard: '0/2' },
      problems: ['unknown flag -x-y (see --help)', POSITIONALS(1)],
    });
    expect(parse(['-x-', '-h'])).toEqual({
      flags: {},
      problems: ['unknown flag (name not shown, in case it is a key) (see --help)', 'unknown flag -h (see --help)'],
    });
  });

  it('refuses a key flag and swallows its value without echoing either, in every spelling', () => {
    for (const argv of [['--api-key', KEY], [`--api-key=${KEY}`], ['-key', KEY], [`-api.token=${KEY}`]]) {
      const { flags, problems } = parse(argv);
      expect(flags).toEqual({});
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/keys are never accepted on the command line/);
      expect(problems.join('\n')).not.toContain(KEY.slice(0, 8));
    }
  });

  it('counts what follows -- as positionals, never showing them', () => {
    const { problems } = parse(['--', KEY, '--log.level=debug']);
    expect(problems).toEqual([POSITIONALS(2)]);
  });

  it('does not show a flag name that is not shaped like one', () => {
    expect(parse([`--${KEY}`]).problems).toEqual(['unknown flag (name not shown, in case it is a key) (see --help)']);
  });
});

describe('helpOrVersion', () => {
  it('finds -h, --help and --version only as arguments of their own before --', () => {
    expect(helpOrVersion(['--log.level', '-h'])).toBe('help');
    expect(helpOrVersion(['-xh'])).toBeUndefined();
    expect(helpOrVersion(['--help=1'])).toBeUndefined();
    expect(helpOrVersion(['--log.level=--help'])).toBeUndefined();
    expect(helpOrVersion(['-a-b', '--version'])).toBe('version');
    expect(helpOrVersion(['--shard', '--', '--help'])).toBeUndefined();
  });
});
