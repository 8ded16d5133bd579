/**
 * Slow readers of /metrics: connections that ask for it and never read. With the body written as
 * ~900 cached block buffers per response, each such socket cost a writev of all of them and held
 * its response for ever; 400 of them at 10,000 accounts stalled /healthz for seconds. Now the
 * body is the render's shared buffers written a window at a time as the client takes it, a client
 * that has taken nothing for 10 s is dropped, and the bodies held for unfinished responses are
 * capped (the clients that read longest ago are dropped first).
 */
import http, { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { sharedBodyWriter, SLOW_READER_TIMEOUT_MS, type SharedBodyWriter } from '../../src/http/shared-body.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { generateAccounts } from '../../src/simulator/index.js';
import { AccountStore } from '../../src/state/account-store.js';
import { createStatusViews } from '../../src/views/service.js';
import { FakeClock } from '../support/fake-clock.js';
import { healthz } from '../support/healthz-probe.js';

/** Enough accounts for a body (~10 MB) that the kernel's socket buffers on loopback cannot absorb. */
const ACCOUNTS = 20_000;
const READERS = 40;
const START = Date.UTC(2026, 0, 1);

interface Setup {
  server: Server;
  port: number;
  store: AccountStore;
  responses: ServerResponse[];
  /** performance.now() when the server closed each /metrics response, in request order. */
  closedAt: (number | undefined)[];
}

let setup: Setup | undefined;
const sockets: net.Socket[] = [];

async function start(bodyWriter?: SharedBodyWriter): Promise<Setup> {
  const store = new AccountStore();
  const accounts = generateAccounts(ACCOUNTS);
  store.configure(accounts.map((a) => ({ name: a.name, thresholds: { warning: 1000, critical: 100 } })));
  accounts.forEach((a) => store.recordSuccess(a.name, { credits: a.credits, currency: 'USD', atMs: START }));
  const clock = new FakeClock({ now: START + 60_000 });
  const views = createStatusViews({ store, clock, context: () => ({ version: 'test', intervalMs: 60_000 }) });
  const metrics = new ExporterMetrics(store, { version: 'test', nodeVersion: process.version, processMetrics: false });
  const app = createApp({ metrics, isReady: () => true, views, ...(bodyWriter === undefined ? {} : { bodyWriter }) });
  const server = createServer(app);
  const responses: ServerResponse[] = [];
  const closedAt: (number | undefined)[] = [];
  server.on('request', (req: http.IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/metrics') return;
    const i = responses.push(res) - 1;
    closedAt[i] = undefined;
    res.once('close', () => (closedAt[i] = performance.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  setup = { server, port: (server.address() as AddressInfo).port, store, responses, closedAt };
  return setup;
}

/**
 * Asks for /metrics and never reads. Its side never sees the server's close (it does not read),
 * so the test watches the server's side of each response.
 */
function slowReader(port: number, index: number): void {
  // 50 per address, below the per-address share, as an attacker with a few addresses would.
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.1.${1 + Math.floor(index / 50)}` });
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.once('connect', () => {
    socket.write('GET /metrics HTTP/1.1\r\nHost: exporter\r\n\r\n');
    socket.pause();
  });
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (setup === undefined) return;
  setup.server.closeAllConnections();
  await new Promise<void>((resolve) => setup?.server.close(() => resolve()));
  setup = undefined;
});

describe('clients that never read /metrics', () => {
  it(
    'are dropped once they have read nothing for 10 s, while /healthz keeps answering',
    { timeout: 60_000 },
    async () => {
      const { port, responses, closedAt } = await start();
      const startedAt = performance.now();
      for (let i = 0; i < READERS; i++) slowReader(port, i);
      const isOpen = (i: number): boolean => closedAt[i] === undefined;
      // Every request is being answered (its headers are out) before the clock of the drop matters.
      await vi.waitFor(() => expect(responses.filter((r) => r.headersSent)).toHaveLength(READERS), {
        timeout: 20_000,
        interval: 50,
      });
      const answeredAt = performance.now();
      const samples: number[] = [];
      // Probe until every reader is closed, or well past the drop deadline (the kernel may take
      // bytes from a socket for a while after its headers went out): no open-ended wait.
      const until = answeredAt + 2 * SLOW_READER_TIMEOUT_MS + 5_000;
      while (responses.some((_, i) => isOpen(i)) && performance.now() < until) samples.push(await healthz(port));
      const open = responses.filter((_, i) => isOpen(i)).length;
      const sorted = [...samples].sort((a, b) => a - b);
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? Infinity;
      console.log(
        `slow readers: ${READERS} at ${ACCOUNTS} accounts; ${samples.length} /healthz, p99 ${p99.toFixed(1)} ms; still open after the deadline: ${open}`,
      );
      expect(open).toBe(0);
      const closed = closedAt as number[];
      // None before the timeout (it is a stall timer, started once a client stops taking bytes).
      expect(Math.min(...closed) - startedAt).toBeGreaterThanOrEqual(SLOW_READER_TIMEOUT_MS - 100);
      expect(samples.filter((ms) => ms === Infinity)).toEqual([]);
      // The target (100 ms) is measured by `npm run load`; here only a bound a busy machine keeps.
      expect(p99).toBeLessThan(1_000);
    },
  );

  it(
    'hold about the configured bytes of bodies: past it, new clients share the newest render',
    { timeout: 60_000 },
    async () => {
      // One render is ~10 MB: room for two renders, not three.
      const probe = await start();
      const bodyBytes = (await (await fetch(`http://127.0.0.1:${probe.port}/metrics`)).arrayBuffer()).byteLength;
      setup = undefined;
      probe.server.closeAllConnections();
      await new Promise<void>((resolve) => probe.server.close(() => resolve()));

      const writer = sharedBodyWriter({ maxHeldBytes: Math.floor(bodyBytes * 2.5) });
      const { port, store, responses } = await start(writer);
      const names = store.list().map((s) => s.name);
      for (let i = 0; i < 5; i++) {
        // A poll round in between that changes every account: each reader gets a render of its own
        // with no block in common (renders share the buffers of unchanged blocks, counted once).
        for (const name of names)
          store.recordSuccess(name, { credits: 7 + i, currency: 'USD', atMs: START + 1000 * (i + 1) });
        slowReader(port, i);
        await vi.waitFor(() => expect(responses[i]?.headersSent).toBe(true), { timeout: 20_000, interval: 20 });
      }
      // Two renders are held (the first two readers'); the last three share the second's body.
      expect(writer.heldBytes()).toBeGreaterThan(bodyBytes * 1.5);
      expect(writer.heldBytes()).toBeLessThan(bodyBytes * 2.5);
      // A client that reads gets the same bytes the held render has, not a third render.
      const shared = await (
        await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } })
      ).text();
      expect(shared).toContain(`zexa_credits_remaining{account="${names[1] as string}",currency="USD"} 8\n`);
      expect(shared).not.toContain(`zexa_credits_remaining{account="${names[4] as string}",currency="USD"} 11\n`);
    },
  );
});
