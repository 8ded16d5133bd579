import http from 'node:http';
import type { AddressInfo } from 'node:net';
import diagnostics from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { MockAgent, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/lib/clock.js';
import {
  InvalidResponseError,
  KeyUnavailableError,
  NetworkError,
  TimeoutError,
  ZexaApiError,
  type ApiErrorReason,
} from '../../../src/zexa/errors.js';
import {
  createDispatcher,
  createZexaClient,
  type AttemptObservation,
  type ZexaClientOptions,
} from '../../../src/zexa/client.js';
import { parseCreditsResponse } from '../../../src/zexa/parse.js';
import { parseRetryAfter } from '../../../src/zexa/retry-after.js';

const KEY = 'zx_live_Kq8sLEAKCHECKf3a91b7c2d';
const USER_AGENT = 'zexa-exporter/0.1.0';
const NOW = Date.UTC(2025, 0, 1, 0, 0, 0);
const ORIGIN = 'http://zexa.test';

/** Every error any client call in this file rejected with; the last test checks none holds the key. */
const thrown: unknown[] = [];

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    thrown.push(error);
    return error;
  }
  throw new Error('expected a rejection, got a value');
}

/** Wall clock fixed at NOW; monotonic time advances `stepMs` per reading, so each attempt lasts exactly stepMs. */
function steppingClock(stepMs = 250): Clock {
  let t = 0;
  return {
    now: () => NOW,
    monotonic: () => (t += stepMs),
    sleep: () => Promise.reject(new Error('the client must not sleep')),
  };
}

const json = (value: unknown): string => JSON.stringify(value);

/** A client on `dispatcher` that records its attempt observations; each attempt lasts 250 ms. */
function clientOver(dispatcher: Dispatcher, options: Partial<ZexaClientOptions> = {}) {
  const attempts: AttemptObservation[] = [];
  const client = createZexaClient({
    baseUrl: ORIGIN,
    timeoutMs: 5000,
    dispatcher,
    userAgent: USER_AGENT,
    clock: steppingClock(250),
    onAttempt: (o) => attempts.push(o),
    ...options,
  });
  return { client, attempts };
}

// ---------------------------------------------------------------------------------------------

describe('parseRetryAfter', () => {
  it.each([
    ['missing', undefined, undefined],
    ['empty', '', undefined],
    ['blank', '   ', undefined],
    ['seconds', '120', 120_000],
    ['seconds with spaces', ' 5 ', 5000],
    ['zero', '0', 0],
    ['negative seconds, clamped', '-5', 0],
    ['fractional seconds', '1.5', 1500],
    ['IMF-fixdate 30 s ahead', 'Wed, 01 Jan 2025 00:00:30 GMT', 30_000],
    ['IMF-fixdate, any case', 'wed, 01 jan 2025 00:02:00 gmt', 120_000],
    ['IMF-fixdate in the past, clamped', 'Tue, 31 Dec 2024 23:59:00 GMT', 0],
    ['RFC 850 date', 'Wednesday, 01-Jan-25 00:01:00 GMT', 60_000],
    ['asctime date', 'Wed Jan  1 00:00:10 2025', 10_000],
    ['garbage', 'soon', undefined],
    ['number with junk', '12abc', undefined],
    ['exponent', '1e3', undefined],
    ['a bare number Date.parse would take as a year', '2 0', undefined],
    ['impossible date', 'Fri, 31 Feb 2025 00:00:00 GMT', undefined],
    ['ISO date (not an HTTP-date)', '2025-01-01T00:00:30Z', undefined],
  ])('%s: %j → %j', (_name, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('parseCreditsResponse', () => {
  const ok = (body: string, headers: Record<string, string | string[] | undefined> = {}, keys: string[] = []) =>
    parseCreditsResponse({ status: 200, headers, body }, NOW, { keys });
  const fail = (
    status: number,
    body = '',
    headers: Record<string, string | string[] | undefined> = {},
    keys?: string[],
  ): ZexaApiError => {
    try {
      parseCreditsResponse({ status, headers, body }, NOW, keys === undefined ? {} : { keys });
    } catch (error) {
      expect(error).toBeInstanceOf(ZexaApiError);
      return error as ZexaApiError;
    }
    throw new Error(`status ${status} did not throw`);
  };

  it.each([
    ['the documented body', json({ credits: 4250, currency: 'USD' }), { credits: 4250, currency: 'USD' }],
    [
      'extra fields',
      json({ credits: 10, currency: 'AOA', plan: 'pro', nested: { a: 1 } }),
      { credits: 10, currency: 'AOA' },
    ],
    ['zero', json({ credits: 0, currency: 'USD' }), { credits: 0, currency: 'USD' }],
    ['a fraction', json({ credits: 12.5, currency: 'USD' }), { credits: 12.5, currency: 'USD' }],
    ['a negative balance', json({ credits: -3, currency: 'USD' }), { credits: -3, currency: 'USD' }],
    ['the largest balance taken (1e15)', json({ credits: 1e15, currency: 'USD' }), { credits: 1e15, currency: 'USD' }],
    [
      'the most negative balance taken (-1e15)',
      json({ credits: -1e15, currency: 'USD' }),
      { credits: -1e15, currency: 'USD' },
    ],
  ])('200 with %s → Credits', (_name, body, expected) => {
    expect(ok(body)).toEqual({ ...expected, requestId: undefined });
  });

  it('keeps the x-request-id of a success', () => {
    expect(ok(json({ credits: 1, currency: 'USD' }), { 'x-request-id': 'req_ok_1' }).requestId).toBe('req_ok_1');
  });

  it.each([
    ['not JSON', 'credits: 4250', /body that is not JSON/],
    ['empty', '', /body that is not JSON/],
    ['an array', '[]', /expected an object with credits and currency/],
    ['null', 'null', /expected an object with credits and currency/],
    ['credits as a string', json({ credits: '4250', currency: 'USD' }), /credits must be a finite number/],
    ['credits missing', json({ currency: 'USD' }), /credits must be a finite number/],
    ['credits overflowing to Infinity', '{"credits": 1e999, "currency": "USD"}', /credits must be a finite number/],
    ['credits of 1e308', '{"credits": 1e308, "currency": "USD"}', /credits must be between -1e15 and 1e15/],
    ['credits of -1e308', '{"credits": -1e308, "currency": "USD"}', /credits must be between -1e15 and 1e15/],
    ['credits just above 1e15', json({ credits: 1e15 + 2, currency: 'USD' }), /credits must be between -1e15 and 1e15/],
    ['currency missing', json({ credits: 5 }), /currency must be a string/],
    ['currency empty', json({ credits: 5, currency: '' }), /currency must be 3 to 8 letters or digits/],
    ['currency blank', json({ credits: 5, currency: '   ' }), /currency must be 3 to 8 letters or digits/],
    ['currency a number', json({ credits: 5, currency: 840 }), /currency must be a string/],
    ['currency of two letters', json({ credits: 5, currency: 'US' }), /currency must be 3 to 8 letters or digits/],
    [
      'currency of nine letters',
      json({ credits: 5, currency: 'X'.repeat(9) }),
      /currency must be 3 to 8 letters or digits/,
    ],
    ['currency with a newline', json({ credits: 5, currency: 'US\nD' }), /currency must be 3 to 8 letters or digits/],
    ['currency with a space', json({ credits: 5, currency: 'US D' }), /currency must be 3 to 8 letters or digits/],
    [
      'currency with punctuation',
      json({ credits: 5, currency: 'zx_live' }),
      /currency must be 3 to 8 letters or digits/,
    ],
    ['currency not ASCII', json({ credits: 5, currency: 'ÉUR' }), /currency must be 3 to 8 letters or digits/],
    [
      'both wrong',
      json({ credits: null, currency: null }),
      /credits must be a finite number; currency must be a string/,
    ],
  ])('200 with %s → invalid_response', (_name, body, message) => {
    const error = fail(200, body, { 'x-request-id': 'req_bad' });
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.reason).toBe('invalid_response');
    expect(error.status).toBe(200);
    expect(error.requestId).toBe('req_bad');
    expect(error.message).toMatch(/^Zexa API answered 200 OK \(request_id req_bad\) with /);
    expect(error.message).toMatch(message);
  });

  it('never puts the raw body into the message', () => {
    const echo = 'ECHOED-BODY-CONTENT';
    expect(fail(200, `<html>${echo}</html>`).message).not.toContain(echo);
    expect(fail(200, json({ credits: echo, currency: echo })).message).not.toContain(echo);
    expect(fail(502, `<html>${echo}</html>`).message).not.toContain(echo);
    expect(fail(400, json({ debug: echo, error: { code: echo } })).message).not.toContain(echo);
  });

  it.each<[number, ApiErrorReason]>([
    [400, 'client_error'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'client_error'],
    [405, 'client_error'],
    [408, 'client_error'],
    [418, 'client_error'],
    [422, 'client_error'],
    [429, 'rate_limited'],
    [451, 'client_error'],
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [504, 'server_error'],
    [599, 'server_error'],
    [201, 'invalid_response'],
    [204, 'invalid_response'],
    [206, 'invalid_response'],
    [301, 'invalid_response'],
    [302, 'invalid_response'],
    [304, 'invalid_response'],
    [600, 'invalid_response'],
  ])('%d → %s', (status, reason) => {
    const error = fail(status, json({ request_id: 'req_s' }));
    expect(error.reason).toBe(reason);
    expect(error.status).toBe(status);
    expect(error.requestId).toBe('req_s');
    expect(error.message).toContain(`Zexa API answered ${status}`);
  });

  it('says what a 401 means, with the request_id, in a fixed form', () => {
    expect(fail(401, json({ error: { request_id: 'req_123' } })).message).toBe(
      'Zexa API answered 401 Unauthorized (request_id req_123): the key is missing, malformed or revoked',
    );
    expect(fail(403, '').message).toBe(
      "Zexa API answered 403 Forbidden: the key is valid but the account's plan does not allow this call",
    );
  });

  it.each([
    ['top level', json({ request_id: 'req_top' }), {}, 'req_top'],
    ['under error', json({ error: { code: 'unauthorized', request_id: 'req_nested' } }), {}, 'req_nested'],
    ['in x-request-id', 'not json', { 'x-request-id': 'req_header' }, 'req_header'],
    ['in X-Request-Id (any case)', '', { 'X-Request-Id': 'req_case' }, 'req_case'],
    ['in a repeated header', '', { 'x-request-id': ['req_first', 'req_second'] }, 'req_first'],
    [
      'top level before error and header',
      json({ request_id: 'a', error: { request_id: 'b' } }),
      { 'x-request-id': 'c' },
      'a',
    ],
    ['under error before the header', json({ error: { request_id: 'b' } }), { 'x-request-id': 'c' }, 'b'],
    ['as a number', json({ request_id: 12345 }), {}, '12345'],
    ['with control characters stripped', json({ request_id: 'req\u001b[31m_x\u202e' }), {}, 'req [31m_x'],
    ['nowhere', json({ error: 'nope' }), {}, undefined],
    ['as an object (ignored)', json({ request_id: { a: 1 } }), {}, undefined],
  ])('finds the request_id %s', (_name, body, headers, expected) => {
    expect(fail(401, body, headers).requestId).toBe(expected);
  });

  it('caps a long request_id', () => {
    const requestId = fail(500, json({ request_id: 'r'.repeat(1000) })).requestId ?? '';
    expect(requestId.length).toBeLessThanOrEqual(129);
    expect(requestId.startsWith('rrrr')).toBe(true);
  });

  it.each([
    [429, { 'retry-after': '30' }, 30_000, /rate limited, retry after 30 s/],
    [429, { 'Retry-After': 'Wed, 01 Jan 2025 00:01:00 GMT' }, 60_000, /retry after 60 s/],
    [503, { 'retry-after': '7' }, 7000, /server error, retry after 7 s/],
    [429, { 'retry-after': 'later' }, undefined, /rate limited$/],
    [429, {}, undefined, /rate limited$/],
  ])('%d with %j → retryAfterMs %j', (status, headers, retryAfterMs, message) => {
    const error = fail(status, '', headers);
    expect(error.retryAfterMs).toBe(retryAfterMs);
    expect(error.message).toMatch(message);
  });

  it('takes a currency code of 3 to 8 letters and digits', () => {
    for (const currency of ['USD', 'eur', 'XBT', 'CREDITS', 'ABCD1234'])
      expect(ok(json({ credits: 1, currency })).currency).toBe(currency);
  });

  it('adds a sanitized, capped excerpt of the error message', () => {
    const said = (body: unknown) => fail(403, json(body)).message;
    expect(said({ error: { message: 'Plan Basic does not include balance reads' } })).toMatch(
      /; the API said: "Plan Basic does not include balance reads"$/,
    );
    expect(said({ message: 'top-level message' })).toMatch(/"top-level message"$/);
    expect(said({ error: 'plain string error' })).toMatch(/"plain string error"$/);
    expect(said({ error: { message: 'line one\r\nline two\u0000\u001b[2J' } })).toMatch(/"line one line two \[2J"$/);
    const long = said({ message: 'x'.repeat(5000) });
    const excerpt = /"(x+)…"$/.exec(long)?.[1] ?? '';
    expect(excerpt.length).toBe(200);
  });

  // The partial echoes an upstream has sent, in every field of the answer that is kept. Each
  // refuses the whole answer as invalid_response, naming the field and quoting nothing of it.
  const KEY_FORMS: [string, string][] = [
    ['the whole key', KEY],
    ['the first 20 characters', KEY.slice(0, 20)],
    ['characters 4-30', KEY.slice(4, 30)],
    ['one 8-character slice', KEY.slice(11, 19)],
    ['the key upper-cased', KEY.toUpperCase()],
    [
      'the key with U+200B inside',
      `${KEY.slice(0, 5)}\u200b${KEY.slice(5, 12)}\u200b${KEY.slice(12, 19)}\u200b${KEY.slice(19)}`,
    ],
  ];
  const FIELDS: [string, number, (echo: string) => { body: string; headers?: Record<string, string> }][] = [
    ['currency', 200, (echo) => ({ body: json({ credits: 50, currency: echo }) })],
    ['request_id', 200, (echo) => ({ body: json({ credits: 50, currency: 'USD', request_id: `req-${echo}` }) })],
    ['error.request_id', 401, (echo) => ({ body: json({ error: { message: 'revoked', request_id: echo } }) })],
    ['x-request-id header', 500, (echo) => ({ body: json({}), headers: { 'x-request-id': echo } })],
    ['error.message', 401, (echo) => ({ body: json({ error: { message: `key ${echo} is revoked` } }) })],
    ['message', 403, (echo) => ({ body: json({ message: `plan of ${echo}` }) })],
    ['error', 429, (echo) => ({ body: json({ error: `slow down, ${echo}` }) })],
    ['detail', 503, (echo) => ({ body: json({ detail: echo }) })],
  ];
  const cases = FIELDS.flatMap(([field, status, answer]) =>
    KEY_FORMS.map(([form, echo]) => [field, form, status, answer(echo)] as const),
  );
  it.each(cases)('refuses %s holding %s', (field, _form, status, answer) => {
    const error = fail(status, answer.body, answer.headers ?? {}, [KEY]);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.status).toBe(status);
    expect(error.message).toContain(`its ${field} holds the API key or part of it`);
    expect(error.requestId).toBeUndefined();
    const flat = error.message.replace(/[\p{Cc}\p{Cf}\s]/gu, '').toLowerCase();
    for (let i = 0; i + 8 <= KEY.length; i += 1) expect(flat).not.toContain(KEY.slice(i, i + 8).toLowerCase());
  });

  it('lets fragments shorter than 8 characters through: they are not the key', () => {
    // The redaction rule's threshold, pinned (docs/security.md): 7 characters of a key are no key.
    const seven = KEY.slice(11, 18);
    expect(
      ok(json({ credits: 1, currency: seven.replace(/[^A-Za-z0-9]/g, 'x') }), { 'x-request-id': `id-${seven}` }, [KEY])
        .requestId,
    ).toBe(`id-${seven}`);
    expect(fail(401, json({ message: `key ${seven}… revoked` }), {}, [KEY]).message).toContain(
      `"key ${seven}… revoked"`,
    );
  });

  it('ignores the key in a field it does not keep', () => {
    expect(
      ok(json({ credits: 7, currency: 'USD', note: `you sent ${KEY}`, nested: { key: KEY } }), { 'x-echo': KEY }, [
        KEY,
      ]),
    ).toEqual({
      credits: 7,
      currency: 'USD',
      requestId: undefined,
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('createZexaClient over a MockAgent', () => {
  interface Seen {
    path: string;
    method: string;
    headers: unknown;
  }

  function mockClient(
    reply: { statusCode: number; data?: string; headers?: Record<string, string> },
    options: Partial<ZexaClientOptions> = {},
  ) {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const seen: Seen[] = [];
    agent
      .get(ORIGIN)
      .intercept({ path: (path) => path.endsWith('/v1/credits'), method: 'GET' })
      .reply((opts) => {
        seen.push({ path: opts.path, method: opts.method, headers: opts.headers });
        return {
          statusCode: reply.statusCode,
          data: reply.data ?? '',
          responseOptions: { headers: reply.headers ?? {} },
        };
      })
      .persist();
    return { ...clientOver(agent, options), seen };
  }

  it('sends GET /v1/credits with exactly the Authorization, Accept and User-Agent headers', async () => {
    const { client, seen, attempts } = mockClient({
      statusCode: 200,
      data: json({ credits: 4250, currency: 'USD' }),
      headers: { 'x-request-id': 'req_ok' },
    });
    await expect(client.fetchCredits(KEY)).resolves.toEqual({ credits: 4250, currency: 'USD', requestId: 'req_ok' });
    expect(seen).toEqual([
      {
        path: '/v1/credits',
        method: 'GET',
        headers: { authorization: `Bearer ${KEY}`, accept: 'application/json', 'user-agent': USER_AGENT },
      },
    ]);
    expect(attempts).toEqual([{ code: '200', durationSeconds: 0.25 }]);
  });

  it('keeps a path prefix of the base URL', async () => {
    const { client, seen } = mockClient(
      { statusCode: 200, data: json({ credits: 1, currency: 'USD' }) },
      { baseUrl: `${ORIGIN}/zexa/api` },
    );
    await client.fetchCredits(KEY);
    expect(seen[0]?.path).toBe('/zexa/api/v1/credits');
  });

  it.each<[number, ApiErrorReason]>([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [429, 'rate_limited'],
    [500, 'server_error'],
    [503, 'server_error'],
    [400, 'client_error'],
    [404, 'client_error'],
    [204, 'invalid_response'],
    [302, 'invalid_response'],
  ])('%d → %s, counted with its code', async (status, reason) => {
    const { client, attempts } = mockClient({
      statusCode: status,
      data: json({ error: { message: `refused`, request_id: `req_${status}` } }),
      headers: { 'retry-after': '3', location: `http://elsewhere.test/?k=${KEY}` },
    });
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(ZexaApiError);
    expect(error.reason).toBe(reason);
    expect(error.status).toBe(status);
    if (status !== 204 && status !== 302) expect(error.requestId).toBe(`req_${status}`);
    expect(error.retryAfterMs).toBe(3000);
    expect(attempts).toEqual([{ code: String(status), durationSeconds: 0.25 }]);
  });

  it('200 with a bad body → invalid_response', async () => {
    const { client } = mockClient({ statusCode: 200, data: json({ credits: 'lots', currency: 'USD' }) });
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toMatch(/credits must be a finite number/);
  });

  it("reports 'error' when no response came", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get(ORIGIN)
      .intercept({ path: '/v1/credits' })
      .replyWithError(Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }));
    const { client, attempts } = clientOver(agent, { clock: steppingClock(100) });
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toBe('Zexa API at zexa.test could not be reached (ECONNRESET)');
    expect(attempts).toEqual([{ code: 'error', durationSeconds: 0.1 }]);
  });

  it('an observer that throws does not change the outcome', async () => {
    const { client } = mockClient(
      { statusCode: 200, data: json({ credits: 7, currency: 'USD' }) },
      {
        onAttempt: () => {
          throw new Error('metrics broke');
        },
      },
    );
    await expect(client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 7 });
  });

  it.each([
    ['empty', '', /the API key is empty/],
    ['with a space', 'zx_live abc', /characters that cannot be sent/],
    ['with a newline', 'zx_live_abc\nX-Injected: 1', /characters that cannot be sent/],
    ['non-ASCII', 'zx_live_ключ', /only visible ASCII/],
  ])('refuses a key %s without sending anything', async (_name, key, message) => {
    const { client, seen, attempts } = mockClient({ statusCode: 200, data: json({ credits: 1, currency: 'USD' }) });
    const error = await failure(client.fetchCredits(key));
    expect(error).toBeInstanceOf(KeyUnavailableError);
    expect((error as Error).message).toMatch(message);
    if (key !== '') expect((error as Error).message).not.toContain(key);
    expect(seen).toEqual([]);
    expect(attempts).toEqual([]);
  });

  it('rejects bad options with a message naming them', () => {
    const base = {
      baseUrl: ORIGIN,
      timeoutMs: 1000,
      dispatcher: new MockAgent(),
      userAgent: USER_AGENT,
      clock: steppingClock(),
    };
    expect(() => createZexaClient({ ...base, timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/);
    expect(() => createZexaClient({ ...base, maxBodyBytes: -1 })).toThrow(/maxBodyBytes must be a positive integer/);
    expect(() => createZexaClient({ ...base, userAgent: ' ' })).toThrow(/userAgent must not be empty/);
    expect(() => createZexaClient({ ...base, baseUrl: 'http://user:pw@zexa.test' })).toThrow(
      /must not contain credentials/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

interface TestServer {
  url: string;
  port: number;
  server: http.Server;
  /** Raw header lists of every request, in order. */
  requests: string[][];
  connections: number;
}

const openServers: http.Server[] = [];
const openDispatchers: Dispatcher[] = [];

afterEach(async () => {
  await Promise.all(openDispatchers.splice(0).map((d) => d.destroy().catch(() => undefined)));
  await Promise.all(
    openServers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function listen(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const requests: string[][] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.rawHeaders);
    handler(req, res);
  });
  const state: TestServer = { url: '', port: 0, server, requests, connections: 0 };
  server.on('connection', () => state.connections++);
  openServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

/** A client over the real dispatcher of the exporter (no proxy). */
function realClient(baseUrl: string, timeoutMs: number, extra: Partial<ZexaClientOptions> = {}) {
  const dispatcher = createDispatcher({ timeoutMs, env: {} });
  openDispatchers.push(dispatcher);
  return clientOver(dispatcher, { baseUrl, timeoutMs, ...extra });
}

const TOTAL_BODY = 64 * 1024 * 1024;

/** Streams TOTAL_BODY bytes with back-pressure; resolves `closed` with how much was written when the connection ends. */
function hugeBody(res: http.ServerResponse, declareLength: boolean): Promise<{ written: number; finished: boolean }> {
  return new Promise((resolve) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(declareLength ? { 'content-length': String(TOTAL_BODY) } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    res.on('close', () => resolve({ written, finished: res.writableFinished }));
    const pump = (): void => {
      while (written < TOTAL_BODY && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (written >= TOTAL_BODY) res.end();
    };
    pump();
  });
}

describe('createZexaClient over real loopback HTTP', () => {
  it('sends exactly the documented headers and reuses the connection (keep-alive)', async () => {
    const srv = await listen((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(json({ credits: 4250, currency: 'USD' }));
    });
    const { client, attempts } = realClient(srv.url, 5000);
    await expect(client.fetchCredits(KEY)).resolves.toEqual({ credits: 4250, currency: 'USD', requestId: undefined });
    for (let i = 0; i < 3; i++) {
      // Polls are seconds apart. undici hands a kept-alive socket back to its pool one event-loop
      // turn after the response ended (a setImmediate in its HTTP/1.1 client, queued before the
      // body's end reached us); a request sent sooner would open a second connection.
      await new Promise((resolve) => setImmediate(resolve));
      await expect(client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 4250 });
    }
    expect(srv.connections).toBe(1);
    const raw = srv.requests[0] ?? [];
    const pairs = new Map<string, string[]>();
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] ?? '').toLowerCase();
      pairs.set(name, [...(pairs.get(name) ?? []), raw[i + 1] ?? '']);
    }
    expect(pairs.get('authorization')).toEqual([`Bearer ${KEY}`]);
    expect(pairs.get('accept')).toEqual(['application/json']);
    expect(pairs.get('user-agent')).toEqual([USER_AGENT]);
    expect([...pairs.keys()].sort()).toEqual(['accept', 'authorization', 'connection', 'host', 'user-agent']);
    expect(attempts.map((a) => a.code)).toEqual(['200', '200', '200', '200']);
  });

  it('times out a server that never answers, within the deadline plus 1.5 s', async () => {
    const srv = await listen(() => undefined);
    const { client, attempts } = realClient(srv.url, 1000);
    const started = performance.now();
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/did not answer within 1000 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
    expect(attempts.map((a) => a.code)).toEqual(['error']);
  });

  it('times out a body that stalls after the headers', async () => {
    const srv = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"credits":');
    });
    const { client, attempts } = realClient(srv.url, 1000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(TimeoutError);
    // The status line did arrive, so the attempt is counted under it.
    expect(attempts.map((a) => a.code)).toEqual(['200']);
  });

  it.each([
    ['a streamed (chunked) body', false],
    ['a declared Content-Length', true],
  ])('stops reading a 64 MiB body with %s at the cap and closes the connection', async (_name, declareLength) => {
    let served!: Promise<{ written: number; finished: boolean }>;
    const srv = await listen((_req, res) => {
      served = hugeBody(res, declareLength);
    });
    const { client } = realClient(srv.url, 20_000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toMatch(/the body is larger than 65536 bytes/);
    const { written, finished } = await served;
    expect(finished).toBe(false);
    expect(written).toBeLessThan(TOTAL_BODY);
  });

  it('honours a smaller maxBodyBytes exactly at the boundary', async () => {
    const body = json({ credits: 1, currency: 'USD' });
    const srv = await listen((_req, res) => res.end(body));
    const exact = realClient(srv.url, 5000, { maxBodyBytes: Buffer.byteLength(body) });
    await expect(exact.client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 1 });
    const under = realClient(srv.url, 5000, { maxBodyBytes: Buffer.byteLength(body) - 1 });
    expect(await failure(under.client.fetchCredits(KEY))).toBeInstanceOf(InvalidResponseError);
  });

  it('keeps the status of an error answer whose body is too large', async () => {
    const srv = await listen((_req, res) => {
      res.writeHead(503, { 'x-request-id': 'req_big', 'retry-after': '2' });
      res.end('x'.repeat(1024 * 1024));
    });
    const { client } = realClient(srv.url, 5000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error.reason).toBe('server_error');
    expect(error.requestId).toBe('req_big');
    expect(error.retryAfterMs).toBe(2000);
  });

  it.each([
    [200, 'text/html'],
    [200, 'json-currency'],
    [401, 'json-error'],
    [403, 'json-top'],
    [429, 'json-error'],
    [500, 'text/html'],
  ])('refuses a %d answer (%s) that echoes the key back, quoting none of it', async (status, shape) => {
    const srv = await listen((req, res) => {
      const auth = req.headers.authorization ?? '';
      res.writeHead(status, { 'x-request-id': auth, 'content-type': 'application/json' });
      if (shape === 'text/html') res.end(`<html>you sent ${auth}</html>`);
      else if (shape === 'json-currency') res.end(json({ credits: 1, currency: auth }));
      else if (shape === 'json-top') res.end(json({ message: `bad ${auth}`, request_id: auth }));
      else res.end(json({ error: { message: `Key ${auth} rejected`, request_id: auth } }));
    });
    const { client } = realClient(srv.url, 5000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error.status).toBe(status);
    expect(error.reason).toBe('invalid_response');
    expect(error.requestId).toBeUndefined();
    expect(error.message).toMatch(/holds the API key or part of it/);
    expect(error.message).not.toContain(KEY.slice(-8));
  });

  it('maps a refused connection to network', async () => {
    const srv = await listen(() => undefined);
    const port = srv.port;
    await new Promise<void>((resolve) => srv.server.close(() => resolve()));
    const { client, attempts } = realClient(`http://127.0.0.1:${port}`, 5000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.reason).toBe('network');
    expect(error.message).toBe(`Zexa API at 127.0.0.1:${port} could not be reached (ECONNREFUSED)`);
    expect(attempts.map((a) => a.code)).toEqual(['error']);
  });

  it('maps a connection reset in the middle of the body to network', async () => {
    const srv = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"credits": 42');
      setTimeout(() => req.socket.resetAndDestroy(), 20);
    });
    const { client } = realClient(srv.url, 5000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(NetworkError);
  });

  it('maps a connection closed before any answer to network', async () => {
    const srv = await listen((req) => req.socket.destroy());
    const { client } = realClient(srv.url, 5000);
    const error = (await failure(client.fetchCredits(KEY))) as ZexaApiError;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toMatch(/could not be reached \(UND_ERR_SOCKET\)/);
  });

  it('rejects with the abort reason, promptly, when the signal aborts while waiting for headers', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    const srv = await listen((req) => {
      req.socket.on('close', () => serverSawClose());
      arrived();
    });
    const { client, attempts } = realClient(srv.url, 20_000);
    const controller = new AbortController();
    const pending = failure(client.fetchCredits(KEY, controller.signal));
    await requestArrived;
    const shutdown = new Error('shutting down');
    controller.abort(shutdown);
    const outcome = await Promise.race([
      pending,
      new Promise((resolve) => setTimeout(() => resolve('still pending after 5 s'), 5000)),
    ]);
    expect(outcome).toBe(shutdown);
    await closed;
    expect(attempts.map((a) => a.code)).toEqual(['error']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the abort reason when the signal aborts while the body is read', async () => {
    let headersSent!: () => void;
    const sent = new Promise<void>((resolve) => (headersSent = resolve));
    const srv = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"credits":', () => headersSent());
    });
    const { client } = realClient(srv.url, 20_000);
    // The client is reading the body once undici reports the first chunk of it received.
    const chunkReceived = new Promise<void>((resolve) => {
      const onChunk = (): void => {
        diagnostics.unsubscribe('undici:request:bodyChunkReceived', onChunk);
        resolve();
      };
      diagnostics.subscribe('undici:request:bodyChunkReceived', onChunk);
    });
    const controller = new AbortController();
    const pending = failure(client.fetchCredits(KEY, controller.signal));
    await sent;
    await chunkReceived;
    const shutdown = new Error('shutdown during body');
    controller.abort(shutdown);
    expect(await pending).toBe(shutdown);
  });

  it('does not even connect when the signal is already aborted', async () => {
    const srv = await listen((_req, res) => res.end());
    const { client, attempts } = realClient(srv.url, 5000);
    const controller = new AbortController();
    const shutdown = new Error('already stopped');
    controller.abort(shutdown);
    expect(await failure(client.fetchCredits(KEY, controller.signal))).toBe(shutdown);
    expect(srv.requests).toHaveLength(0);
    expect(attempts).toEqual([]);
  });

  it('leaves no listener on a long-lived shutdown signal after each request', async () => {
    const srv = await listen((_req, res) => res.end(json({ credits: 3, currency: 'USD' })));
    const { client } = realClient(srv.url, 5000);
    const controller = new AbortController();
    for (let i = 0; i < 5; i++) await client.fetchCredits(KEY, controller.signal);
    const srvError = await listen((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const failing = realClient(srvError.url, 5000);
    for (let i = 0; i < 3; i++) await failure(failing.client.fetchCredits(KEY, controller.signal));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('createDispatcher', () => {
  function clientWith(env: Record<string, string | undefined>, baseUrl: string) {
    const dispatcher = createDispatcher({ timeoutMs: 5000, env });
    openDispatchers.push(dispatcher);
    return clientOver(dispatcher, { baseUrl }).client;
  }

  // Which proxy each URL goes through, and how: test/integration/proxy.test.ts.

  it('ignores proxies of the process environment when an env is given', async () => {
    const api = await listen((_req, res) => res.end(json({ credits: 2, currency: 'USD' })));
    const saved = process.env.http_proxy;
    process.env.http_proxy = 'http://127.0.0.1:9';
    try {
      const client = clientWith({}, api.url);
      await expect(client.fetchCredits(KEY)).resolves.toMatchObject({ credits: 2 });
    } finally {
      if (saved === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = saved;
    }
  });

  it('rejects a bad proxy URL naming the variable, without echoing its value', () => {
    const secret = 's3cr3t-proxy-password';
    expect(() => createDispatcher({ timeoutMs: 1000, env: { HTTPS_PROXY: `not a url ${secret}` } })).toThrow(
      /^HTTPS_PROXY is not a URL/,
    );
    try {
      createDispatcher({ timeoutMs: 1000, env: { https_proxy: `socks5://user:${secret}@proxy:1080` } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe('https_proxy must be an http:// or https:// URL, got a socks5: URL');
    }
    expect(() => createDispatcher({ timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/);
  });
});

describe('secrets', () => {
  it('no error thrown in this file contains the key, in any form a log or page could show', () => {
    expect(thrown.length).toBeGreaterThan(25);
    for (const error of thrown) {
      const forms = [
        String(error),
        error instanceof Error ? error.message : '',
        error instanceof Error ? (error.stack ?? '') : '',
        JSON.stringify(error),
        inspect(error, { depth: 10, showHidden: false }),
      ];
      let cause: unknown = error;
      for (let depth = 0; depth < 10 && cause instanceof Error; depth++) {
        forms.push(cause.message, cause.stack ?? '', JSON.stringify(cause));
        cause = cause.cause;
      }
      for (const form of forms) expect(form).not.toContain(KEY);
    }
  });
});
