import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScrapeClient } from '../../bench/scrape-client.js';

describe("the benchmark's minimal HTTP client", () => {
  let server: Server;
  let port: number;
  const connections = new Set<unknown>();
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0xe9); // binary, spans many socket reads

  beforeAll(async () => {
    server = createServer((req, res) => {
      connections.add(req.socket);
      if (req.url === '/big')
        res.writeHead(200, { 'Content-Length': big.length, 'X-Seen': req.headers['accept-encoding'] ?? '' }).end(big);
      else if (req.url === '/chunked') res.writeHead(200).end('no length');
      else res.writeHead(404, { 'Content-Length': 3 }).end('nf\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads bodies framed by Content-Length, byte for byte, over one kept-alive connection', async () => {
    const client = new ScrapeClient('127.0.0.1', port);
    const first = await client.get('/big', { 'Accept-Encoding': 'gzip' });
    expect(first.status).toBe(200);
    expect(first.headers['x-seen']).toBe('gzip');
    expect(first.body.equals(big)).toBe(true);
    const second = await client.get('/nope');
    expect(second.status).toBe(404);
    expect(second.body.toString()).toBe('nf\n');
    expect(connections.size).toBe(1);
    client.close();
  });

  it('fails clearly on a response it cannot frame', async () => {
    const client = new ScrapeClient('127.0.0.1', port);
    await expect(client.get('/chunked')).rejects.toThrow('response without Content-Length: HTTP/1.1 200 OK');
    client.close();
  });
});
