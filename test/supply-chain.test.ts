/**
 * Supply chain: what ships is what was reviewed. The lockfile that pins the production
 * dependency tree is committed and matches package.json, and no development tool leaks into a
 * production install. These checks need no network.
 *
 * The advisory audit (`npm audit`) asks the registry over the network, so it is not part of the
 * suite: `npm run audit` (scripts/audit.ts) runs it, and CI may call it. Here only its reading of
 * npm's answers is tested.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { judgeAudit, readAudit } from '../scripts/audit.js';
import { requireProgram } from './support/external.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM_TIMEOUT_MS = 120_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in the project root; a non-zero exit is a result, not an exception. */
function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: ROOT,
        timeout: NPM_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, NO_UPDATE_NOTIFIER: '1', npm_config_fund: 'false' },
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')} did not run: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface LockEntry {
  name?: string;
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

let productionLs: Promise<Run> | undefined;
/** `npm ls` of the production tree, run once for the tests that read it (it takes seconds). */
function productionTree(): Promise<Run> {
  productionLs ??= run('npm', ['ls', '--omit=dev', '--all', '--json']);
  return productionLs;
}

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as PackageJson;
const devNames = Object.keys(pkg.devDependencies ?? {});

// --- npm audit (run by `npm run audit`) -------------------------------------------------------------

describe('npm run audit', () => {
  it('tells a report from an unreachable endpoint from garbage', () => {
    expect(
      readAudit(
        '{"auditReportVersion":2,"vulnerabilities":{},"metadata":{"vulnerabilities":{"info":0,"low":0,"moderate":1,"high":0,"critical":0,"total":1}}}',
      ),
    ).toMatchObject({
      kind: 'report',
      counts: { moderate: 1, high: 0, critical: 0 },
    });
    expect(
      readAudit(
        '{"message":"405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk","statusCode":405,"error":{"summary":"","detail":""}}',
      ),
    ).toEqual({
      kind: 'unavailable',
      why: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
    });
    expect(
      readAudit('{"error":{"code":"ENOTFOUND","summary":"request to https://registry.npmjs.org failed"}}'),
    ).toMatchObject({
      kind: 'unavailable',
      why: 'ENOTFOUND: request to https://registry.npmjs.org failed',
    });
    expect(() => readAudit('npm ERR! something')).toThrow(/no JSON/);
    expect(() => readAudit('{"unexpected":true}')).toThrow(/without metadata.vulnerabilities/);
  });

  it('fails on a high or critical advisory, names it, and passes a moderate one', () => {
    const counts = { info: 0, low: 0, moderate: 1, high: 1, critical: 0 };
    const high = {
      name: 'left-pad',
      severity: 'high' as const,
      range: '<1.3.0',
      via: [{ title: 'Prototype pollution', url: 'https://github.com/advisories/GHSA-xxxx' }],
    };
    const moderate = { name: 'other', severity: 'moderate' as const, via: ['left-pad'] };
    const failing = judgeAudit({ kind: 'report', counts, vulnerabilities: [high, moderate] }, false);
    expect(failing.code).toBe(1);
    expect(failing.lines).toContain(
      'left-pad <1.3.0 [high]: Prototype pollution (https://github.com/advisories/GHSA-xxxx)',
    );
    expect(failing.lines.join('\n')).not.toContain('other');
    const passing = judgeAudit({ kind: 'report', counts: { ...counts, high: 0 }, vulnerabilities: [moderate] }, true);
    expect(passing).toEqual({
      code: 0,
      lines: ['audit: production dependencies: 0 critical, 0 high, 1 moderate, 0 low'],
    });
  });

  it('skips loudly when the endpoint refuses, and fails under CI when it does not answer', () => {
    const refused = { kind: 'unavailable' as const, why: '405 Method Not Allowed' };
    const silent = { kind: 'unavailable' as const, why: 'ENOTFOUND: request to https://registry.npmjs.org failed' };
    expect(judgeAudit(refused, true)).toMatchObject({
      code: 0,
      lines: [expect.stringMatching(/^\*\*\* SKIPPING AUDIT: .*405/)],
    });
    expect(judgeAudit(silent, false)).toMatchObject({
      code: 0,
      lines: [expect.stringMatching(/^\*\*\* SKIPPING AUDIT/)],
    });
    expect(judgeAudit(silent, true)).toMatchObject({
      code: 2,
      lines: [expect.stringMatching(/^audit: CI=true and npm audit could not ask/)],
    });
  });
});

// --- the lockfile ----------------------------------------------------------------------------------

const git = requireProgram(['git'], 'git');

describe('package-lock.json', () => {
  const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as Lockfile;

  it.skipIf(git.missing)('is tracked by git', async () => {
    const tracked = await run('git', ['ls-files', '--error-unmatch', '--', 'package-lock.json']);
    expect(tracked.stderr).toBe('');
    expect(tracked.code, 'package-lock.json is not committed: run npm install and commit it').toBe(0);
    expect(tracked.stdout.trim()).toBe('package-lock.json');
  });

  it('matches package.json (a v2+ lockfile written from this manifest)', () => {
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    expect(lock.name).toBe(pkg.name);
    expect(lock.version).toBe(pkg.version);
    const root = lock.packages[''];
    expect(root, 'the lockfile has no root package entry').toBeDefined();
    expect(root?.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(root?.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    expect(root?.optionalDependencies ?? {}).toEqual(pkg.optionalDependencies ?? {});
    // Every direct dependency is resolved in the lockfile.
    for (const name of [...Object.keys(pkg.dependencies ?? {}), ...devNames]) {
      expect(
        lock.packages[`node_modules/${name}`]?.version,
        `${name} is not resolved in package-lock.json`,
      ).toBeTruthy();
    }
  });

  it('is what node_modules holds: npm ls of the production tree finds nothing missing or invalid', async () => {
    const ls = await productionTree();
    const tree = JSON.parse(ls.stdout) as { problems?: string[] };
    expect(tree.problems ?? []).toEqual([]);
    expect(ls.code).toBe(0);
  });
});

// --- no dev dependency in production ---------------------------------------------------------------

interface LsNode {
  version?: string;
  dependencies?: Record<string, LsNode>;
}

function namesIn(node: LsNode, into = new Set<string>()): Set<string> {
  for (const [name, child] of Object.entries(node.dependencies ?? {})) {
    if (into.has(name)) continue;
    into.add(name);
    namesIn(child, into);
  }
  return into;
}

describe('the production install', () => {
  it('has devDependencies to leave out (the check below is not vacuous)', () => {
    expect(devNames).toEqual(expect.arrayContaining(['vitest', 'typescript', 'playwright-core', 'autocannon']));
  });

  it('contains none of the devDependencies (npm ls --omit=dev)', async () => {
    const ls = await productionTree();
    const names = namesIn(JSON.parse(ls.stdout) as LsNode);
    expect(names.size).toBeGreaterThan(Object.keys(pkg.dependencies ?? {}).length);
    for (const runtime of Object.keys(pkg.dependencies ?? {})) expect(names).toContain(runtime);
    expect(devNames.filter((name) => names.has(name))).toEqual([]);
  });

  it('is marked dev-only in the lockfile for every devDependency', () => {
    const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as Lockfile;
    const inProduction = devNames.filter((name) => lock.packages[`node_modules/${name}`]?.dev !== true);
    expect(inProduction, 'devDependencies that a production install (npm ci --omit=dev) would still install').toEqual(
      [],
    );
  });
});
