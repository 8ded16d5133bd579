/**
 * Proxy conventions (issue 15), with a logging proxy on 127.0.0.1 that both forwards
 * absolute-URI requests and tunnels CONNECT, and records which it was asked for:
 * - only HTTP_PROXY set: an https:// API URL goes direct, as with curl and Go;
 * - HTTPS_PROXY set: an https:// API URL is tunnelled through it with CONNECT;
 * - an http:// API URL goes through HTTP_PROXY forwarded (`GET http://host/v1/credits`), not
 *   tunnelled;
 * - NO_PROXY exempts a host.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { systemClock } from '../../src/lib/clock.js';
import { createDispatcher, createZexaClient } from '../../src/zexa/client.js';

const KEY = 'zx_test_proxy_key_0001';
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listening(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** The Zexa API on loopback: plain HTTP, counts requests. */
async function startApi(): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} host=${req.headers.host}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"credits":7,"currency":"USD"}');
  });
  return { port: await listening(server), requests };
}

/** A forward proxy that logs every request line: forwards absolute URIs, tunnels CONNECT; all to `apiPort` on loopback. */
async function startLoggingProxy(apiPort: number): Promise<{ url: string; log: string[] }> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: apiPort,
        method: req.method,
        path: new URL(req.url ?? '/').pathname,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`);
    const upstream = net.connect(apiPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listening(server);
  return { url: `http://127.0.0.1:${port}`, log };
}

/** A TCP port that records connections and closes them: where a direct https:// attempt lands. */
async function startDirectTarget(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    socket.destroy();
  });
  return { port: await listening(server), connections: () => count };
}

function clientFor(env: Record<string, string>, baseUrl: string) {
  const dispatcher: Dispatcher = createDispatcher({ timeoutMs: 5000, env });
  closers.push(() => dispatcher.close());
  return createZexaClient({
    baseUrl,
    timeoutMs: 5000,
    dispatcher,
    userAgent: 'zexa-exporter/test',
    clock: systemClock,
  });
}

describe('proxy conventions', () => {
  it('with only HTTP_PROXY set, an https:// API URL goes direct, not through the proxy', async () => {
    const api = await startApi();
    const proxy = await startLoggingProxy(api.port);
    const direct = await startDirectTarget();
    const client = clientFor({ HTTP_PROXY: proxy.url }, `https://127.0.0.1:${direct.port}`);
    // The direct connection reaches the target, which hangs up: a network error, not a proxy one.
    await expect(client.fetchCredits(KEY)).rejects.toMatchObject({ reason: 'network' });
    expect(direct.connections()).toBe(1);
    expect(proxy.log).toEqual([]);
  });

  it('with HTTPS_PROXY set, an https:// API URL is tunnelled through it', async () => {
    const api = await startApi();
    const proxy = await startLoggingProxy(api.port);
    const client = clientFor({ HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: proxy.url }, 'https://zexa.invalid');
    // The tunnel leads to a plain-HTTP server, so TLS fails after the CONNECT: what counts is the CONNECT.
    await expect(client.fetchCredits(KEY)).rejects.toBeDefined();
    expect(proxy.log).toEqual(['CONNECT zexa.invalid:443']);
  });

  it.each([['HTTP_PROXY'], ['http_proxy']])(
    'an http:// API URL is forwarded through %s, not tunnelled',
    async (variable) => {
      const api = await startApi();
      const proxy = await startLoggingProxy(api.port);
      const client = clientFor({ [variable]: proxy.url }, 'http://zexa.invalid');
      await expect(client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 7, currency: 'USD' });
      expect(proxy.log).toEqual(['GET http://zexa.invalid/v1/credits']);
      expect(api.requests).toEqual(['GET /v1/credits host=zexa.invalid']);
    },
  );

  it('prefers the lower-case variable', async () => {
    const api = await startApi();
    const proxy = await startLoggingProxy(api.port);
    const client = clientFor({ HTTP_PROXY: 'http://127.0.0.1:9', http_proxy: proxy.url }, 'http://zexa.invalid');
    await expect(client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 7 });
    expect(proxy.log).toEqual(['GET http://zexa.invalid/v1/credits']);
  });

  it('NO_PROXY exempts a host: straight to the API', async () => {
    const api = await startApi();
    const proxy = await startLoggingProxy(api.port);
    const client = clientFor(
      { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' },
      `http://127.0.0.1:${api.port}`,
    );
    await expect(client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 7 });
    expect(proxy.log).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });
});
