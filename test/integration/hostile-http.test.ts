/**
 * Hostile HTTP input against the real server: methods, bodies, paths and headers no scraper sends,
 * HTML from the API shown on the status page, and hostile configuration files on reload. The
 * server answers each with a fixed, short message, never echoes what it was sent, and keeps
 * serving.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/exporter-harness.js';
import { rawRequest } from '../support/raw-http.js';

const dir = mkdtempSync(join(tmpdir(), 'zexa-hostile-'));
const ACCOUNT = { name: 'production', key: 'zx_hostile_production_5e2c8a1f', credits: 4250 };
const configFile = join(dir, 'config.yml');
const GOOD_CONFIG = 'accounts:\n  - name: production\n    apiKeyEnv: PRODUCTION_KEY\n';

let h: Harness;
let port: number;

beforeAll(async () => {
  writeFileSync(configFile, GOOD_CONFIG);
  h = await startHarness({
    accounts: [ACCOUNT],
    withoutEnvKey: ['production'],
    env: { PRODUCTION_KEY: ACCOUNT.key },
    configFile,
  });
  port = Number(new URL(h.exporter.url).port);
  await h.until(async () => (await h.sample('zexa_up{account="production"}')) === 1);
});

afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function stillServing(): Promise<void> {
  const response = await fetch(`${h.exporter.url}/metrics`);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('zexa_up{account="production"} 1\n');
}

describe('hostile HTTP requests', () => {
  it('read endpoints answer GET and HEAD only; other methods get 405 with Allow', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/']) {
      const head = await fetch(`${h.exporter.url}${path}`, { method: 'HEAD' });
      expect(head.status, `HEAD ${path}`).toBe(200);
      expect(await head.text()).toBe('');
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const response = await fetch(`${h.exporter.url}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
        expect(await response.text()).toBe('Method Not Allowed\n');
      }
      // Methods fetch refuses to send, over a bare socket.
      for (const method of ['TRACE', 'PROPFIND']) {
        const response = await rawRequest(port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.allow).toBe('GET, HEAD');
      }
    }
  });

  it('POST /-/reload takes no body: 413 for a body, large or chunked, and GET gets 405 with Allow: POST', async () => {
    expect((await fetch(`${h.exporter.url}/-/reload`, { method: 'POST', body: '{}' })).status).toBe(413);
    const large = await rawRequest(
      port,
      `POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\nConnection: close\r\n\r\n${'x'.repeat(64 * 1024)}`,
    );
    expect(large.status).toBe(413);
    const chunked = await rawRequest(
      port,
      'POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    expect(chunked.status).toBe(413);
    const get = await fetch(`${h.exporter.url}/-/reload`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    // None of these reloaded anything.
    expect(await h.sample('zexa_exporter_config_last_reload_successful')).toBe(1);
    await stillServing();
  });

  it('long and odd paths get a plain 404 (or 400/431) that never echoes the path', async () => {
    const paths = [
      `/${'a'.repeat(8 * 1024)}`,
      '/%00',
      '/..%2f..%2fetc%2fpasswd',
      '/../../etc/passwd',
      '/<script>alert(1)</script>',
      '/"><img src=x onerror=alert(1)>',
      '/ünïcødé/☃',
      '/metrics%00',
      '/%E0%A4%A',
      '//metrics/..',
      '/metrics/../../x',
    ];
    for (const path of paths) {
      const response = await rawRequest(
        port,
        Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'utf8'),
      );
      expect([400, 404], `GET ${path.slice(0, 40)} → ${response.status}`).toContain(response.status);
      // Received bytes are latin1 text; the path as it went out is compared the same way.
      const sent = Buffer.from(path, 'utf8').toString('latin1');
      expect(response.raw).not.toContain(sent);
      expect(response.raw).not.toContain('<script>');
      // Node's parser refuses some request lines itself with an empty 400; the app says Not Found.
      expect(response.body, path.slice(0, 40)).toMatch(
        response.status === 400 ? /^(Bad Request\n)?$/ : /^Not Found\n$/,
      );
    }
    // 100 KB of path is over Node's header limit: refused before routing, and not echoed either.
    const huge = `/${'b'.repeat(100 * 1024)}`;
    const response = await rawRequest(port, `GET ${huge} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect([0, 404, 414, 431]).toContain(response.status);
    expect(response.raw).not.toContain('b'.repeat(64));
    await stillServing();
  });

  it('huge or very many headers get 431 or a closed connection, and the server keeps serving', async () => {
    const huge = await rawRequest(
      port,
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: ${'h'.repeat(100 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    expect([0, 431]).toContain(huge.status);
    expect(huge.raw).not.toContain('h'.repeat(64));
    const many = Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const manyResponse = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\nConnection: close\r\n\r\n`,
    );
    expect([0, 200, 431]).toContain(manyResponse.status);
    await stillServing();
  });
});

describe('HTML from the API on the status page', () => {
  it('an error message and request id carrying markup are shown escaped, end to end', async () => {
    const api = createServer((_req, res) => {
      const body = JSON.stringify({
        error: { message: '<script>alert(1)</script>', request_id: '<img src=x onerror=alert(1)>' },
      });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const hostile = await startHarness({
      accounts: [ACCOUNT],
      env: { ZEXA_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}` },
    });
    try {
      await hostile.until(
        async () =>
          ((await hostile.sample('zexa_poll_errors_total{account="production",reason="client_error"}')) ?? 0) >= 1,
      );
      const response = await fetch(`${hostile.exporter.url}/`);
      const page = await response.text();
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(page).not.toContain('<script>alert');
      expect(page).not.toContain('<img src=x');
      expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(await hostile.metricsText()).not.toMatch(/<script|<img/);
    } finally {
      await hostile.close();
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
  });
});

describe('hostile configuration on reload', () => {
  const bombFixture = fileURLToPath(new URL('../fixtures/config/bad/alias-bomb.yml', import.meta.url));
  const cases: [what: string, write: (path: string) => void, expected: RegExp][] = [
    ['a 10 MB file', (p) => writeFileSync(p, `${GOOD_CONFIG}# ${'x'.repeat(10 * 1024 * 1024)}\n`), /larger than 1 MiB/],
    ['a YAML alias bomb', (p) => copyFileSync(bombFixture, p), /aliases/],
    [
      'unknown fields',
      (p) => writeFileSync(p, `${GOOD_CONFIG}    bogus: 1\nsurprise: true\n`),
      /bogus[\s\S]*surprise|surprise[\s\S]*bogus/,
    ],
    [
      'a bad account name',
      (p) => writeFileSync(p, 'accounts:\n  - name: "<b>Prod</b>"\n    apiKeyEnv: PRODUCTION_KEY\n'),
      /accounts\[0\]\.name/,
    ],
  ];
  for (const [what, write, expected] of cases) {
    it(`${what}: 400 with the problems, the running configuration kept, reload_successful 0`, async () => {
      const requestsBefore = h.sim.requestCount('production');
      write(configFile);
      try {
        const response = await fetch(`${h.exporter.url}/-/reload`, { method: 'POST' });
        expect(response.status).toBe(400);
        const body = await response.text();
        expect(body).toMatch(/^configuration not reloaded; the running configuration is kept:\n- /);
        expect(body).toMatch(expected);
        // Plain text that browsers must not sniff as HTML: a quoted bad value cannot become markup.
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(body.length).toBeLessThan(4096);
        expect(await h.sample('zexa_exporter_config_last_reload_successful')).toBe(0);
        expect(h.exporter.config().accounts.map((a) => a.name)).toEqual(['production']);
        // Polling goes on with the old configuration.
        await h.until(() => h.sim.requestCount('production') >= requestsBefore + 2);
        await stillServing();
      } finally {
        writeFileSync(configFile, GOOD_CONFIG);
        const restored = await fetch(`${h.exporter.url}/-/reload`, { method: 'POST' });
        expect(restored.status).toBe(200);
        expect(await h.sample('zexa_exporter_config_last_reload_successful')).toBe(1);
      }
    });
  }
});
