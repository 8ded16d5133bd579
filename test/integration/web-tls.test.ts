/**
 * The web config end to end: a small app (src/lib/routing.ts) with /metrics and /healthz behind
 * createHttpServer + the middlewares on 127.0.0.1, real TLS with certificates openssl makes at
 * test time, and a real Prometheus scraping it through TLS and basic auth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { basicAuthMiddleware, headersMiddleware } from '../../src/http/web-config/auth.js';
import { loadWebConfig, type WebConfig } from '../../src/http/web-config/parse.js';
import { openWebConfig, type WebConfigSource } from '../../src/http/web-config/source.js';
import { Router } from '../../src/lib/routing.js';
import { createHttpServer } from '../../src/http/server.js';
import { requireProgram } from '../support/external.js';
import { until } from '../support/wait.js';
import { makeCerts, type TestCerts } from '../fixtures/web-config/make-certs.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/web-config/good');
const openssl = requireProgram(['openssl'], 'openssl');
const prometheus = requireProgram(['prometheus'], 'prometheus');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** SHA-256 fingerprint of the server certificate, for HTTPS. */
  serverCert: string | undefined;
}

function get(url: string, options: https.RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // agent: false: every request is a new connection, so each one goes through the handshake.
    const req = mod.request(u, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const socket = res.socket as tls.TLSSocket;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          serverCert:
            typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().fingerprint256 : undefined,
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The connection was refused or cut by TLS, at once: a time-out would prove nothing. */
async function expectRefused(reply: Promise<Reply>): Promise<void> {
  const err = await reply.then(
    (r) => new Error(`expected the connection to be refused, got HTTP ${r.status}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect((err as NodeJS.ErrnoException).code ?? '').toMatch(/^(ECONNRESET|EPIPE|ERR_SSL_\w+|EPROTO)$/);
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Running {
  url: string;
  port: number;
  /** Requests that reached the /metrics handler, i.e. got past authentication. */
  metricsServed: number;
  close(): Promise<void>;
}

function start(web: WebConfig | WebConfigSource): Promise<Running> {
  const app = new Router(
    (_req, res) => res.status(404).type('text/plain').send('Not Found\n'),
    (error) => {
      throw error;
    },
  );
  const running = { metricsServed: 0 } as Running;
  app.use(headersMiddleware(web), basicAuthMiddleware(web, { unprotectedPaths: ['/healthz'] }));
  app.route('/metrics', (_req, res) => {
    running.metricsServed++;
    res.type('text/plain; version=0.0.4').send('# HELP zexa_up Test.\n# TYPE zexa_up gauge\nzexa_up 1\n');
  });
  app.route('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  const server = createHttpServer(web, app.listener());
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      running.port = port;
      running.url = `${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${port}`;
      running.close = () =>
        new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        });
      resolve(running);
    });
  });
}

describe.skipIf(openssl.missing)('web config over real TLS', () => {
  let certs: TestCerts;
  let dir = '';
  let running: Running | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zexa-web-tls-'));
    certs = makeCerts(openssl.path as string, dir);
    for (const f of readdirSync(FIXTURES)) copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ca = (): Buffer => readFileSync(certs.caCert);
  const clientCert = (which: 'client' | 'other-client' | 'self-signed'): https.RequestOptions => ({
    cert: readFileSync(path.join(dir, `${which}.crt`)),
    key: readFileSync(path.join(dir, `${which}.key`)),
  });

  it('asks for credentials on /metrics, accepts only the right ones, and leaves /healthz open', async () => {
    running = await start(loadWebConfig(path.join(dir, 'tls-basic-auth.yml')));
    expect(running.url).toMatch(/^https:/);

    const none = await get(`${running.url}/metrics`, { ca: ca() });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="zexa-exporter"');
    expect(none.body).not.toContain('zexa_up');

    const wrong = await get(`${running.url}/metrics`, {
      ca: ca(),
      headers: { authorization: basic('prometheus', 'wrong') },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="zexa-exporter"');
    const unknownUser = await get(`${running.url}/metrics`, {
      ca: ca(),
      headers: { authorization: basic('mallory', 'scrape-secret') },
    });
    expect(unknownUser.status).toBe(401);
    const garbage = await get(`${running.url}/metrics`, { ca: ca(), headers: { authorization: 'Basic %%%' } });
    expect(garbage.status).toBe(401);
    // Not /healthz, even though it starts like it.
    const lookalike = await get(`${running.url}/healthz/../metrics`, { ca: ca() });
    expect(lookalike.status).toBe(401);
    expect(running.metricsServed).toBe(0);

    // Twice: the second answer comes from the verification cache and must agree.
    for (let i = 0; i < 2; i++) {
      const right = await get(`${running.url}/metrics`, {
        ca: ca(),
        headers: { authorization: basic('prometheus', 'scrape-secret') },
      });
      expect(right.status).toBe(200);
      expect(right.body).toContain('zexa_up 1');
      expect(right.headers['x-content-type-options']).toBe('nosniff');
      expect(right.headers['x-frame-options']).toBe('deny');
    }
    const wrongAfterCache = await get(`${running.url}/metrics`, {
      ca: ca(),
      headers: { authorization: basic('prometheus', 'scrape-secreT') },
    });
    expect(wrongAfterCache.status).toBe(401);

    const health = await get(`${running.url}/healthz`, { ca: ca() });
    expect(health.status).toBe(200);
    expect(health.body).toBe('ok\n');
    // The configured headers are on every response, 401s and /healthz included.
    expect(health.headers['x-frame-options']).toBe('deny');
    expect(none.headers['x-frame-options']).toBe('deny');
    expect(running.metricsServed).toBe(2);
  });

  it('serves real TLS: the CA verifies it, an unknown CA does not, plain HTTP gets nothing', async () => {
    running = await start(loadWebConfig(path.join(dir, 'tls.yml')));
    const ok = await get(`${running.url}/metrics`, { ca: ca() });
    expect(ok.status).toBe(200);
    // By name as well as by IP: the certificate carries both SANs.
    expect((await get(`${running.url}/healthz`, { ca: ca(), servername: 'localhost' })).status).toBe(200);
    await expect(get(`${running.url}/metrics`)).rejects.toThrow(/certificate/i);
    await expectRefused(get(`http://127.0.0.1:${running.port}/metrics`));
    // TLS below the default minimum of TLS 1.2 is refused.
    await expectRefused(get(`${running.url}/metrics`, { ca: ca(), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  });

  it('RequireAndVerifyClientCert: no certificate or a foreign one is rejected, the CA-signed one passes', async () => {
    running = await start(loadWebConfig(path.join(dir, 'tls-client-auth.yml')));
    await expectRefused(get(`${running.url}/metrics`, { ca: ca() }));
    // Whole listener: probes need a certificate too, because TLS comes before the path.
    await expectRefused(get(`${running.url}/healthz`, { ca: ca() }));
    await expectRefused(get(`${running.url}/metrics`, { ca: ca(), ...clientCert('other-client') }));
    await expectRefused(get(`${running.url}/metrics`, { ca: ca(), ...clientCert('self-signed') }));
    const ok = await get(`${running.url}/metrics`, { ca: ca(), ...clientCert('client') });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('zexa_up 1');
  });

  it('RequireAnyClientCert and VerifyClientCertIfGiven behave as in Go', async () => {
    const withAuth = (type: string, caLine: string): string => {
      const file = path.join(dir, `client-auth-${type}.yml`);
      writeFileSync(
        file,
        `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: ${type}\n${caLine}`,
      );
      return file;
    };
    running = await start(loadWebConfig(withAuth('RequireAnyClientCert', '')));
    await expectRefused(get(`${running.url}/metrics`, { ca: ca() }));
    // Any certificate at all, unverified.
    expect((await get(`${running.url}/metrics`, { ca: ca(), ...clientCert('self-signed') })).status).toBe(200);
    await running.close();

    running = await start(loadWebConfig(withAuth('VerifyClientCertIfGiven', '  client_ca_file: ca.crt\n')));
    expect((await get(`${running.url}/metrics`, { ca: ca() })).status).toBe(200);
    expect((await get(`${running.url}/metrics`, { ca: ca(), ...clientCert('client') })).status).toBe(200);
    await expectRefused(get(`${running.url}/metrics`, { ca: ca(), ...clientCert('other-client') }));
  });

  it('picks up a new password and a rotated certificate without a restart', async () => {
    const file = path.join(dir, 'reloading.yml');
    const hashFor = (name: string): string =>
      readFileSync(path.join(dir, 'basic-auth.yml'), 'utf8').match(new RegExp(`${name}: "([^"]+)"`))?.[1] ?? '';
    const write = (user: string, hash: string, cert: string): void =>
      writeFileSync(
        file,
        `tls_server_config:\n  cert_file: ${cert}\n  key_file: server.key\nbasic_auth_users:\n  ${user}: "${hash}"\n`,
      );
    write('alice', hashFor('alice'), 'server.crt');
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const web = openWebConfig(file, { logger, checkIntervalMs: 0 });
    running = await start(web);
    const before = await get(`${running.url}/metrics`, {
      ca: ca(),
      headers: { authorization: basic('alice', 'correct horse') },
    });
    expect(before.status).toBe(200);

    // A new certificate and key from another CA: the next connection must present them.
    const renewed = makeCerts(openssl.path as string, mkdtempSync(path.join(dir, 'renew-')));
    copyFileSync(renewed.serverCert, path.join(dir, 'server-new.crt'));
    copyFileSync(renewed.serverKey, path.join(dir, 'server-new.key'));
    writeFileSync(
      file,
      `tls_server_config:\n  cert_file: server-new.crt\n  key_file: server-new.key\nbasic_auth_users:\n  bob: "${hashFor('bob')}"\n`,
    );

    const renewedCa = readFileSync(renewed.caCert);
    const after = await get(`${running.url}/metrics`, {
      ca: renewedCa,
      headers: { authorization: basic('bob', 'battery staple') },
    });
    expect(after.status).toBe(200);
    expect(after.serverCert).not.toBe(before.serverCert);
    const oldUser = await get(`${running.url}/metrics`, {
      ca: renewedCa,
      headers: { authorization: basic('alice', 'correct horse') },
    });
    expect(oldUser.status).toBe(401);
    expect(lines.some((l) => l.includes('web config reloaded'))).toBe(true);
  });

  describe.skipIf(prometheus.missing)('a real Prometheus', () => {
    let prom: ChildProcess | undefined;
    afterEach(async () => {
      if (prom !== undefined && prom.exitCode === null) {
        const exited = new Promise((r) => prom?.once('exit', r));
        prom.kill('SIGTERM');
        const timer = setTimeout(() => prom?.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      prom = undefined;
    });

    function freePort(): Promise<number> {
      return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
          const { port } = s.address() as net.AddressInfo;
          s.close(() => resolve(port));
        });
      });
    }

    it(
      'scrapes /metrics through TLS and basic auth with the settings docs/web-config.md shows',
      { timeout: 90_000 },
      async () => {
        running = await start(loadWebConfig(path.join(dir, 'tls-basic-auth.yml')));
        const promDir = mkdtempSync(path.join(dir, 'prometheus-'));
        writeFileSync(path.join(promDir, 'password'), 'scrape-secret\n');
        // The scrape_configs entry is the one in docs/web-config.md, with this test's paths.
        writeFileSync(
          path.join(promDir, 'prometheus.yml'),
          [
            'global:',
            '  scrape_interval: 1s',
            '  scrape_timeout: 1s',
            'scrape_configs:',
            '  - job_name: zexa',
            '    scheme: https',
            '    tls_config:',
            `      ca_file: ${certs.caCert}`,
            '    basic_auth:',
            '      username: prometheus',
            `      password_file: ${path.join(promDir, 'password')}`,
            '    static_configs:',
            `      - targets: ['127.0.0.1:${running.port}']`,
            '',
          ].join('\n'),
        );
        const promPort = await freePort();
        let output = '';
        prom = spawn(
          prometheus.path as string,
          [
            `--config.file=${path.join(promDir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${path.join(promDir, 'data')}`,
            `--web.listen-address=127.0.0.1:${promPort}`,
            '--log.level=warn',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        prom.stdout?.on('data', (c: Buffer) => (output += c.toString()));
        prom.stderr?.on('data', (c: Buffer) => (output += c.toString()));

        interface Target {
          health: string;
          lastError: string;
          scrapeUrl: string;
        }
        let target: Target | undefined;
        const promProcess = prom;
        await until(
          async () => {
            if (promProcess.exitCode !== null) return true;
            try {
              const res = await get(`http://127.0.0.1:${promPort}/api/v1/targets`);
              const body = JSON.parse(res.body) as { data?: { activeTargets?: Target[] } };
              target = body.data?.activeTargets?.[0];
            } catch {
              // Not listening yet.
            }
            return target?.health === 'up';
          },
          60_000,
          'prometheus to scrape the exporter over TLS',
          500,
        ).catch(() => undefined); // The expectation below says what was seen instead.
        if (prom.exitCode !== null) throw new Error(`prometheus exited with ${prom.exitCode}:\n${output}`);
        expect(target, `prometheus output:\n${output}`).toMatchObject({
          health: 'up',
          lastError: '',
          scrapeUrl: `https://127.0.0.1:${running.port}/metrics`,
        });
        expect(running.metricsServed).toBeGreaterThan(0);
      },
    );
  });
});
