/**
 * The image's runtime stage, rebuilt without a Docker engine (issue 15). The commands come from
 * the Dockerfile itself, parsed, so the test and the image cannot drift apart:
 * - the `deps` stage's `npm ci --omit=dev` runs in a folder of its own, from the copied
 *   package.json and lockfile;
 * - the runtime stage's COPY lines lay out /app: production node_modules, the compiled dist/
 *   (the build stage's `npm run build`, which vitest's global setup runs) and package.json;
 * - the folder is owned by root and read-only, the processes run as the stage's USER (uid 1000)
 *   through setpriv, with the stage's ENV (NODE_ENV=production) and nothing else but the
 *   exporter's own ZEXA_* settings;
 * - the ENTRYPOINT serves /healthz, the HEALTHCHECK command run verbatim exits 0, SIGTERM ends it
 *   with 0; the demo command from the Dockerfile's header comment does the same.
 * A devDependency imported anywhere in dist/ fails the static check; one imported on the start
 * path also fails the start, as it would in the image.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../support/external.js';
import { freePort, REPO_ROOT } from '../support/prometheus-stack.js';
import {
  all,
  copies,
  demoCommand,
  execForm,
  healthcheckCommand,
  loadDockerfile,
  stageEnv,
  stageNamed,
  type Stage,
} from './dockerfile.js';

const dockerfile = loadDockerfile();
const setpriv = requireProgram(['setpriv'], 'util-linux');
const KEY = 'zx_live_image_test_key_0123456789';

/** The runtime stage's USER as setpriv arguments. */
function userArgs(stage: Stage): string[] {
  const user = all(stage, 'USER').at(-1)?.args;
  const match = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  if (match === null)
    throw new Error(`the runtime stage's USER must be numeric (uid[:gid]) for runAsNonRoot; it is ${String(user)}`);
  return [`--reuid=${match[1]}`, `--regid=${match[2] ?? match[1]}`, '--clear-groups'];
}

interface Run {
  code: number | null;
  output: string;
}

/** Bare import specifiers (`express`, `@scope/pkg/sub`) of an ES module's static and literal dynamic imports. */
function importedPackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...source.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return [
    ...new Set(
      specifiers
        .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:'))
        .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)),
    ),
  ];
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

describe('importedPackages', () => {
  it('finds static, side-effect, re-export and dynamic imports, and leaves relative and node: ones', () => {
    const source = [
      "import express from 'express';",
      'import { z } from "zod";',
      "import 'pino';",
      "export { x } from '@scope/pkg/sub';",
      "const m = await import('vitest');",
      "import { readFile } from 'node:fs';",
      "import { a } from './a.js';",
      'const s = \'from "nope"\';',
    ].join('\n');
    expect(importedPackages(source).sort()).toEqual(['@scope/pkg', 'express', 'pino', 'vitest', 'zod']);
  });
});

describe.skipIf(setpriv.missing)(
  'the image runtime stage, rebuilt: production dependencies, root-owned read-only, uid 1000',
  () => {
    const runtime = dockerfile.runtime;
    const workdir = all(runtime, 'WORKDIR').at(-1)?.args ?? '/';
    let root: string;
    let app: string;
    let api: Server;
    const started: ChildProcess[] = [];

    /** Where a COPY source comes from on this machine: another stage's /app, or the build context. */
    function sourcePath(from: string | undefined, source: string): string {
      if (from === undefined || from === 'build') return join(REPO_ROOT, source.replace(/^\/app\//, ''));
      if (from === 'deps') return join(root, 'deps', source.replace(/^\/app\//, ''));
      throw new Error(`COPY --from=${from}: no stage of that name is rebuilt by this test`);
    }

    function env(extra: Record<string, string>): Record<string, string> {
      return { PATH: `${join(root, 'bin')}:/usr/local/bin:/usr/bin:/bin`, ...stageEnv(runtime), ...extra };
    }

    /** Runs `argv` in WORKDIR as the stage's USER; resolves when it ends. */
    function runAsUser(argv: string[], environment: Record<string, string>): Promise<Run> {
      return new Promise((resolve) => {
        execFile(
          'setpriv',
          [...userArgs(runtime), '--', ...argv],
          { cwd: app, env: environment, timeout: 30_000 },
          (error, stdout, stderr) => {
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
              output: stdout + stderr,
            });
          },
        );
      });
    }

    function startAsUser(
      argv: string[],
      environment: Record<string, string>,
    ): { child: ChildProcess; output: () => string } {
      const child = spawn('setpriv', [...userArgs(runtime), '--', ...argv], {
        cwd: app,
        env: environment,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(child);
      let output = '';
      child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
      return { child, output: () => output };
    }

    async function healthz(port: number): Promise<number> {
      return fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
    }

    beforeAll(async () => {
      if (!existsSync(join(REPO_ROOT, 'dist/main.js')))
        throw new Error("dist/main.js is missing: vitest's global setup builds it");
      root = mkdtempSync(join(tmpdir(), 'zexa-image-'));
      chmodSync(root, 0o755);

      // The deps stage: its COPY lines, then its RUN commands.
      const deps = stageNamed(dockerfile, 'deps');
      mkdirSync(join(root, 'deps'));
      for (const copy of copies(deps))
        for (const source of copy.sources) copyFileSync(join(REPO_ROOT, source), join(root, 'deps', source));
      for (const { args } of all(deps, 'RUN')) {
        for (const command of args.split('&&').map((c) => c.trim())) {
          // `npm cache clean` keeps the image layer small; here it would empty the machine's cache.
          if (command.startsWith('npm cache clean')) continue;
          const [program, ...rest] = command.split(' ');
          // --prefer-offline: the tarballs `npm ci` of the checkout put in the npm cache serve again.
          const extra = program === 'npm' && rest[0] === 'ci' ? ['--prefer-offline'] : [];
          const { NODE_ENV: _ignored, ...outer } = process.env;
          await new Promise<void>((resolve, reject) => {
            execFile(
              program!,
              [...rest, ...extra],
              { cwd: join(root, 'deps'), env: outer, timeout: 240_000 },
              (error, _out, stderr) =>
                error === null ? resolve() : reject(new Error(`deps stage: ${command} failed: ${stderr}`)),
            );
          });
        }
      }

      // The runtime stage's file layout under WORKDIR.
      app = join(root, workdir);
      mkdirSync(app, { recursive: true });
      for (const copy of copies(runtime)) {
        expect(copy.chown, `COPY ${copy.sources.join(' ')} is owned by root in the image`).toBe('root:root');
        for (const source of copy.sources) {
          const target = copy.destination.endsWith('/')
            ? join(app, copy.destination, source.split('/').at(-1)!)
            : join(app, copy.destination);
          if (copy.from === 'deps') renameSync(sourcePath(copy.from, source), target);
          else cpSync(sourcePath(copy.from, source), target, { recursive: true });
        }
      }
      // Owned by root (this test runs as root, like CI) and read-only for everyone.
      await new Promise<void>((resolve, reject) =>
        execFile('sh', ['-c', 'chown -R 0:0 "$1" && chmod -R a-w "$1"', 'sh', app], (e) =>
          e === null ? resolve() : reject(e),
        ),
      );

      // The image's `node`, reachable by uid 1000 wherever this one is installed.
      mkdirSync(join(root, 'bin'));
      try {
        linkSync(process.execPath, join(root, 'bin', 'node'));
      } catch {
        copyFileSync(process.execPath, join(root, 'bin', 'node'));
      }
      chmodSync(join(root, 'bin', 'node'), 0o755);

      api = createServer((req, res) => {
        const ok = req.url === '/v1/credits' && req.headers.authorization === `Bearer ${KEY}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(ok ? { credits: 4250, currency: 'USD' } : { error: 'unauthorized', request_id: 'req_1' }),
        );
      });
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    }, 300_000);

    afterAll(async () => {
      for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
      if (root !== undefined) rmSync(root, { recursive: true, force: true });
    });

    it('installs every production dependency and no dev dependency', () => {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
      };
      const installed = (name: string) => existsSync(join(app, 'node_modules', name, 'package.json'));
      for (const dep of Object.keys(pkg.dependencies)) expect(installed(dep), dep).toBe(true);
      for (const dev of Object.keys(pkg.devDependencies)) expect(installed(dev), dev).toBe(false);
    });

    it('imports no devDependency from any file of dist/: every package it names is a dependency, installed', () => {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      const files = jsFiles(join(app, 'dist'));
      expect(files.length).toBeGreaterThan(10);
      const wrong: string[] = [];
      for (const file of files) {
        for (const name of importedPackages(readFileSync(file, 'utf8'))) {
          if (!(name in pkg.dependencies) || !existsSync(join(app, 'node_modules', name, 'package.json')))
            wrong.push(`${relative(app, file)} imports ${name}`);
        }
      }
      expect(wrong, 'production code importing packages that `npm ci --omit=dev` does not install').toEqual([]);
    });

    it('is read-only for the user the image runs as', async () => {
      const write = await runAsUser(['node', '-e', "require('node:fs').writeFileSync('dist/main.js', '')"], env({}));
      expect(write.code).not.toBe(0);
      expect(write.output).toContain('EACCES');
    });

    const entrypoints: Array<[string, () => string[], Record<string, string>]> = [
      ['the ENTRYPOINT', () => execForm(all(runtime, 'ENTRYPOINT').at(-1)!.args), { ZEXA_API_KEY: KEY }],
      ['the demo command from the Dockerfile comment', () => demoCommand(dockerfile.text), {}],
    ];

    for (const [name, command, settings] of entrypoints) {
      it(`${name}: serves /healthz as uid 1000 with NODE_ENV=production, passes the HEALTHCHECK verbatim, exits 0 on SIGTERM`, async () => {
        const port = await freePort();
        const { port: apiPort } = api.address() as AddressInfo;
        const environment = env({
          ...settings,
          ZEXA_API_URL: `http://127.0.0.1:${apiPort}`,
          ZEXA_EXPORTER_LISTEN_ADDRESS: `127.0.0.1:${port}`,
        });
        expect(environment.NODE_ENV).toBe('production');
        const { child, output } = startAsUser(command(), environment);
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

        await expect
          .poll(async () => (child.exitCode === null ? healthz(port) : `exited ${child.exitCode}: ${output()}`), {
            timeout: 20_000,
            interval: 200,
          })
          .toBe(200);
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('1000');
        if (name === 'the ENTRYPOINT') {
          await expect
            .poll(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()), {
              timeout: 20_000,
              interval: 200,
            })
            .toMatch(/zexa_credits_remaining\{account="default",currency="USD"\} 4250/);
        }

        const check = await runAsUser(healthcheckCommand(runtime), environment);
        expect(check, 'the Dockerfile HEALTHCHECK command').toEqual({ code: 0, output: '' });

        child.kill('SIGTERM');
        expect(await exited, output()).toBe(0);
      }, 60_000);
    }
  },
);
