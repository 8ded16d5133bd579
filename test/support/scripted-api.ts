/**
 * A stand-in for the Zexa API on 127.0.0.1 that answers `GET /v1/credits` with scripted balances,
 * one per request in order, repeating the last: for balances the simulator refuses to hold
 * (1e308, -1e308). The body is written as given, so `1e308` reaches the exporter as JSON text.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedApi {
  readonly url: string;
  /** Requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startScriptedApi(credits: readonly string[], currency = 'USD'): Promise<ScriptedApi> {
  let requests = 0;
  const server = createServer((_req, res) => {
    const value = credits[Math.min(requests, credits.length - 1)] ?? '0';
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"credits":${value},"currency":"${currency}"}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
