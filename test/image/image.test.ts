/**
 * The real image: the repository's Dockerfile built by podman, unchanged, and run the ways the
 * README tells people to run it. `npm run test:image` (CI runs it once, on Node.js 24, the image's
 * own major; it is not part of `npm test`). Needs root, podman, runc, debootstrap and openssl.
 *
 * The base. No container registry is reachable from CI, so scripts/image-base.sh builds a
 * stand-in for node:24-bookworm-slim and the build gets `--build-arg
 * NODE_IMAGE=localhost/node:24-bookworm-slim`; the Dockerfile's default stays the official image.
 * The stand-in is `debootstrap --variant=minbase bookworm`, the official Node.js 24 binary from the
 * npm registry's `node@24` package at /usr/local/bin/node, npm 11 from the `npm` package, a
 * `node` user and group with uid and gid 1000, and the machine's CA bundle with
 * NODE_EXTRA_CA_CERTS and npm_config_cafile pointing at it. It differs from the official image
 * only in what debootstrap installs beyond bookworm-slim (minbase keeps documentation, man pages
 * and locales, which slim strips), in the two CA variables, and in having no yarn or corepack;
 * nothing the Dockerfile or the exporter uses. It is cached in ~/.cache/zexa-exporter-ci.
 *
 * What is checked, each on the image as built:
 * - `-e ZEXA_API_KEY` against the simulator on the host serves zexa_up{account="default"} 1, and
 *   so does the config-file form with a key directory mounted read-only;
 * - the demo command of the Dockerfile's header serves its six accounts;
 * - the HEALTHCHECK, run by the engine (`podman healthcheck run`): healthy on the default port,
 *   on a non-default listen address and with a TLS web config mounted; unhealthy with no listener;
 * - uid 1000, /app not writable by the process, `--read-only` and `--cap-drop=ALL`, no
 *   devDependency, src/ or test/ in the image;
 * - `podman stop` (SIGTERM, SIGKILL after 10 s) ends it with exit code 0;
 * - the image's size beside the base's, with the layers that make up the difference.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAccounts, startSimulator } from '../../src/simulator/index.js';
import { makeCerts } from '../fixtures/web-config/make-certs.js';
import { demoCommand, loadDockerfile } from '../ops/dockerfile.js';
import { requireProgram } from '../support/external.js';
import { freePort, REPO_ROOT } from '../support/prometheus-stack.js';
import { Containers, HARDENED, healthy, LIMITS, podman, runShown } from './podman.js';

const BASE = 'localhost/node:24-bookworm-slim';
const IMAGE = 'localhost/zexa-exporter:image-test';
/** The user the Dockerfile runs as, and who must be able to read the mounted files. */
const UID = 1000;
const KEY = 'zx_live_image_test_key_0123456789abcdef';

const programs = [
  requireProgram(['podman'], 'podman'),
  requireProgram(['runc'], 'runc'),
  requireProgram(['debootstrap'], 'debootstrap'),
  requireProgram(['openssl'], 'openssl'),
];
const rootless = process.getuid?.() !== 0;
if (rootless) {
  const message = 'the image test builds a root file system with debootstrap and runs rootful podman: run it as root';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`);
  console.error(`\n*** SKIPPING TESTS: ${message} ***\n`);
}
const openssl = programs[3]!;

/** Bytes as MB (10^6, as podman prints them). */
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function imageSize(image: string): Promise<number> {
  const result = await podman(['image', 'inspect', '--format', '{{.Size}}', image]);
  expect(result.code, result.stderr).toBe(0);
  return Number(result.stdout.trim());
}

async function metrics(port: number, scheme = 'http'): Promise<string> {
  return fetch(`${scheme}://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    (e: Error) => `no answer: ${e.message}`,
  );
}

/**
 * Polls `podman healthcheck run` until it exits 0, healthy (the exporter may still be starting).
 * Podman prints nothing when healthy, `unhealthy` and exits 1 otherwise.
 */
async function expectHealthy(container: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const result = await healthy(container);
        if (result.code === 0) return 'healthy';
        // What the probe printed, as the engine recorded it, then the exporter's own log.
        const probe = await podman([
          'inspect',
          '--format',
          '{{range .State.Health.Log}}{{.Output}}{{"\\n"}}{{end}}',
          container,
        ]);
        return `${result.code} ${result.stdout.trim()}\nprobe: ${probe.stdout.trim().split('\n').at(-1) ?? ''}\n${await logs(container)}`;
      },
      { timeout: 30_000, interval: 1_000 },
    )
    .toBe('healthy');
}

async function logs(container: string): Promise<string> {
  const result = await podman(['logs', container]);
  return result.stdout + result.stderr;
}

describe.skipIf(rootless || programs.some((p) => p.missing))(
  'the Docker image, built from the Dockerfile and run by podman',
  () => {
    const containers = new Containers();
    let dir: string;
    let simulator: Awaited<ReturnType<typeof startSimulator>>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'zexa-image-test-'));
      chmodSync(dir, 0o755);
      const base = await runShown('bash', [join(REPO_ROOT, 'scripts/image-base.sh'), BASE]);
      if (base !== 0) throw new Error(`scripts/image-base.sh failed with ${base}`);
      const started = Date.now();
      const build = await runShown('podman', [
        '--runtime',
        'runc',
        'build',
        '--format',
        'docker',
        '--network',
        'host',
        ...LIMITS,
        '--build-arg',
        `NODE_IMAGE=${BASE}`,
        '-t',
        IMAGE,
        REPO_ROOT,
      ]);
      if (build !== 0) throw new Error(`podman build failed with ${build}`);
      console.log(`image-test: built ${IMAGE} from the Dockerfile in ${Math.round((Date.now() - started) / 1000)} s`);
      simulator = await startSimulator({
        host: '127.0.0.1',
        port: 0,
        accounts: [{ name: 'default', key: KEY, credits: 4250 }],
      });
    }, 900_000);

    afterAll(async () => {
      await containers.removeAll();
      await simulator?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** Settings every exporter container gets: the simulator's URL, and a listen address on the host. */
    function hostNetwork(port: number): string[] {
      return [
        '--network',
        'host',
        '-e',
        `ZEXA_API_URL=${simulator.url}`,
        '-e',
        `ZEXA_EXPORTER_LISTEN_ADDRESS=127.0.0.1:${port}`,
      ];
    }

    it("prints the image size beside the base's, and the layers that make the difference", async () => {
      const [base, image] = [await imageSize(BASE), await imageSize(IMAGE)];
      const history = await podman(['history', '--format', '{{.Size}}\t{{.CreatedBy}}', IMAGE]);
      expect(history.code, history.stderr).toBe(0);
      // The layers above the base: the base is one imported layer, listed last.
      const layers = history.stdout
        .trim()
        .split('\n')
        .slice(0, -1)
        .filter((l) => !/^0 ?B\t/.test(l));
      console.log(
        [
          `image-test: size: ${IMAGE} ${mb(image)}, base ${BASE} ${mb(base)}, added ${mb(image - base)}`,
          ...layers.map((l) => `image-test:   layer ${l.replace(/\s+/g, ' ').slice(0, 140)}`),
        ].join('\n'),
      );
      expect(image).toBeGreaterThan(base);
    });

    describe('-e ZEXA_API_KEY, read-only, all capabilities dropped', () => {
      let container: string;
      let port: number;

      beforeAll(async () => {
        port = await freePort();
        // `-e ZEXA_API_KEY` without a value passes podman's own variable: the key is not on a command line.
        container = await containers.start([...HARDENED, ...hostNetwork(port), '-e', 'ZEXA_API_KEY', IMAGE], {
          ...process.env,
          ZEXA_API_KEY: KEY,
        });
      }, 120_000);

      it('serves zexa_up{account="default"} 1 from the simulator on the host', async () => {
        await expect
          .poll(() => metrics(port), { timeout: 60_000, interval: 500 })
          .toMatch(/^zexa_up\{account="default"\} 1$/m);
        expect(await metrics(port)).toMatch(/^zexa_credits_remaining\{account="default",currency="USD"\} 4250$/m);
        expect(await logs(container)).not.toContain(KEY);
      }, 90_000);

      it('is healthy by the HEALTHCHECK on a non-default ZEXA_EXPORTER_LISTEN_ADDRESS', async () => {
        await expectHealthy(container);
      }, 60_000);

      it('runs as uid 1000 with no capabilities, no new privileges and a read-only root', async () => {
        const id = await podman(['exec', container, 'id', '-u']);
        expect(id.stdout.trim()).toBe(String(UID));
        // The exporter itself, PID 1 of the container.
        const status = await podman(['exec', container, 'cat', '/proc/1/status']);
        expect(status.code, status.stderr).toBe(0);
        expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status.stdout)?.slice(1)).toEqual([String(UID), String(UID)]);
        expect(/^CapEff:\s+(\S+)/m.exec(status.stdout)?.[1]).toBe('0000000000000000');
        expect(/^CapBnd:\s+(\S+)/m.exec(status.stdout)?.[1]).toBe('0000000000000000');
        expect(/^NoNewPrivs:\s+(\d)/m.exec(status.stdout)?.[1]).toBe('1');
        const inspect = await podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container]);
        expect(inspect.stdout.trim()).toBe('true');
        const write = await podman(['exec', container, 'touch', '/etc/zexa-written']);
        expect(write.code).not.toBe(0);
        expect(write.stderr).toContain('Read-only file system');
      });

      it('podman stop: SIGTERM ends it with exit code 0 (podman would SIGKILL it after 10 s: 137)', async () => {
        const stop = await podman(['stop', '-t', '10', container]);
        expect(stop.code, stop.stderr).toBe(0);
        const exit = await podman(['inspect', '--format', '{{.State.ExitCode}}', container]);
        expect(exit.stdout.trim(), await logs(container)).toBe('0');
        expect(await logs(container)).toMatch(/SIGTERM/);
      }, 60_000);
    });

    it('the process cannot write to /app, even with a writable root file system: the files belong to root', async () => {
      const result = await podman([
        'run',
        '--rm',
        ...LIMITS,
        '--network',
        'none',
        '--entrypoint',
        'node',
        IMAGE,
        '-e',
        "for (const f of ['/app/dist/main.js', '/app/package.json', '/app/new-file']) { try { require('fs').writeFileSync(f, 'x'); console.log('wrote ' + f); } catch (e) { console.log(e.code + ' ' + f); } }",
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim().split('\n')).toEqual([
        'EACCES /app/dist/main.js',
        'EACCES /app/package.json',
        'EACCES /app/new-file',
      ]);
    });

    it('holds the production dependencies, dist/ and package.json in /app; no devDependency, src/ or test/', async () => {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
      };
      const listing = await podman([
        'run',
        '--rm',
        ...LIMITS,
        '--network',
        'none',
        '--entrypoint',
        'sh',
        IMAGE,
        '-c',
        'ls -A /app; echo ---; cd /app/node_modules && ls -d * @*/* ; echo ---; find / -xdev \\( -path /proc -o -path /sys \\) -prune -o \\( -name src -o -name test \\) -type d -path "/app/*" -print | grep -v "^/app/node_modules/" ; true',
      ]);
      expect(listing.code, listing.stderr).toBe(0);
      const [top, modules, sourceDirs] = listing.stdout.split('---\n').map((part) =>
        part
          .trim()
          .split('\n')
          .filter((l) => l !== ''),
      );
      expect(top!.sort()).toEqual(['dist', 'node_modules', 'package.json']);
      for (const dep of Object.keys(pkg.dependencies)) expect(modules, `dependency ${dep}`).toContain(dep);
      for (const dev of Object.keys(pkg.devDependencies)) expect(modules, `devDependency ${dev}`).not.toContain(dev);
      expect(sourceDirs, 'src/ or test/ directories under /app outside node_modules').toEqual([]);
      const ts = await podman([
        'run',
        '--rm',
        ...LIMITS,
        '--network',
        'none',
        '--entrypoint',
        'sh',
        IMAGE,
        '-c',
        'find /app/dist -name "*.ts" -o -name "*.test.*" | head',
      ]);
      expect(ts.stdout.trim(), 'TypeScript sources or tests in /app/dist').toBe('');
    });

    it('the config-file form, a key directory mounted read-only and --web.listen-address, serves zexa_up{account="default"} 1', async () => {
      const etc = join(dir, 'etc-zexa-exporter');
      mkdirSync(etc, { mode: 0o755 });
      mkdirSync(join(etc, 'keys'), { mode: 0o700 });
      writeFileSync(join(etc, 'keys', 'default'), `${KEY}\n`, { mode: 0o600 });
      writeFileSync(join(etc, 'config.yml'), 'accounts:\n  - fromDirectory: /etc/zexa-exporter/keys\n', {
        mode: 0o644,
      });
      // As a Kubernetes Secret with fsGroup gives them: readable by the image's user, by no one else.
      for (const path of [join(etc, 'keys'), join(etc, 'keys', 'default')]) chownSync(path, UID, UID);
      const port = await freePort();
      const container = await containers.start([
        ...HARDENED,
        '--network',
        'host',
        '-e',
        `ZEXA_API_URL=${simulator.url}`,
        '-v',
        `${etc}:/etc/zexa-exporter:ro`,
        '-e',
        'ZEXA_EXPORTER_CONFIG=/etc/zexa-exporter/config.yml',
        IMAGE,
        `--web.listen-address=127.0.0.1:${port}`,
      ]);
      await expect
        .poll(async () => `${await metrics(port)}\n${await logs(container)}`, { timeout: 60_000, interval: 500 })
        .toMatch(/^zexa_up\{account="default"\} 1$/m);
    }, 120_000);

    it("the demo command from the Dockerfile's header serves its six accounts, and is healthy on the default port", async () => {
      const [entrypoint, ...args] = demoCommand(loadDockerfile().text);
      const port = await freePort();
      // As documented: `-p 10025:10025`, here on a free host port of loopback; the container has
      // its own network namespace, so the exporter and the HEALTHCHECK use the default port 10025.
      const container = await containers.start([
        ...HARDENED,
        '-p',
        `127.0.0.1:${port}:10025`,
        '--entrypoint',
        entrypoint!,
        IMAGE,
        ...args,
      ]);
      const names = demoAccounts()
        .map((a) => a.name)
        .sort();
      expect(names).toHaveLength(6);
      await expect
        .poll(
          async () =>
            [...(await metrics(port)).matchAll(/^zexa_up\{account="([^"]+)"\} [01]$/gm)].map((m) => m[1]).sort(),
          {
            timeout: 60_000,
            interval: 500,
          },
        )
        .toEqual(names);
      await expectHealthy(container);
    }, 120_000);

    it('is healthy by the HEALTHCHECK on the default port (its own network namespace, no API reachable)', async () => {
      const container = await containers.start([...HARDENED, '--network', 'none', '-e', 'ZEXA_API_KEY', IMAGE], {
        ...process.env,
        ZEXA_API_KEY: KEY,
      });
      await expectHealthy(container);
    }, 60_000);

    it('is healthy by the HEALTHCHECK with a TLS web config mounted, on a non-default port', async () => {
      const tls = join(dir, 'web');
      mkdirSync(tls, { mode: 0o755 });
      const certs = makeCerts(openssl.path!, tls);
      writeFileSync(join(tls, 'web.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
      chownSync(certs.serverKey, UID, UID);
      chmodSync(certs.serverKey, 0o600);
      const port = await freePort();
      const container = await containers.start(
        [
          ...HARDENED,
          ...hostNetwork(port),
          '-e',
          'ZEXA_API_KEY',
          '-v',
          `${tls}:/etc/zexa-web:ro`,
          '-e',
          'ZEXA_EXPORTER_WEB_CONFIG=/etc/zexa-web/web.yml',
          IMAGE,
        ],
        { ...process.env, ZEXA_API_KEY: KEY },
      );
      await expectHealthy(container);
      // It is TLS indeed: plain HTTP on that port gets no metrics.
      expect(await metrics(port)).not.toMatch(/^zexa_up/m);
    }, 120_000);

    it('is unhealthy by the HEALTHCHECK while no listener is up', async () => {
      // The image with its HEALTHCHECK, its process replaced by one that never listens.
      const container = await containers.start([
        ...HARDENED,
        '--network',
        'none',
        '--entrypoint',
        'sleep',
        IMAGE,
        '600',
      ]);
      const result = await healthy(container);
      expect(`${result.code} ${result.stdout.trim()}`).toBe('1 unhealthy');
    }, 60_000);

    // The HEALTHCHECK command carries no flags; the probe takes those of the exporter running as
    // PID 1 (/proc/1/cmdline), so a flag given to the container moves the probe with the listener.
    it('is healthy by the HEALTHCHECK on a non-default --web.listen-address given as a container argument', async () => {
      const port = await freePort();
      const container = await containers.start(
        [...HARDENED, '--network', 'none', '-e', 'ZEXA_API_KEY', IMAGE, `--web.listen-address=127.0.0.1:${port}`],
        {
          ...process.env,
          ZEXA_API_KEY: KEY,
        },
      );
      await expect
        .poll(
          async () =>
            (
              await podman([
                'exec',
                container,
                'node',
                '-e',
                `fetch('http://127.0.0.1:${port}/healthz').then((r) => console.log(r.status), () => console.log(0))`,
              ])
            ).stdout.trim(),
          {
            timeout: 30_000,
            interval: 500,
          },
        )
        .toBe('200');
      expect((await healthy(container)).code).toBe(0);
    }, 60_000);
  },
);
