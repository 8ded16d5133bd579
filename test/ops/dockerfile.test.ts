/**
 * The Docker image, without a Docker engine: the Dockerfile's shape is checked, and what its
 * runtime stage runs is reproduced — production dependencies only (`npm ci --omit=dev`) next to
 * the compiled dist/ — and started against a loopback Zexa API, where it must serve /metrics.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../support/prometheus-stack.js';
import { readRepoFile } from './ops-files.js';

const dockerfile = readRepoFile('Dockerfile');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages = instructions.filter((l) => /^FROM\s/i.test(l));
const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

describe('Dockerfile', () => {
  it('is multi-stage: builds with dev dependencies, runs with production ones only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/RUN npm ci(?! --omit=dev)[^\n]*\n(?:.*\n)*RUN npm run build/);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(runtime.some((l) => /^COPY --from=\S+.*\/app\/dist/.test(l))).toBe(true);
    expect(runtime.some((l) => l.startsWith('RUN npm ci') && !l.includes('--omit=dev'))).toBe(false);
  });

  it('uses a Node LTS image pinned by major', () => {
    const image = /ARG NODE_IMAGE=(\S+)/.exec(dockerfile)?.[1];
    expect(image).toMatch(/^node:(2[02468])-[a-z]+-slim$/);
  });

  it('runs as a non-root user', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user!.slice(5).split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  it('exposes 10025, checks /healthz without curl, and starts dist/main.js', () => {
    expect(runtime).toContain('EXPOSE 10025');
    const healthcheck = runtime.find((l) => l.startsWith('HEALTHCHECK'));
    expect(healthcheck).toContain("fetch('http://127.0.0.1:10025/healthz')");
    expect(healthcheck).not.toContain('curl');
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/main.js"]');
  });

  it('carries OCI labels', () => {
    for (const label of ['title', 'description', 'source', 'licenses', 'version', 'revision']) {
      expect(dockerfile).toContain(`org.opencontainers.image.${label}=`);
    }
  });

  it('copies only files the build context (.dockerignore) lets through', () => {
    const allowed = readRepoFile('.dockerignore').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    const copied = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.replace(/--\S+/g, '').split(/\s+/).slice(1, -1));
    for (const source of copied) {
      expect(allowed, source).toContain(source);
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
  });
});

describe('the image runtime stage reproduced: production dependencies only', () => {
  let dir: string;
  let api: Server;
  let exporter: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'dist/main.js'))) {
      throw new Error('dist/main.js is missing: run `npm run build` (npm test does) before this test');
    }
    dir = mkdtempSync(join(tmpdir(), 'zexa-image-'));
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(REPO_ROOT, f), join(dir, f));
    cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    // --offline: from the npm cache that `npm ci` filled, so the test never reaches the registry.
    const npm = (args: string[]) =>
      promisify(execFile)('npm', [...args, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        env: { ...process.env, NODE_ENV: 'production' },
      });
    try {
      await npm(['ci', '--omit=dev']);
    } catch (err) {
      if (!String((err as { stderr?: string }).stderr).includes('ENOTCACHED')) throw err;
      // A machine whose node_modules did not come through its npm cache: the same tree from
      // the same lockfile, by pruning a (hard-linked) copy of the installed dependencies.
      console.error('npm cache incomplete: reproducing `npm ci --omit=dev` with `npm prune --omit=dev`');
      await promisify(execFile)('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules')]);
      await npm(['prune', '--omit=dev']);
    }
    api = createServer((req, res) => {
      const ok = req.url === '/v1/credits' && req.headers.authorization === 'Bearer zx_live_image_test_key_0123456789';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { credits: 4250, currency: 'USD' } : { error: 'unauthorized', request_id: 'req_1' }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  }, 120_000);

  afterAll(async () => {
    if (exporter?.pid !== undefined && exporter.exitCode === null) {
      const exited = new Promise((r) => exporter!.once('exit', r));
      exporter.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs every production dependency and no dev dependency', () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const installed = (name: string) => existsSync(join(dir, 'node_modules', name, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies)) expect(installed(dep), dep).toBe(true);
    for (const dev of Object.keys(pkg.devDependencies)) expect(installed(dev), dev).toBe(false);
  });

  it('starts and serves /metrics with the balance', async () => {
    const port = await freePort();
    const { port: apiPort } = api.address() as AddressInfo;
    exporter = spawn(process.execPath, ['dist/main.js', `--web.listen-address=127.0.0.1:${port}`], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        ZEXA_API_KEY: 'zx_live_image_test_key_0123456789',
        ZEXA_API_URL: `http://127.0.0.1:${apiPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exporter.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    exporter.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    let body = '';
    for (let i = 0; i < 100 && !body.includes('zexa_credits_remaining{'); i++) {
      if (exporter.exitCode !== null) throw new Error(`exporter exited with ${exporter.exitCode}:\n${output}`);
      body = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      if (!body.includes('zexa_credits_remaining{')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(body).toMatch(/zexa_credits_remaining\{account="default",currency="USD"\} 4250/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
