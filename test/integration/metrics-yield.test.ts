/**
 * Rendering /metrics at 10,000 accounts (~7 MB, ~80 blocks of accounts) is work that cannot be
 * cut short, so it yields: a few blocks per turn of the event loop, the gzip on libuv's
 * threadpool. Rendered in one go it was a task of ~0.5 s on Node.js 24 that held timers, health
 * probes and poll answers back. Not timed: the test counts the turns of the event loop (a
 * `setImmediate` ticker) that ran between a scrape's request and its answer.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { BLOCKS_PER_SLICE } from '../../src/metrics/rendered.js';
import { generateAccounts } from '../../src/simulator/index.js';
import { AccountStore } from '../../src/state/account-store.js';
import { createStatusViews } from '../../src/views/service.js';
import { FakeClock } from '../support/fake-clock.js';

const ACCOUNTS = 10_000;
const START = Date.UTC(2026, 0, 1);
/** Blocks of 128 accounts a full render makes, less one slice's worth of slack. */
const MIN_TURNS = Math.floor(ACCOUNTS / 128 / BLOCKS_PER_SLICE) - 1;

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

function fleet(): { store: AccountStore; metrics: ExporterMetrics } {
  const store = new AccountStore();
  const accounts = generateAccounts(ACCOUNTS);
  store.configure(accounts.map((a) => ({ name: a.name, thresholds: { warning: 1000, critical: 100 } })));
  accounts.forEach((a) => store.recordSuccess(a.name, { credits: a.credits, currency: 'USD', atMs: START }));
  const metrics = new ExporterMetrics(store, { version: 'test', nodeVersion: process.version, processMetrics: false });
  return { store, metrics };
}

/** Counts turns of the event loop until stopped. */
function ticker(): { turns: () => number; stop: () => void } {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { turns: () => turns, stop: () => (running = false) };
}

/** GET /metrics: the turns the ticker counted until the response's head came, and the body. */
async function scrape(port: number, headers: Record<string, string>): Promise<{ turns: number; body: Buffer }> {
  const count = ticker();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
      const turns = count.turns();
      count.stop();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ turns, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics at 10,000 accounts', () => {
  it('lets the event loop turn while it renders and compresses, and serves the same bytes', async () => {
    const { store, metrics } = fleet();
    const clock = new FakeClock({ now: START + 60_000 });
    const views = createStatusViews({ store, clock, context: () => ({ version: 'test', intervalMs: 60_000 }) });
    server = createServer(createApp({ metrics, isReady: () => true, views }));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    const plain = await scrape(port, {});
    expect(plain.turns).toBeGreaterThanOrEqual(MIN_TURNS);
    const text = plain.body.toString('utf8');
    expect(text).toContain('zexa_credits_remaining{account="');
    expect(text.split('\n').filter((l) => l.startsWith('zexa_up{')).length).toBe(ACCOUNTS);

    // Every block changed: the render and the compression of all its members run again.
    store.configure(
      generateAccounts(ACCOUNTS).map((a) => ({ name: a.name, thresholds: { warning: 2000, critical: 200 } })),
    );
    const gzipped = await scrape(port, { 'Accept-Encoding': 'gzip' });
    expect(gzipped.turns).toBeGreaterThanOrEqual(MIN_TURNS);
    const unzipped = gunzipSync(gzipped.body).toString('utf8');
    expect(unzipped).toContain('zexa_credits_threshold{account="');
    expect(unzipped).toContain(' 2000\n');
    expect(unzipped.startsWith(metrics.renderZexa('text').text)).toBe(true);
  });

  it('shares one render among the scrapes that come while it runs', async () => {
    const { store, metrics } = fleet();
    let turns = 0;
    const counted = new ExporterMetrics(store, {
      version: 'test',
      nodeVersion: process.version,
      processMetrics: false,
      yieldTurn: () => {
        turns++;
        return new Promise((resolve) => setImmediate(resolve));
      },
    });
    const first = counted.renderZexaSliced('text');
    const second = counted.renderZexaSliced('text');
    const [a, b] = await Promise.all([first, second]);
    expect(b).toBe(a);
    expect(turns).toBeGreaterThanOrEqual(MIN_TURNS);
    const oneRender = turns;
    // Nothing changed: the render is kept, no turn is taken, the same gzip Buffer comes back.
    expect(await counted.renderZexaSliced('text')).toBe(a);
    expect(turns).toBe(oneRender);
    const [g1, g2] = await Promise.all([a.gzipAsync(), a.gzipAsync()]);
    expect(g2).toBe(g1);
    expect(a.gzip()).toBe(g1);
    expect(gunzipSync(g1).toString('utf8')).toBe(metrics.renderZexa('text').text);
  });
});
