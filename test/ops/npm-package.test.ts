/**
 * The npm package as a user meets it: `npm pack` (its `prepack` builds dist/ from a clean tree),
 * the tarball's file list, `npm install -g` into an empty prefix, and the installed command run:
 * `--version`, `check --config.check` and the exporter itself against the simulator.
 *
 * Then deploy/systemd/zexa-exporter.service, unchanged, passes `systemd-analyze verify` with this
 * install as its /usr/local (bind-mounted in a private mount namespace: root only).
 *
 * The pack runs in a copy of the checkout's sources (node_modules linked), so its `prepack`
 * never rewrites the dist/ other tests are running meanwhile.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { requireProgram } from '../support/external.js';
import { freePort, REPO_ROOT } from '../support/prometheus-stack.js';
import { verifyUnit } from './systemd.js';

const systemdAnalyze = requireProgram(['systemd-analyze'], 'systemd');
const unshare = requireProgram(['unshare'], 'util-linux');
const rootless = process.getuid?.() !== 0;
const KEY = 'zx_live_npm_package_test_key_0123456789';
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & {
  version: string;
  scripts: Record<string, string>;
  files: string[];
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 300_000, maxBuffer: 16 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** A user's environment: this Node.js first on PATH (the command is `#!/usr/bin/env node`), no NODE_ENV of the test runner's. */
function userEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: process.env.HOME ?? '/root',
    ...extra,
  };
}

interface PackedFile {
  path: string;
}

describe('the npm package: packed, installed with npm install -g, run', () => {
  let dir: string;
  let prefix: string;
  let files: string[];
  let tarball: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zexa-npm-package-'));
    const checkout = join(dir, 'checkout');
    for (const entry of [
      'package.json',
      'package-lock.json',
      'README.md',
      'LICENSE',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
    ]) {
      cpSync(join(REPO_ROOT, entry), join(checkout, entry), { recursive: true });
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: checkout });
    expect(pack.code, pack.stderr).toBe(0);
    // npm prints the lifecycle scripts' output before the JSON.
    const report = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[\n'))) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
      files: PackedFile[];
    }>;
    const packed = report[0]!;
    files = packed.files.map((f) => f.path);
    tarball = join(dir, packed.filename);
    console.log(
      `npm-package: ${packed.filename}: ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${files.length} files`,
    );

    prefix = join(dir, 'prefix');
    const install = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball],
      { env: { ...process.env, NODE_ENV: 'production' } },
    );
    expect(install.code, install.stderr).toBe(0);
  }, 600_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('has what a published package needs: repository, homepage, bugs, keywords, engines, files, a prepack that builds', () => {
    expect(pkg.repository).toEqual({ type: 'git', url: 'git+https://github.com/zexa-exporter/zexa-exporter.git' });
    expect(pkg.homepage).toBe('https://github.com/zexa-exporter/zexa-exporter#readme');
    expect(pkg.bugs).toEqual({ url: 'https://github.com/zexa-exporter/zexa-exporter/issues' });
    expect(pkg.keywords).toEqual(expect.arrayContaining(['prometheus', 'exporter', 'zexa']));
    expect(pkg.engines).toEqual({ node: expect.stringMatching(/^\^20\./) });
    expect(pkg.files).toContain('dist');
    expect(pkg.scripts.prepack).toContain('npm run build');
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8')).toMatch(/^\s+Apache License\s+Version 2\.0, January 2004/);
  });

  it('packs dist/ (built by prepack from a tree without one), README.md, LICENSE and package.json only', () => {
    const outside = files.filter((f) => !f.startsWith('dist/'));
    expect(outside.sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    expect(files).toContain('dist/main.js');
    expect(files).toContain('dist/demo.js');
    const unwanted = files.filter(
      (f) => /(^|\/)(test|tests|fixtures?|__tests__)\//.test(f) || /\.test\.|\.spec\.|\.ts$|tsbuildinfo/.test(f),
    );
    expect(unwanted, 'tests, their source maps, fixtures, TypeScript sources or build state').toEqual([]);
  });

  it('zexa-exporter --version', async () => {
    const result = await run(join(prefix, 'bin', 'zexa-exporter'), ['--version'], { env: userEnv(prefix) });
    expect(result).toEqual({
      code: 0,
      stdout: `zexa-exporter ${pkg.version} (Node.js ${process.version})\n`,
      stderr: '',
    });
  });

  it('zexa-exporter check --config.check, with a key in the environment', async () => {
    const result = await run('zexa-exporter', ['check', '--config.check'], {
      env: userEnv(prefix, { ZEXA_API_KEY: KEY }),
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('default');
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });

  it('zexa-exporter serves /metrics from the simulator, and SIGTERM ends it with 0', async () => {
    const simulator = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      accounts: [{ name: 'default', key: KEY, credits: 4250 }],
    });
    try {
      const port = await freePort();
      const child = spawn('zexa-exporter', [], {
        env: userEnv(prefix, {
          ZEXA_API_KEY: KEY,
          ZEXA_API_URL: simulator.url,
          ZEXA_EXPORTER_LISTEN_ADDRESS: `127.0.0.1:${port}`,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr.on('data', (b: Buffer) => (output += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await expect
          .poll(
            () =>
              child.exitCode === null
                ? fetch(`http://127.0.0.1:${port}/metrics`).then(
                    (r) => r.text(),
                    () => '',
                  )
                : `exited ${child.exitCode}: ${output}`,
            { timeout: 30_000, interval: 300 },
          )
          .toMatch(/^zexa_up\{account="default"\} 1$/m);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, output).toBe(0);
    } finally {
      await simulator.close();
    }
  }, 60_000);

  // Root for the private mount namespace; CI runs as root, so there it never skips.
  it.skipIf(systemdAnalyze.missing || unshare.missing || (rootless && process.env.CI !== 'true'))(
    'deploy/systemd/zexa-exporter.service, unchanged, passes systemd-analyze verify with this install as /usr/local, without a warning',
    async () => {
      const verdict = await verifyUnit(
        systemdAnalyze.path!,
        join(REPO_ROOT, 'deploy/systemd/zexa-exporter.service'),
        prefix,
      );
      expect(verdict).toEqual({ code: 0, output: '' });
    },
  );
});
