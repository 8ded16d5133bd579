/**
 * Issue 12, "no connection cap": idle connections used to pile up until the process ran out of
 * file descriptors. Now --web.max-connections caps them (Node closes a connection beyond the cap
 * as soon as it is accepted), a connection that sends no request is closed after a while, and the
 * polls carry on while the cap is reached.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { limitConnections } from '../../src/http/connection-limits.js';
import { startExporter } from '../../src/runtime/exporter.js';
import { captureLogs } from '../support/log-capture.js';
import { startScriptedApi } from '../support/scripted-api.js';
import { ms, TEST_LIMITS } from '../support/test-limits.js';

const KEY = 'zx_connection_cap_6a2d9f4b1c';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP connection that sends nothing; resolves once connected. `closed` resolves when the server ends it. */
async function idleSocket(port: number): Promise<{ socket: net.Socket; closed: Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

describe('connection cap (issue 12)', () => {
  it('with --web.max-connections=5, a 6th connection is closed at once; /healthz works again once one is freed; polls go on', async () => {
    const api = await startScriptedApi(['100']);
    cleanups.push(() => api.close());
    // The request timeout the default 60 s interval would give, with a 200 ms interval.
    const env = { ZEXA_API_URL: api.url, ZEXA_API_KEY: KEY, ZEXA_POLL_INTERVAL: ms(200), ZEXA_REQUEST_TIMEOUT: '10s' };
    const config = loadConfig(
      {
        argv: ['--web.listen-address=127.0.0.1:0', '--web.max-connections=5'],
        env,
        readFile: () => '',
        readDir: () => [],
      },
      { limits: TEST_LIMITS },
    );
    expect(config.web.maxConnections).toBe(5);
    const logs = captureLogs();
    const exporter = await startExporter(config, { env, logDestination: logs, processMetrics: false });
    cleanups.push(() => exporter.close());

    const idle = [];
    for (let i = 0; i < 5; i++) idle.push(await idleSocket(exporter.port));
    const polledBefore = api.requests;

    const sixth = await idleSocket(exporter.port);
    // Closed by the server without a byte: not held open like the first five.
    expect(await sixth.closed).toBe('');
    await expect(healthz(exporter.port)).rejects.toThrow(/socket hang up|ECONNRESET/);
    await vi.waitFor(() =>
      expect(
        logs
          .records()
          .some(
            (r) => r.msg === 'connection limit reached: new connections are closed at once (--web.max-connections)',
          ),
      ).toBe(true),
    );
    // Polls use descriptors of their own and carry on while the cap is reached.
    await vi.waitFor(() => expect(api.requests).toBeGreaterThanOrEqual(polledBefore + 2), {
      timeout: 5_000,
      interval: 50,
    });

    idle[0]?.socket.destroy();
    await vi.waitFor(async () => expect(await healthz(exporter.port).catch(() => 0)).toBe(200), {
      timeout: 5_000,
      interval: 50,
    });
  });

  it('closes a connection that sends no request in time, but not one whose request takes long', async () => {
    const server = http.createServer((_req, res) => {
      setTimeout(() => res.end('late but fine\n'), 600);
    });
    limitConnections(server, { maxConnections: 10, firstRequestTimeoutMs: 200 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as AddressInfo).port;

    const silent = await idleSocket(port);
    expect(await silent.closed).toBe('');

    const busy = await idleSocket(port);
    busy.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await vi.waitFor(() => expect(busy.socket.bytesRead).toBeGreaterThan(0), { timeout: 5_000, interval: 20 });
    busy.socket.destroy();
    expect(await busy.closed).toContain('late but fine');
  });
});
