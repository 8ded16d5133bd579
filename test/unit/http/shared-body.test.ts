/**
 * The `/metrics` body goes out as the render's cached block buffers, never joined: joining them
 * copied ~7 MB into a fresh buffer per render at 10,000 accounts, on the main thread, for every
 * scrape after a poll. Not timed: the tests look at which buffers reach `res.write`.
 */
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../../src/http/app.js';
import { sharedBodyWriter, type SharedBodyWriter } from '../../../src/http/shared-body.js';
import { ExporterMetrics } from '../../../src/metrics/exporter-metrics.js';
import { generateAccounts } from '../../../src/simulator/index.js';
import { AccountStore } from '../../../src/state/account-store.js';
import { createStatusViews } from '../../../src/views/service.js';
import { FakeClock } from '../../support/fake-clock.js';

/** Several blocks of 128 accounts, and a body (~700 KB) larger than one window. */
const ACCOUNTS = 1_000;
const START = Date.UTC(2026, 0, 1);

let server: Server | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function listen(handler: (res: ServerResponse) => void): Promise<number> {
  server = createServer((_req, res) => handler(res));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** GET `path` and the whole body as received. */
async function get(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Records what the writer hands to `res.write`. */
function recordWrites(res: ServerResponse, written: Buffer[]): void {
  const write = res.write.bind(res) as (chunk: Buffer) => boolean;
  res.write = ((chunk: Buffer) => {
    written.push(chunk);
    return write(chunk);
  }) as typeof res.write;
}

/** Whether `part` is `whole` or a view of its memory (no copy). */
function isViewOf(part: Buffer, whole: Buffer): boolean {
  return (
    part.buffer === whole.buffer &&
    part.byteOffset >= whole.byteOffset &&
    part.byteOffset + part.length <= whole.byteOffset + whole.length
  );
}

describe('the shared body writer', () => {
  it('writes the buffers it is given, or views of them, never copies', async () => {
    // Many small buffers and one larger than a window, as a render's blocks and headers are.
    const small = Array.from({ length: 300 }, (_, i) => Buffer.from(`line ${i}\n`.repeat(20)));
    const large = Buffer.alloc(1_500_000, 'x');
    const body = [...small.slice(0, 150), large, ...small.slice(150)];
    const written: Buffer[] = [];
    const writer = sharedBodyWriter();
    const port = await listen((res) => {
      recordWrites(res, written);
      writer.send(res, body);
    });
    const received = await get(port, '/');
    expect(received.equals(Buffer.concat(body))).toBe(true);
    const bytes = written.reduce((sum, b) => sum + b.length, 0);
    expect(bytes).toBe(received.length);
    expect(written.every((part) => body.some((whole) => isViewOf(part, whole)))).toBe(true);
    // Each small buffer went out as itself.
    expect(small.flatMap((buffer, i) => (written.includes(buffer) ? [] : [i]))).toEqual([]);
    await vi.waitFor(() => expect(writer.heldBytes()).toBe(0));
  });
});

describe('/metrics in plain text', () => {
  it("is written as the render's cached block buffers, with no joined copy", async () => {
    const store = new AccountStore();
    const accounts = generateAccounts(ACCOUNTS);
    store.configure(accounts.map((a) => ({ name: a.name, thresholds: { warning: 1000, critical: 100 } })));
    accounts.forEach((a) => store.recordSuccess(a.name, { credits: a.credits, currency: 'USD', atMs: START }));
    const metrics = new ExporterMetrics(store, {
      version: 'test',
      nodeVersion: process.version,
      processMetrics: false,
    });
    const views = createStatusViews({
      store,
      clock: new FakeClock({ now: START + 60_000 }),
      context: () => ({ version: 'test', intervalMs: 60_000 }),
    });
    const inner = sharedBodyWriter();
    const sent: (readonly Buffer[])[] = [];
    const bodyWriter: SharedBodyWriter = {
      ...inner,
      send: (res, buffers) => {
        sent.push(buffers);
        inner.send(res, buffers);
      },
    };
    const app = createApp({ metrics, isReady: () => true, views, bodyWriter });
    const written: Buffer[] = [];
    const port = await listen((res) => {
      if (res.req.url === '/metrics') recordWrites(res, written);
      app(res.req, res);
    });
    const concat = vi.spyOn(Buffer, 'concat');

    const received = await get(port, '/metrics');

    const zexa = await metrics.renderZexaSliced('text');
    expect(zexa.chunks.length).toBeGreaterThan(10);
    // The zexa_ part of the body is the cached buffers themselves, in order, then the process part.
    expect(sent).toHaveLength(1);
    const body = sent[0] as readonly Buffer[];
    expect(body).toHaveLength(zexa.chunks.length + 1);
    // Compared by identity, and reported as indexes (a diff of the bytes would be megabytes).
    expect(zexa.chunks.flatMap((chunk, i) => (body[i] === chunk ? [] : [i]))).toEqual([]);
    // Nothing joined them on the way (the client's own join aside), and every write is of them.
    const joins = concat.mock.calls.filter(([list]) => list.some((b) => zexa.chunks.includes(b as Buffer)));
    expect(joins).toHaveLength(0);
    expect(written.every((part) => body.some((whole) => isViewOf(part, whole)))).toBe(true);
    expect(received.subarray(0, zexa.byteLength).toString('utf8')).toBe(zexa.text);
  });
});

describe('the body shared between responses', () => {
  it('is let go once no response holds it: a fresh render is never refused for one nobody holds', () => {
    // A cap of one byte: any fresh body is past it while an older one is held.
    const writer = sharedBodyWriter({ maxHeldBytes: 1 });
    const first = [Buffer.from('render one\n')];
    const second = [Buffer.from('render two\n')];
    expect(writer.shared('text', { render: 1 }, () => first)).toBe(first);
    // The first body went to no response (or its response finished): nothing pins it.
    expect(writer.shared('text', { render: 2 }, () => second)).toBe(second);
    expect(writer.heldBytes()).toBe(0);
  });
});
