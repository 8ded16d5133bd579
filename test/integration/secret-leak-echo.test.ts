/**
 * An upstream that echoes PART of the key. Four forms once leaked: the first 20 characters in the
 * message, characters 4-30 in `request_id`, the key upper-cased, and the key with U+200B inside;
 * the same forms in `x-request-id`. Each refuses the answer as invalid_response, and none may
 * reach the log (at trace level), /metrics or the status page: not the key, nor any 8-character
 * slice of it, in any letter case, with or without invisible characters between its letters.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../support/exporter-harness.js';

// 40 characters, so that characters 4-30 are a real part of it.
const KEYS = {
  prefix: 'zx_PREFIXECHOKEY7f3a91b7c2d4e5f6a7b8c9d0',
  middle: 'zx_MIDDLEECHOKEY1a2b3c4d5e6f7a8b9c0d1e2f',
  upper: 'zx_upperechokey9z8y7x6w5v4u3t2s1r0q9p8o7',
  zwsp: 'zx_ZWSPECHOKEYab12cd34ef56ab78cd90ef12ab3',
};

/** What the upstream echoes for each key: in the message, in request_id and in x-request-id. */
function echoes(key: string): { message: string; requestId: string; header: string } {
  if (key === KEYS.prefix)
    return {
      message: `key ${key.slice(0, 20)} revoked`,
      requestId: `req-${key.slice(0, 20)}`,
      header: key.slice(0, 20),
    };
  if (key === KEYS.middle)
    return { message: `bad ${key.slice(4, 31)}`, requestId: key.slice(4, 31), header: `id-${key.slice(4, 31)}` };
  if (key === KEYS.upper)
    return { message: `KEY ${key.toUpperCase()} REVOKED`, requestId: key.toUpperCase(), header: key.toUpperCase() };
  // Header values are Latin-1, so the header has the key spelled out with spaces instead.
  const hidden = key.split('').join('\u200b');
  return { message: `key ${hidden} revoked`, requestId: hidden, header: key.split('').join(' ') };
}

/** Every 8-character slice of every key, in any case, once invisible characters and spaces are gone. */
function leakedSlices(where: string, text: string): string[] {
  const flat = text.replace(/[\p{Cc}\p{Cf}\p{Z}\s]|\\u200b|\\u200B/gu, '').toLowerCase();
  const found: string[] = [];
  for (const [name, key] of Object.entries(KEYS)) {
    for (let i = 0; i + 8 <= key.length; i += 1)
      if (flat.includes(key.slice(i, i + 8).toLowerCase())) found.push(`${where}: slice ${i} of key "${name}"`);
  }
  return found;
}

describe('no partial key echoed by the API leaks', () => {
  let upstream: Server;
  let url = '';
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const echo = echoes(key);
      res.writeHead(401, { 'content-type': 'application/json', 'x-request-id': echo.header });
      res.end(JSON.stringify({ error: { message: echo.message, request_id: echo.requestId } }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('through the log, /metrics and the status page, in all four forms', async () => {
    const h = await startHarness({
      accounts: Object.entries(KEYS).map(([name, key]) => ({ name, key, credits: 1 })),
      logLevel: 'trace',
      configure: (config) => {
        config.api.url = url;
      },
    });
    try {
      for (const name of Object.keys(KEYS)) {
        await h.until(
          async () =>
            ((await h.sample(`zexa_poll_errors_total{account="${name}",reason="invalid_response"}`)) ?? 0) >= 1,
          20_000,
        );
      }
      const metrics = await h.metricsText();
      const page = await (await fetch(`${h.exporter.url}/`)).text();
      const logs = h.logs.text();
      // The echoes really arrived, and were refused by name of the field.
      expect(logs).toContain('holds the API key or part of it');
      expect(page).toContain('holds the API key or part of it');
      expect([
        ...leakedSlices('log', logs),
        ...leakedSlices('metrics', metrics),
        ...leakedSlices('status page', page),
      ]).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
