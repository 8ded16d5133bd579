/**
 * Issue 12 D1 and D3: no file the exporter reads may freeze it or fill its memory. Every entry
 * point (key file, fromDirectory entry, config file, web config, TLS certificate, key and CA) is
 * given a FIFO, a device or an over-cap sparse file, at start-up and at runtime.
 *
 * The exporter runs as a real child process (dist/main.js): the code before the fix blocked
 * forever in open(), which in-process would hang the test runner instead of failing it. Every
 * wait is bounded, and a child that does not exit is killed, so the old code fails cleanly.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.js';
import { until } from '../support/exporter-harness.js';
import { runExporter, type ExporterProcess } from '../support/process.js';

const KEY = 'zx_HARDENINGTESTKEY01';
const dir = mkdtempSync(join(tmpdir(), 'zexa-fifo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/**
 * Prints the process's peak RSS (KiB) to stderr when it exits: a preload, so the exporter
 * itself is unchanged. `process.resourceUsage().maxRSS` is the kernel's high-water mark.
 */
const peakPreload = file(
  'peak.mjs',
  "process.on('exit', () => process.stderr.write(`\\npeak-rss-kib=${process.resourceUsage().maxRSS}\\n`));\n",
);

function peakKiB(output: string): number {
  const match = /peak-rss-kib=(\d+)/.exec(output);
  if (match === null) throw new Error(`no peak RSS line in:\n${output}`);
  return Number(match[1]);
}

/** Exits and collects both streams; kills the process if it has not ended within 20 s (the old code never did). */
async function finished(proc: ExporterProcess): Promise<{ code: number | null; output: string }> {
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.stdout() + proc.stderr() };
}

function start(args: string[], env: Record<string, string>): ExporterProcess {
  return runExporter(['--web.listen-address=127.0.0.1:0', ...args], {
    NODE_OPTIONS: `--import=${peakPreload}`,
    ...env,
  });
}

describe('start-up: a FIFO, a device or an over-cap file is exit 2 with a line naming it', () => {
  const NOT_REGULAR = 'is a FIFO (named pipe), not a regular file';
  const cases: [string, () => { args: string[]; env: Record<string, string>; want: string }][] = [
    [
      'a FIFO as ZEXA_API_KEY_FILE',
      () => {
        const path = fifo('key.fifo');
        return {
          args: [],
          env: { ZEXA_API_KEY_FILE: path },
          want: `key file ${path} of account "default" (from ZEXA_API_KEY_FILE) ${NOT_REGULAR}`,
        };
      },
    ],
    [
      'a FIFO in a fromDirectory folder',
      () => {
        const keys = join(dir, 'keys');
        mkdirSync(keys);
        writeFileSync(join(keys, 'alpha'), `${KEY}\n`);
        const path = join(keys, 'beta');
        execFileSync('mkfifo', [path]);
        const config = file('dir.yml', `accounts:\n  - fromDirectory: ${keys}\n`);
        return { args: [`--config.file=${config}`], env: {}, want: `key file ${path} of account "beta"` };
      },
    ],
    [
      'a FIFO as the config file',
      () => {
        const path = fifo('config.fifo');
        return {
          args: [`--config.file=${path}`],
          env: { ZEXA_API_KEY: KEY },
          want: `--config.file: config file ${path} ${NOT_REGULAR}`,
        };
      },
    ],
    [
      'a FIFO as --web.config.file',
      () => {
        const path = fifo('web.fifo');
        return {
          args: [`--web.config.file=${path}`],
          env: { ZEXA_API_KEY: KEY },
          want: `web config file ${JSON.stringify(path)} ${NOT_REGULAR}`,
        };
      },
    ],
    [
      'FIFOs as the TLS certificate, key and CA',
      () => {
        const [cert, key, ca] = [fifo('cert.fifo'), fifo('key-tls.fifo'), fifo('ca.fifo')];
        const web = file(
          'tls.yml',
          `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n  client_ca_file: ${ca}\n  client_auth_type: RequireAndVerifyClientCert\n`,
        );
        return {
          args: [`--web.config.file=${web}`],
          env: { ZEXA_API_KEY: KEY },
          want: `tls_server_config.cert_file: file ${JSON.stringify(cert)} ${NOT_REGULAR}`,
        };
      },
    ],
    [
      '/dev/zero as --web.config.file',
      () => ({
        args: ['--web.config.file=/dev/zero'],
        env: { ZEXA_API_KEY: KEY },
        want: 'web config file "/dev/zero" is a character device, not a regular file',
      }),
    ],
    [
      'a 1.5 GB sparse file as --web.config.file',
      () => {
        const path = file('sparse.yml', '');
        truncateSync(path, 1536 * 1024 * 1024);
        return {
          args: [`--web.config.file=${path}`],
          env: { ZEXA_API_KEY: KEY },
          want: `web config file ${JSON.stringify(path)} is larger than 1 MiB`,
        };
      },
    ],
    [
      'a 1.5 GB sparse file as the key file',
      () => {
        const path = file('sparse.key', '');
        truncateSync(path, 1536 * 1024 * 1024);
        return {
          args: [],
          env: { ZEXA_API_KEY_FILE: path },
          want: `key file ${path} of account "default" (from ZEXA_API_KEY_FILE) is larger than 1 MiB`,
        };
      },
    ],
  ];

  it.each(cases)('%s', async (_name, setup) => {
    const { args, env, want } = setup();
    const { code, output } = await finished(start(args, env));
    expect(code, output).toBe(2);
    expect(output).toContain(want);
    // Refused before a byte is read: the process stays at its import floor (issue 12 D3: under 100 MB).
    expect(peakKiB(output)).toBeLessThan(100 * 1024);
  });
});

describe('runtime: a FIFO never freezes the process', () => {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  beforeAll(async () => {
    sim = await startSimulator({
      accounts: [
        { name: 'alpha', key: KEY, credits: 4250 },
        { name: 'beta', key: `${KEY}B`, credits: 99 },
      ],
    });
  });
  afterAll(async () => sim.close());

  /** GET with a bound: a frozen exporter fails the test instead of hanging it. */
  async function get(url: string): Promise<{ status: number; text: string }> {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, text: await response.text() };
  }

  async function stop(proc: ExporterProcess): Promise<void> {
    proc.kill('SIGTERM');
    const { code } = await finished(proc);
    expect(code, 'exit code after SIGTERM').toBe(0);
  }

  it('a key file replaced by a FIFO is key_unavailable, the last balance is kept, /healthz answers', async () => {
    const keyFile = file('runtime.key', `${KEY}\n`);
    const proc = start([], {
      ZEXA_API_URL: sim.url,
      ZEXA_API_KEY_ALPHA_FILE: keyFile,
      ZEXA_POLL_INTERVAL: '5s',
      ZEXA_REQUEST_TIMEOUT: '1s',
    });
    try {
      const url = `http://127.0.0.1:${await proc.port()}`;
      await until(
        async () =>
          (await get(`${url}/metrics`)).text.includes('zexa_credits_remaining{account="alpha",currency="USD"} 4250'),
        20_000,
        'the first balance',
      );
      rmSync(keyFile);
      execFileSync('mkfifo', [keyFile]);
      await until(
        async () =>
          (await get(`${url}/metrics`)).text.includes(
            'zexa_poll_errors_total{account="alpha",reason="key_unavailable"} 1',
          ),
        20_000,
        'the FIFO poll',
      );
      // Throughout: the process answers, and keeps the last good balance.
      const health = await get(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect((await get(`${url}/metrics`)).text).toContain(
        'zexa_credits_remaining{account="alpha",currency="USD"} 4250',
      );
      expect(proc.stdout()).toContain('is a FIFO (named pipe), not a regular file');
    } finally {
      await stop(proc);
    }
  });

  it('a FIFO added to a fromDirectory folder before SIGHUP fails the reload and keeps serving', async () => {
    const keys = join(dir, 'runtime-keys');
    mkdirSync(keys);
    writeFileSync(join(keys, 'alpha'), `${KEY}\n`);
    const config = file('runtime-dir.yml', `accounts:\n  - fromDirectory: ${keys}\n`);
    const proc = start([`--config.file=${config}`], {
      ZEXA_API_URL: sim.url,
      ZEXA_POLL_INTERVAL: '5s',
      ZEXA_REQUEST_TIMEOUT: '1s',
    });
    try {
      const url = `http://127.0.0.1:${await proc.port()}`;
      await until(
        async () =>
          (await get(`${url}/metrics`)).text.includes('zexa_credits_remaining{account="alpha",currency="USD"} 4250'),
        20_000,
        'the first balance',
      );
      execFileSync('mkfifo', [join(keys, 'beta')]);
      proc.kill('SIGHUP');
      await until(() => proc.stdout().includes('configuration reload failed'), 20_000, 'the reload to fail');
      expect(proc.stdout()).toContain('is a FIFO (named pipe), not a regular file');
      expect((await get(`${url}/healthz`)).status).toBe(200);
      expect((await get(`${url}/metrics`)).text).toContain('zexa_exporter_config_last_reload_successful 0');
    } finally {
      await stop(proc);
    }
  });

  it('a web config replaced by a FIFO or /dev/zero is refused, the last good one stays, /healthz answers', async () => {
    const web = file('runtime-web.yml', 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
    const proc = start([`--web.config.file=${web}`], {
      ZEXA_API_URL: sim.url,
      ZEXA_API_KEY: KEY,
      ZEXA_POLL_INTERVAL: '5s',
    });
    try {
      const url = `http://127.0.0.1:${await proc.port()}`;
      expect((await get(`${url}/healthz`)).status).toBe(200);
      rmSync(web);
      execFileSync('mkfifo', [web]);
      // The web config is looked at again at most once a second, on a request.
      await until(
        async () =>
          (await get(`${url}/healthz`)).status === 200 &&
          proc.stdout().includes('is a FIFO (named pipe), not a regular file'),
        20_000,
        'the FIFO to be refused',
      );
      rmSync(web);
      execFileSync('ln', ['-s', '/dev/zero', web]);
      await until(
        async () =>
          (await get(`${url}/healthz`)).status === 200 &&
          proc.stdout().includes('is a character device, not a regular file'),
        20_000,
        '/dev/zero to be refused',
      );
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      expect(response.headers.get('x-frame-options')).toBe('deny');
    } finally {
      await stop(proc);
    }
  });
});
