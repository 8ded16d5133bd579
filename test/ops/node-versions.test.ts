/**
 * The supported Node.js versions are one list (issue 15): the majors .ci/run tests are the ones
 * docs/platforms.md states, package.json `engines` allows, and the Dockerfile's NODE_IMAGE uses. And the run
 * under way really is on the Node.js it claims: .ci/run puts the chosen `node` first on PATH and
 * sets ZEXA_CI_NODE_MAJOR, so vitest, its workers and the `node` children tests start agree.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readRepoFile } from './ops-files.js';

const ciMajors = (() => {
  const match = /^NODE_MAJORS=\(([\d ]+)\)$/m.exec(readRepoFile('.ci/run'));
  if (match === null) throw new Error('.ci/run has no NODE_MAJORS=(...) line');
  return match[1]!.trim().split(/\s+/).map(Number);
})();

describe('supported Node.js versions', () => {
  it('.ci/run tests 20, 22 and 24', () => {
    expect(ciMajors).toEqual([20, 22, 24]);
  });

  it('package.json engines allows exactly the tested majors, from the oldest release undici 7 runs on', () => {
    const engines = (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(ciMajors.map((major, i) => (i === 0 ? `^${major}.18.1` : `^${major}.0.0`)).join(' || '));
    const undici = (JSON.parse(readRepoFile('node_modules/undici/package.json')) as { engines: { node: string } })
      .engines.node;
    expect(undici, 'undici raised its minimum Node.js: raise engines, README and docs/platforms.md with it').toBe(
      '>=20.18.1',
    );
  });

  it('docs/platforms.md states the tested majors and the minimum release, and README the same', () => {
    const readme = readRepoFile('README.md');
    const section = /^# Supported platforms\n([^]*)/m.exec(readRepoFile('docs/platforms.md'))?.[1];
    expect(section, 'docs/platforms.md has a "Supported platforms" page').toBeDefined();
    expect(section).toContain('Node.js 20.18.1 or later 20.x, 22 and 24');
    for (const major of ciMajors) expect(section).toMatch(new RegExp(`\\| Node\\.js ${major}\\b`));
    expect(readme).toContain('Needs Node.js 20.18.1+, 22 or 24');
  });

  it("the Dockerfile's NODE_IMAGE is a tested major", () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readRepoFile('Dockerfile'))?.[1];
    expect(ciMajors).toContain(Number(image));
  });

  it("the image test runs on the Dockerfile's major, and its stand-in base holds that major", () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-(\w+)-slim$/m.exec(readRepoFile('Dockerfile'));
    expect(/^IMAGE_MAJOR=(\d+)$/m.exec(readRepoFile('.ci/run'))?.[1]).toBe(image?.[1]);
    const base = readRepoFile('scripts/image-base.sh');
    expect(/^NODE_MAJOR=(\d+)$/m.exec(base)?.[1]).toBe(image?.[1]);
    expect(/^SUITE=(\w+)$/m.exec(base)?.[1]).toBe(image?.[2]);
  });
});

describe('the Node.js this run is on', () => {
  const major = Number(process.versions.node.split('.')[0]);

  it('is a supported one', () => {
    expect(ciMajors).toContain(major);
  });

  it('is the `node` on PATH too, so npm scripts and spawned children run on it', () => {
    expect(execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim()).toBe(process.version);
    expect(execFileSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim()).toBe(
      process.version,
    );
  });

  it.runIf(process.env.ZEXA_CI_NODE_MAJOR !== undefined)('is the one .ci/run labelled this run with', () => {
    expect(major).toBe(Number(process.env.ZEXA_CI_NODE_MAJOR));
  });
});
