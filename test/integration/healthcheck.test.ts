/**
 * `zexa-exporter healthcheck` (issue 15) against the real exporter process: it reads the same
 * flags and web config as the exporter, so it finds /healthz on a non-default port and over TLS,
 * and it fails, naming the URL, when nothing healthy answers there.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, loadWebSettings } from '../../src/config/load.js';
import type { ConfigSources } from '../../src/config/types.js';
import { probeHost } from '../../src/http/healthcheck.js';
import { requireProgram } from '../support/external.js';
import { MAIN, runExporter, type ExporterProcess } from '../support/process.js';
import { freePort } from '../support/prometheus-stack.js';
import { makeCerts, type TestCerts } from '../fixtures/web-config/make-certs.js';

const openssl = requireProgram(['openssl'], 'openssl');

const ENV = { ZEXA_API_KEY: 'zx_test_healthcheck_0001', ZEXA_API_URL: 'http://127.0.0.1:9' };

function healthcheck(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, 'healthcheck', ...args],
      { env: { PATH: process.env.PATH ?? '', ...ENV }, timeout: 20_000 },
      (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr });
      },
    );
  });
}

async function started(args: string[]): Promise<ExporterProcess> {
  const exporter = runExporter(args, ENV);
  await exporter.port();
  return exporter;
}

async function stop(exporter: ExporterProcess | undefined): Promise<void> {
  if (exporter === undefined || exporter.child.exitCode !== null) return;
  exporter.kill('SIGTERM');
  await exporter.exited;
}

describe('probeHost', () => {
  it('dials loopback where the exporter listens on every interface, else the configured host', () => {
    expect(probeHost(undefined)).toBe('127.0.0.1');
    expect(probeHost('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHost('::')).toBe('::1');
    expect(probeHost('127.0.0.2')).toBe('127.0.0.2');
    expect(probeHost('localhost')).toBe('localhost');
  });
});

describe('loadWebSettings', () => {
  const file =
    'web:\n  listenAddress: 127.0.0.1:9911\n  configFile: web.yml\naccounts:\n  - name: a\n    apiKeyFile: /nonexistent/key\n';
  const sources = (argv: string[], env: Record<string, string>): ConfigSources => ({
    argv,
    env,
    readFile: (p) => {
      if (p === '/etc/zexa/config.yml') return file;
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    },
    readDir: () => [],
  });

  it('reads the web settings as loadConfig does, without needing a key', () => {
    const s = sources(['--config.file=/etc/zexa/config.yml'], {});
    expect(loadWebSettings(s)).toMatchObject({
      listenAddress: '127.0.0.1:9911',
      host: '127.0.0.1',
      port: 9911,
      configFile: '/etc/zexa/web.yml',
    });
    // The full load fails on the missing key file; the probe does not care.
    expect(() => loadConfig(s)).toThrow(/nonexistent/);
    const withKey = sources(['--web.listen-address=:9912'], { ZEXA_API_KEY: 'zx_test_healthcheck_0002' });
    expect(loadWebSettings(withKey)).toEqual(loadConfig(withKey).web);
  });

  it("neither parses nor checks the file's accounts, and still checks every other setting", () => {
    const broken = (after: string): ConfigSources => ({
      argv: ['--config.file=/etc/zexa/config.yml'],
      env: {},
      readFile: () =>
        `web:\n  listenAddress: 127.0.0.1:9915\naccounts:\n  - name: "not a name"\n    apiKey: zx_in_the_file\n  - [\n${after}`,
      readDir: () => [],
    });
    expect(() => loadConfig(broken(''))).toThrow(ConfigError);
    expect(loadWebSettings(broken('')).port).toBe(9915);
    // A bad setting after the accounts is still found, on its own line.
    expect(() => loadWebSettings(broken('log:\n  level: loud\n'))).toThrow(/config\.yml:8: log\.level/);
  });

  it('follows the same precedence: flag over variable over file', () => {
    const s = sources(['--config.file=/etc/zexa/config.yml', '--web.listen-address=:9913'], {
      ZEXA_EXPORTER_LISTEN_ADDRESS: ':9914',
    });
    expect(loadWebSettings(s).port).toBe(9913);
    expect(
      loadWebSettings(sources(['--config.file=/etc/zexa/config.yml'], { ZEXA_EXPORTER_LISTEN_ADDRESS: ':9914' })).port,
    ).toBe(9914);
  });
});

describe('zexa-exporter healthcheck, plain HTTP on a non-default port', () => {
  let exporter: ExporterProcess | undefined;
  let listen: string;

  beforeAll(async () => {
    listen = `127.0.0.1:${await freePort()}`;
    exporter = await started([`--web.listen-address=${listen}`]);
  });
  afterAll(() => stop(exporter));

  it('exits 0 when /healthz on the configured address answers 200', async () => {
    expect(await healthcheck([`--web.listen-address=${listen}`])).toEqual({ code: 0, stderr: '' });
  });

  it('reads the listen address from the environment as the exporter does', async () => {
    const result = await new Promise<number>((resolve) => {
      execFile(
        process.execPath,
        [MAIN, 'healthcheck'],
        { env: { PATH: process.env.PATH ?? '', ...ENV, ZEXA_EXPORTER_LISTEN_ADDRESS: listen } },
        (error) => resolve(error === null ? 0 : Number(error.code)),
      );
    });
    expect(result).toBe(0);
  });

  it("reads the config file's settings without its accounts, however many and whatever they hold", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zexa-healthcheck-'));
    try {
      const file = path.join(dir, 'config.yml');
      const entries = Array.from({ length: 10_000 }, (_, i) => `  - name: acct_${i}\n    apiKeyFile: ${dir}/none\n`);
      writeFileSync(file, `web:\n  listenAddress: ${listen}\naccounts:\n${entries.join('')}  - nonsense: [\n`);
      expect(await healthcheck([`--config.file=${file}`])).toEqual({ code: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 and names the URL when nothing listens there', async () => {
    const port = await freePort();
    const result = await healthcheck([`--web.listen-address=127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('exits 1 with the configuration error when the configuration is broken', async () => {
    const result = await healthcheck(['--web.listen-address=nonsense']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^zexa-exporter healthcheck: [^]*--web.listen-address[^]*"nonsense"/);
  });
});

describe.skipIf(openssl.missing)('zexa-exporter healthcheck with TLS from the web config', () => {
  let dir: string;
  let certs: TestCerts;
  let exporter: ExporterProcess | undefined;
  let mtls: ExporterProcess | undefined;
  let listen: string;
  let mtlsListen: string;
  const webConfig = (name: string, body: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'zexa-healthcheck-'));
    certs = makeCerts(openssl.path!, dir);
    webConfig('tls.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
    webConfig(
      'mtls.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n',
    );
    listen = `127.0.0.1:${await freePort()}`;
    mtlsListen = `127.0.0.1:${await freePort()}`;
    exporter = await started([`--web.listen-address=${listen}`, `--web.config.file=${path.join(dir, 'tls.yml')}`]);
    mtls = await started([`--web.listen-address=${mtlsListen}`, `--web.config.file=${path.join(dir, 'mtls.yml')}`]);
  }, 60_000);

  afterAll(async () => {
    await stop(exporter);
    await stop(mtls);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 over HTTPS with the same web config, trusting the certificate it serves', async () => {
    expect(
      await healthcheck([`--web.listen-address=${listen}`, `--web.config.file=${path.join(dir, 'tls.yml')}`]),
    ).toEqual({ code: 0, stderr: '' });
  });

  it('presents the server certificate where the web config requires a client certificate', async () => {
    expect(
      await healthcheck([`--web.listen-address=${mtlsListen}`, `--web.config.file=${path.join(dir, 'mtls.yml')}`]),
    ).toEqual({ code: 0, stderr: '' });
  });

  it('exits 1 when asking in plain HTTP a server that speaks TLS', async () => {
    const result = await healthcheck([`--web.listen-address=${listen}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`http://${listen}/healthz`);
  });

  it("exits 1 when the server shows a certificate other than the web config's", async () => {
    const other = webConfig(
      'other.yml',
      `tls_server_config:\n  cert_file: ${certs.clientCert}\n  key_file: ${certs.clientKey}\n`,
    );
    const result = await healthcheck([`--web.listen-address=${listen}`, `--web.config.file=${other}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("certificate other than the web config's cert_file");
  });
});
