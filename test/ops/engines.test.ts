/**
 * `npm ci` prints an EBADENGINE warning for every locked package whose `engines.node` excludes
 * the running Node.js: a newcomer's first command should print none. Every package in
 * package-lock.json must accept the Node.js this test runs on (.ci/run runs it on 20, 22 and 24).
 */
import { describe, expect, it } from 'vitest';
import { readRepoFile } from './ops-files.js';

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/^v/, '')
    .split('.')
    .map((p) => (p === '*' || p === 'x' ? 0 : Number(p)));
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** One comparator of a range (`>=18`, `^20.19.0`, `~1.2`, `10.*`, `18`) against a version. */
function satisfiesComparator(v: Version, comparator: string): boolean {
  const match = /^(>=|<=|>|<|\^|~|=)?\s*v?(\d+|\*|x)(?:\.(\d+|\*|x))?(?:\.(\d+|\*|x))?$/.exec(comparator);
  if (match === null) throw new Error(`unread comparator ${comparator}`);
  const [, op = '', maj = '*', min, pat] = match;
  if (maj === '*' || maj === 'x') return true;
  const target = parseVersion([maj, min ?? '0', pat ?? '0'].join('.'));
  const c = compare(v, target);
  switch (op) {
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    case '<':
      return c < 0;
    case '^':
      return c >= 0 && v[0] === target[0] && (target[0] !== 0 || v[1] === target[1]);
    case '~':
      return c >= 0 && v[0] === target[0] && (min === undefined || v[1] === target[1]);
    default:
      // `18`, `10.*`, `=1.2.3`: the parts given must match.
      return (
        v[0] === target[0] &&
        (min === undefined || min === '*' || min === 'x' || v[1] === target[1]) &&
        (pat === undefined || pat === '*' || pat === 'x' || v[2] === target[2])
      );
  }
}

function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((set) => {
    const comparators = set
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter((c) => c !== '');
    return comparators.every((c) => satisfiesComparator(v, c));
  });
}

describe('locked packages and the running Node.js', () => {
  it('reads ranges as npm does', () => {
    expect(satisfies('20.20.2', '>=22')).toBe(false);
    expect(satisfies('22.1.0', '>=22')).toBe(true);
    expect(satisfies('20.18.1', '^20.19.0 || ^22.13.0 || >=24')).toBe(false);
    expect(satisfies('24.0.0', '^20.19.0 || ^22.13.0 || >=24')).toBe(true);
    expect(satisfies('20.20.2', '10.* || >= 12.*')).toBe(true);
    expect(satisfies('20.20.2', '18 || 20 || >=22')).toBe(true);
    expect(satisfies('21.0.0', '18 || 20 || >=22')).toBe(false);
  });

  it(`every package in package-lock.json accepts Node.js ${process.version} (no EBADENGINE from npm ci)`, () => {
    const lock = JSON.parse(readRepoFile('package-lock.json')) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const refused = Object.entries(lock.packages)
      .filter(
        ([path, pkg]) =>
          path !== '' &&
          !Array.isArray(pkg.engines) &&
          pkg.engines?.node !== undefined &&
          !satisfies(process.version, pkg.engines.node),
      )
      .map(
        ([path, pkg]) => `${path.replace(/^node_modules\//, '')} wants node ${(pkg.engines as { node: string }).node}`,
      );
    expect(refused).toEqual([]);
  });
});
