/**
 * The Zexa API simulator over real HTTP on loopback: every status and fault, authentication edge
 * cases, drain and top-up, streaming, records, keep-alive, close() with hung connections, and the
 * command line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { Agent, get as httpGet, request as httpRequest, ServerResponse, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { maskKey, parseSimulatorArgs } from '../../../src/simulator/cli-args.js';
import {
  demoAccounts,
  generateAccounts,
  generatedKey,
  HUGE_BODY_MIN_BYTES,
  MAX_REQUEST_RECORDS,
  SimulatorUsageError,
  startSimulator,
  type SimAccountSpec,
  type SimulatorOptions,
  type ZexaSimulator,
} from '../../../src/simulator/index.js';
import { RequestLog } from '../../../src/simulator/records.js';
import { until } from '../../support/wait.js';

const KEY = 'zx_test_alpha_0123456789abcdef';
const OTHER_KEY = 'zx_test_beta_fedcba9876543210';

const running: ZexaSimulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function start(options: SimulatorOptions = {}): Promise<ZexaSimulator> {
  const sim = await startSimulator({
    accounts: [
      { name: 'alpha', key: KEY, credits: 4250 },
      { name: 'beta', key: OTHER_KEY, credits: 10, currency: 'EUR' },
    ],
    ...options,
  });
  running.push(sim);
  return sim;
}

/** `authorization: null` sends no header at all. */
function credits(sim: ZexaSimulator, authorization: string | null = `Bearer ${KEY}`, init: RequestInit = {}) {
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  return fetch(`${sim.url}/v1/credits`, { ...init, headers });
}

interface ErrorBody {
  error: { code: string; message: string; request_id: string };
}

async function errorOf(res: Response): Promise<ErrorBody['error']> {
  const body = (await res.json()) as ErrorBody;
  expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
  return body.error;
}

/** Resolves when `condition` holds (checked every 10 ms; 15 s leaves room for a busy machine). */
const waitUntil = (condition: () => boolean, what: string): Promise<void> => until(condition, 15_000, what, 10);

/**
 * Fails with a clear message instead of the test timeout when `promise` never settles. 25 s: the
 * CLI child starts through tsx, which compiles the simulator first; on a 2-core machine running
 * the other test tiers at the same time (load average 20) that alone took over 10 s.
 */
async function within<T>(promise: Promise<T>, what: string, ms = 25_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

describe('GET /v1/credits', () => {
  it('answers 200 with the balance as JSON, content-length and a request id', async () => {
    const sim = await start();
    const res = await credits(sim);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(JSON.parse(text)).toEqual({ credits: 4250, currency: 'USD' });

    const beta = await credits(sim, `Bearer ${OTHER_KEY}`);
    expect(await beta.json()).toEqual({ credits: 10, currency: 'EUR' });
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives every response its own request id, with the configured prefix', async () => {
    const sim = await start({ requestIdPrefix: 'sim_' });
    const ids = new Set<string>();
    for (let i = 0; i < 5; i += 1) {
      const res = await credits(sim, i % 2 === 0 ? `Bearer ${KEY}` : null);
      await res.arrayBuffer();
      ids.add(res.headers.get('x-request-id') ?? '');
    }
    expect(ids.size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^sim_[0-9a-f]{32}$/);
    expect(sim.requests().map((r) => r.requestId)).toEqual([...ids]);
  });

  it('mirrors GET for HEAD: same status and headers, no body', async () => {
    const sim = await start();
    const res = await fetch(`${sim.url}/v1/credits`, { method: 'HEAD', headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength('{"credits":4250,"currency":"USD"}')));
    expect(await res.text()).toBe('');
  });

  it('answers 404 for other paths without echoing them, and 405 with Allow for other methods', async () => {
    const sim = await start();
    for (const path of ['/', '/v1/credits/', '/v1/credit', '/v2/credits', '/<script>alert(1)</script>']) {
      const res = await fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(res.status).toBe(404);
      const error = await errorOf(res);
      expect(error.code).toBe('not_found');
      expect(JSON.stringify(error)).not.toContain('script');
    }
    const query = await fetch(`${sim.url}/v1/credits?verbose=1`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(query.status).toBe(200);
    await query.arrayBuffer();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await credits(sim, `Bearer ${KEY}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect((await errorOf(res)).code).toBe('method_not_allowed');
    }
  });

  it('keeps connections alive between requests', async () => {
    const sim = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const once200 = () =>
      new Promise<{ status: number | undefined; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(
          `${sim.url}/v1/credits`,
          { agent, headers: { authorization: `Bearer ${KEY}` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await once200()).toEqual({ status: 200, reused: false });
      expect(await once200()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});

describe('authentication', () => {
  const cases: { header: string | null; authorization: string; why: string }[] = [
    { header: null, authorization: 'missing', why: 'no header' },
    { header: '', authorization: 'missing', why: 'empty header' },
    { header: `bearer ${KEY}`, authorization: 'malformed', why: 'lower-case scheme' },
    { header: `BEARER ${KEY}`, authorization: 'malformed', why: 'upper-case scheme' },
    { header: `Bearer  ${KEY}`, authorization: 'malformed', why: 'two spaces' },
    { header: `Bearer\t${KEY}`, authorization: 'malformed', why: 'a tab instead of a space' },
    { header: `Bearer ${KEY} extra`, authorization: 'malformed', why: 'two tokens' },
    { header: 'Bearer', authorization: 'malformed', why: 'no key' },
    { header: KEY, authorization: 'malformed', why: 'no scheme' },
    { header: `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`, authorization: 'malformed', why: 'basic auth' },
    { header: `Token ${KEY}`, authorization: 'malformed', why: 'another scheme' },
    { header: 'Bearer zx_test_unknown_key_000000', authorization: 'unknown_key', why: 'unknown key' },
    { header: `Bearer ${KEY.toUpperCase()}`, authorization: 'unknown_key', why: 'key in the wrong case' },
  ];

  it.each(cases)('answers 401 for $why', async ({ header, authorization }) => {
    const sim = await start();
    const res = await credits(sim, header);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="zexa"/);
    const text = await res.text();
    const error = (JSON.parse(text) as ErrorBody).error;
    expect(error.code).toBe('unauthorized');
    expect(error.request_id).toBe(res.headers.get('x-request-id'));
    // The key is never echoed, in the body or any header.
    expect(text).not.toContain(KEY);
    expect(JSON.stringify([...res.headers])).not.toContain(KEY);
    expect(sim.requests()).toEqual([expect.objectContaining({ account: undefined, status: 401, authorization })]);
  });

  it('tells the client how the header was wrong without naming the key', async () => {
    const sim = await start();
    expect((await errorOf(await credits(sim, null))).message).toMatch(/Missing Authorization header/);
    expect((await errorOf(await credits(sim, `bearer ${KEY}`))).message).toMatch(
      /Expected exactly 'Bearer YOUR_API_KEY'/,
    );
    expect((await errorOf(await credits(sim, 'Bearer nope_nope_nope'))).message).toBe('Invalid or revoked API key.');
  });

  it('answers 401 for a revoked key at once, and 200 again once un-revoked', async () => {
    const sim = await start();
    sim.revoke('alpha');
    const revoked = await credits(sim);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer realm="zexa", error="invalid_token"');
    expect((await errorOf(revoked)).code).toBe('unauthorized');
    expect((await credits(sim, `Bearer ${OTHER_KEY}`)).status).toBe(200);
    sim.unrevoke('alpha');
    expect((await credits(sim)).status).toBe(200);
    expect(sim.requests('alpha').map((r) => [r.status, r.authorization])).toEqual([
      [401, 'ok'],
      [200, 'ok'],
    ]);
  });

  it('answers 403 for a key whose plan forbids the call', async () => {
    const sim = await start({ accounts: [{ name: 'alpha', key: KEY, credits: 5, forbidden: true }] });
    const res = await credits(sim);
    expect(res.status).toBe(403);
    const error = await errorOf(res);
    expect(error.code).toBe('forbidden');
    expect(error.request_id).toMatch(/^req_/);
    sim.setForbidden('alpha', false);
    expect(await (await credits(sim)).json()).toEqual({ credits: 5, currency: 'USD' });
  });

  it('treats the key of a removed account as unknown and keeps its history', async () => {
    const sim = await start();
    expect((await credits(sim)).status).toBe(200);
    sim.removeAccount('alpha');
    expect((await credits(sim)).status).toBe(401);
    expect(sim.requestCount('alpha')).toBe(1);
    expect(sim.requests().map((r) => r.authorization)).toEqual(['ok', 'unknown_key']);
    expect(() => sim.credits('alpha')).toThrow("account 'alpha' was removed");
    sim.addAccount({ name: 'alpha', key: KEY, credits: 7 });
    expect(await (await credits(sim)).json()).toEqual({ credits: 7, currency: 'USD' });
  });
});

describe('faults', () => {
  it('answers server errors with the chosen status, Retry-After, for `times` requests', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'server_error', times: 2 });
    const first = await credits(sim);
    expect(first.status).toBe(500);
    expect(first.headers.get('retry-after')).toBeNull();
    expect((await errorOf(first)).code).toBe('internal_error');
    expect((await credits(sim)).status).toBe(500);
    expect((await credits(sim)).status).toBe(200);

    for (const [status, code] of [
      [502, 'bad_gateway'],
      [503, 'service_unavailable'],
      [504, 'gateway_timeout'],
    ] as const) {
      sim.setFault('alpha', { kind: 'server_error', status, retryAfterSeconds: 3 });
      const res = await credits(sim);
      expect(res.status).toBe(status);
      expect(res.headers.get('retry-after')).toBe('3');
      expect((await errorOf(res)).code).toBe(code);
    }
    // Without `times` it lasts until cleared.
    expect((await credits(sim)).status).toBe(504);
    sim.setFault('alpha', undefined);
    expect((await credits(sim)).status).toBe(200);
  });

  it('answers 429 with Retry-After in seconds, as an HTTP date, or none', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'rate_limited', retryAfter: { seconds: 7 }, times: 1 });
    const seconds = await credits(sim);
    expect(seconds.status).toBe(429);
    expect(seconds.headers.get('retry-after')).toBe('7');
    expect((await errorOf(seconds)).code).toBe('rate_limited');

    const date = new Date('2030-01-02T03:04:05Z');
    sim.setFault('alpha', { kind: 'rate_limited', retryAfter: { date }, times: 1 });
    const dated = await credits(sim);
    expect(dated.status).toBe(429);
    expect(dated.headers.get('retry-after')).toBe('Wed, 02 Jan 2030 03:04:05 GMT');
    expect(Date.parse(dated.headers.get('retry-after') ?? '')).toBe(date.getTime());
    await dated.arrayBuffer();

    sim.setFault('alpha', { kind: 'rate_limited', times: 1 });
    const bare = await credits(sim);
    expect(bare.status).toBe(429);
    expect(bare.headers.get('retry-after')).toBeNull();
    await bare.arrayBuffer();
    expect((await credits(sim)).status).toBe(200);
  });

  it('answers 400, 404 or 422 for bad_request', async () => {
    const sim = await start();
    for (const [status, code] of [
      [undefined, 'bad_request'],
      [404, 'not_found'],
      [422, 'unprocessable_entity'],
    ] as const) {
      sim.setFault('alpha', status === undefined ? { kind: 'bad_request' } : { kind: 'bad_request', status });
      const res = await credits(sim);
      expect(res.status).toBe(status ?? 400);
      expect((await errorOf(res)).code).toBe(code);
    }
  });

  it('sends 200 bodies that are not valid JSON, lack credits, or hold them as a string', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'invalid_json', times: 1 });
    const invalid = await credits(sim);
    expect(invalid.status).toBe(200);
    expect(invalid.headers.get('content-type')).toBe('application/json');
    const text = await invalid.text();
    expect(Number(invalid.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);

    sim.setFault('alpha', { kind: 'missing_credits', times: 1 });
    expect(await (await credits(sim)).json()).toEqual({ currency: 'USD' });

    sim.setFault('alpha', { kind: 'string_credits', times: 1 });
    expect(await (await credits(sim)).json()).toEqual({ credits: '4250', currency: 'USD' });

    expect(await (await credits(sim)).json()).toEqual({ credits: 4250, currency: 'USD' });
  });

  it('answers slow requests correctly, after the delay plus the latency', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'slow', delayMs: 150, times: 1 });
    sim.setLatency(100);
    const started = performance.now();
    const res = await credits(sim);
    expect(await res.json()).toEqual({ credits: 4250, currency: 'USD' });
    // Timers never fire early by more than a millisecond's rounding; only the lower bound is safe.
    expect(performance.now() - started).toBeGreaterThanOrEqual(245);
    expect(sim.requests('alpha')).toEqual([expect.objectContaining({ status: 200 })]);
  });

  it('gives up on a slow answer whose client went away, without disturbing the next one', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'slow', delayMs: 60_000, times: 1 });
    // The client goes away once the slow request has arrived (a fixed 100 ms abort could fire
    // before it did on a busy machine, and leave the slow fault to the next request).
    const controller = new AbortController();
    const gone = expect(credits(sim, `Bearer ${KEY}`, { signal: controller.signal })).rejects.toThrow();
    await waitUntil(() => sim.requestCount('alpha') === 1, 'the slow request to arrive');
    controller.abort();
    await gone;
    expect((await credits(sim)).status).toBe(200);
  });

  it('leaves hung requests open, recorded as hang, and lets other requests through', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'hang', times: 1 });
    const hung = credits(sim);
    hung.catch(() => undefined);
    await waitUntil(() => sim.requestCount('alpha') === 1, 'the hung request to arrive');
    expect(sim.requests('alpha')).toEqual([expect.objectContaining({ status: 'hang', authorization: 'ok' })]);
    expect((await credits(sim)).status).toBe(200);
    expect((await credits(sim, `Bearer ${OTHER_KEY}`)).status).toBe(200);
    await within(sim.close(), 'close() with a hung request');
    await expect(within(hung, 'the hung request')).rejects.toThrow();
  });

  it('resets the connection after the headers and part of the body', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'reset', times: 1 });
    const res = await credits(sim);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    await expect(res.text()).rejects.toThrow();
    expect(sim.requests('alpha')).toEqual([expect.objectContaining({ status: 'reset' })]);
    expect(await (await credits(sim)).json()).toEqual({ credits: 4250, currency: 'USD' });
  });

  it('fails every n-th request of a flaky account', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'flaky', every: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const res = await credits(sim);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 503, 200, 200, 503, 200]);
    sim.setFault('alpha', { kind: 'flaky', every: 1, status: 502 });
    expect((await credits(sim)).status).toBe(502);
  });

  it('applies a global fault to every request, before the account fault', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'server_error', status: 502 });
    sim.setGlobalFault({ kind: 'server_error', status: 503, times: 3 });
    expect((await credits(sim)).status).toBe(503);
    expect((await credits(sim, `Bearer ${OTHER_KEY}`)).status).toBe(503);
    expect((await credits(sim, null)).status).toBe(503);
    expect((await credits(sim)).status).toBe(502);
    expect((await credits(sim, `Bearer ${OTHER_KEY}`)).status).toBe(200);
    sim.setGlobalFault({ kind: 'rate_limited', retryAfter: { seconds: 1 } });
    expect((await credits(sim, `Bearer ${OTHER_KEY}`)).status).toBe(429);
    sim.setGlobalFault(undefined);
    expect((await credits(sim, `Bearer ${OTHER_KEY}`)).status).toBe(200);
  });

  it('rejects impossible faults with a message naming the field', () => {
    return start().then((sim) => {
      expect(() => sim.setFault('alpha', { kind: 'server_error', times: 0 })).toThrow(
        /times must be an integer from 1/,
      );
      expect(() => sim.setFault('alpha', { kind: 'server_error', status: 501 as 500 })).toThrow(
        /status must be one of 500, 502, 503, 504/,
      );
      expect(() => sim.setFault('alpha', { kind: 'slow', delayMs: -1 })).toThrow(/delayMs/);
      expect(() => sim.setFault('alpha', { kind: 'huge_body', bytes: 10 })).toThrow(
        /bytes must be an integer from 1024/,
      );
      expect(() => sim.setFault('alpha', { kind: 'flaky', every: 0 })).toThrow(/every/);
      expect(() => sim.setGlobalFault({ kind: 'rate_limited', retryAfter: { date: new Date('nope') } })).toThrow(
        /retryAfter.date must be a valid Date/,
      );
      expect(() => sim.setGlobalFault({ kind: 'explode' } as never)).toThrow(/unknown fault kind "explode"/);
      expect(() => sim.setFault('nobody', { kind: 'hang' })).toThrow(SimulatorUsageError);
    });
  });
});

describe('huge bodies', () => {
  it('streams a valid JSON body of exactly the requested size', async () => {
    const sim = await start();
    const bytes = 8 * 1024 * 1024 + 3;
    sim.setFault('alpha', { kind: 'huge_body', bytes, times: 1 });
    const res = await credits(sim);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes));
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBe(bytes);
    expect(JSON.parse(text)).toMatchObject({ credits: 4250, currency: 'USD' });
  });

  it('produces the smallest allowed size exactly', async () => {
    const sim = await start();
    sim.setFault('alpha', { kind: 'huge_body', bytes: HUGE_BODY_MIN_BYTES, times: 1 });
    const buffer = Buffer.from(await (await credits(sim)).arrayBuffer());
    expect(buffer.length).toBe(HUGE_BODY_MIN_BYTES);
  });

  it('does not hold a 64 MiB body in memory while a client reads slowly', async () => {
    const sim = await start();
    const bytes = 64 * 1024 * 1024;
    sim.setFault('alpha', { kind: 'huge_body', bytes });
    // The simulator runs in this process: note the responses it writes to.
    const responses = new Set<ServerResponse>();
    const originalWrite = ServerResponse.prototype.write as (...args: unknown[]) => boolean;
    const spy = vi.spyOn(ServerResponse.prototype, 'write').mockImplementation(function (
      this: ServerResponse,
      ...args: unknown[]
    ) {
      responses.add(this);
      return originalWrite.apply(this, args);
    });
    const before = process.memoryUsage().arrayBuffers;
    const req = httpGet(`${sim.url}/v1/credits`, { headers: { authorization: `Bearer ${KEY}` } });
    req.on('error', () => undefined);
    try {
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.pause();
      expect(res.headers['content-length']).toBe(String(bytes));
      // With the client paused, a server that honours backpressure fills the socket's buffers,
      // then stops and waits for 'drain'; one that ignored it would go on writing, never wait.
      await until(
        () => [...responses].some((r) => r.listenerCount('drain') > 0),
        15_000,
        'the simulator to wait for drain',
      );
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    } finally {
      spy.mockRestore();
      req.destroy();
    }
    sim.setFault('alpha', undefined);
    expect((await credits(sim)).status).toBe(200);
  });
});

describe('balances', () => {
  it('drains per successful request, showing the balance before the charge, never below 0', async () => {
    const sim = await start({ accounts: [{ name: 'alpha', key: KEY, credits: 100, drainPerRequest: 30 }] });
    const seen: unknown[] = [];
    for (let i = 0; i < 6; i += 1) seen.push(((await (await credits(sim)).json()) as { credits: number }).credits);
    expect(seen).toEqual([100, 70, 40, 10, 0, 0]);
    expect(sim.credits('alpha')).toBe(0);
    // Failed requests cost nothing.
    sim.topUp('alpha', 50);
    sim.setFault('alpha', { kind: 'server_error', times: 2 });
    await credits(sim);
    await credits(sim);
    expect(sim.credits('alpha')).toBe(50);
  });

  it('drains per second of the injected clock, in whole credits, never below 0', async () => {
    let now = Date.UTC(2026, 0, 1);
    const sim = await start({
      clock: { now: () => now },
      accounts: [{ name: 'alpha', key: KEY, credits: 1000, drainPerSecond: 3 }],
    });
    expect(sim.credits('alpha')).toBe(1000);
    now += 10_000;
    expect(sim.credits('alpha')).toBe(970);
    expect(await (await credits(sim)).json()).toEqual({ credits: 970, currency: 'USD' });
    now += 500; // 968.5 left: the API reports whole credits
    expect(sim.credits('alpha')).toBe(968);
    now -= 60_000; // a clock stepping back refunds nothing
    expect(sim.credits('alpha')).toBe(968);
    now += 60_000;
    sim.topUp('alpha', 32);
    expect(sim.credits('alpha')).toBe(1000);
    now += 1000;
    expect(sim.credits('alpha')).toBe(997);
    sim.setCredits('alpha', 10);
    now += 1_000_000;
    expect(sim.credits('alpha')).toBe(0);
    expect(sim.requests('alpha')[0]?.at).toBe(Date.UTC(2026, 0, 1) + 10_000);
  });

  it('sends the Date header from the injected clock', async () => {
    const sim = await start({ clock: { now: () => Date.UTC(2031, 5, 7, 8, 9, 10) } });
    const res = await credits(sim);
    expect(res.headers.get('date')).toBe('Sat, 07 Jun 2031 08:09:10 GMT');
  });

  it('sets and tops up balances, and rejects impossible ones with a clear message', async () => {
    const sim = await start();
    sim.setCredits('alpha', 640);
    expect(sim.credits('alpha')).toBe(640);
    sim.topUp('alpha', 360);
    expect(await (await credits(sim)).json()).toEqual({ credits: 1000, currency: 'USD' });
    expect(() => sim.setCredits('alpha', -1)).toThrow(
      "setCredits('alpha'): credits must be a whole number of credits, at least 0, got -1",
    );
    expect(() => sim.setCredits('alpha', 1.5)).toThrow(/whole number/);
    expect(() => sim.topUp('alpha', Number.NaN)).toThrow(/got NaN/);
    expect(() => sim.setCredits('gamma', 1)).toThrow("no account named 'gamma'");
    expect(() => sim.requestCount('gamma')).toThrow("no account named 'gamma' was ever added");
    expect(() => sim.setLatency(-5)).toThrow(/latency must be/);
    expect(sim.credits('alpha')).toBe(1000);
  });

  it('rejects bad accounts without ever putting the key in the message', async () => {
    const sim = await start();
    const attempts: [SimAccountSpec, RegExp][] = [
      [{ name: 'alpha', key: 'zx_new_key_000000000000', credits: 1 }, /account 'alpha' already exists/],
      [{ name: 'gamma', key: KEY, credits: 1 }, /account 'gamma': key is already used by account 'alpha'/],
      [{ name: 'gamma', key: 'zx has spaces', credits: 1 }, /key must be a non-empty string of visible ASCII/],
      [{ name: 'gamma', key: '', credits: 1 }, /key must be/],
      [{ name: '', key: 'zx_k', credits: 1 }, /account name must be a non-empty string/],
      [{ name: 'gamma', key: 'zx_k', credits: -3 }, /credits must be a whole number/],
      [{ name: 'gamma', key: 'zx_k', credits: 1, drainPerSecond: -1 }, /drainPerSecond must be a finite number/],
      [{ name: 'gamma', key: 'zx_k', credits: 1, currency: '' }, /currency must be a non-empty string/],
    ];
    for (const [spec, message] of attempts) {
      let thrown: unknown;
      try {
        sim.addAccount(spec);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(SimulatorUsageError);
      expect((thrown as Error).message).toMatch(message);
      if (spec.key.length > 4) expect((thrown as Error).message).not.toContain(spec.key);
    }
  });
});

describe('request records', () => {
  it('records account, time, status and how the header was read', async () => {
    let now = 1_000;
    const sim = await start({ clock: { now: () => now } });
    await credits(sim);
    now = 2_000;
    await credits(sim, `Bearer ${OTHER_KEY}`);
    now = 3_000;
    await credits(sim, 'bearer x');
    sim.revoke('alpha');
    await credits(sim);
    const all = sim.requests();
    expect(all.map(({ requestId: _id, ...rest }) => rest)).toEqual([
      { account: 'alpha', at: 1_000, status: 200, authorization: 'ok' },
      { account: 'beta', at: 2_000, status: 200, authorization: 'ok' },
      { account: undefined, at: 3_000, status: 401, authorization: 'malformed' },
      { account: 'alpha', at: 3_000, status: 401, authorization: 'ok' },
    ]);
    expect(sim.requests('alpha')).toHaveLength(2);
    expect(sim.requestCount()).toBe(4);
    expect(sim.requestCount('alpha')).toBe(2);
    expect(sim.requestCount('beta')).toBe(1);
    // Callers get copies.
    all[0]!.status = 999;
    expect(sim.requests()[0]?.status).toBe(200);
    sim.resetRecords();
    expect(sim.requests()).toEqual([]);
    expect(sim.requestCount()).toBe(0);
    expect(sim.requestCount('alpha')).toBe(0);
  });

  it('keeps only the most recent records but counts every request exactly', () => {
    const log = new RequestLog(3);
    for (let i = 0; i < 7; i += 1) {
      log.add({
        account: i % 2 === 0 ? 'even' : undefined,
        at: i,
        status: 200,
        authorization: 'ok',
        requestId: `r${i}`,
      });
    }
    expect(log.records().map((r) => r.at)).toEqual([4, 5, 6]);
    expect(log.records('even').map((r) => r.at)).toEqual([4, 6]);
    expect(log.count()).toBe(7);
    expect(log.count('even')).toBe(4);
    expect(MAX_REQUEST_RECORDS).toBe(100_000);
  });
});

describe('close()', () => {
  it('closes promptly with hung, slow and idle keep-alive connections open', async () => {
    const sim = await startSimulator({ accounts: [{ name: 'alpha', key: KEY, credits: 1 }] });
    const agent = new Agent({ keepAlive: true });
    const idle = await new Promise<number | undefined>((resolve, reject) => {
      httpGet(`${sim.url}/v1/credits`, { agent, headers: { authorization: `Bearer ${KEY}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject);
    });
    expect(idle).toBe(200);
    sim.setFault('alpha', { kind: 'hang', times: 2 });
    const hung = [credits(sim), credits(sim)];
    sim.setLatency(60_000);
    for (const pending of hung) pending.catch(() => undefined);
    await waitUntil(() => sim.requestCount() === 3, 'both hung requests to arrive');
    const slow = credits(sim);
    slow.catch(() => undefined);
    await waitUntil(() => sim.requestCount() === 4, 'the slow request to arrive');
    try {
      await within(sim.close(), 'close()');
      await within(sim.close(), 'a second close()');
      for (const pending of [...hung, slow]) await expect(within(pending, 'an open request')).rejects.toThrow();
      await expect(fetch(`${sim.url}/v1/credits`)).rejects.toThrow();
    } finally {
      agent.destroy();
    }
  });

  it('reports a port already in use', async () => {
    const sim = await start();
    const port = Number(new URL(sim.url).port);
    await expect(startSimulator({ port })).rejects.toThrow(`could not listen on 127.0.0.1:${port}`);
  });

  it('rejects bad options', async () => {
    await expect(startSimulator({ port: 70_000 })).rejects.toThrow(/port must be an integer from 0 to 65535/);
    await expect(startSimulator({ latencyMs: -1 })).rejects.toThrow(/latency must be/);
    await expect(startSimulator({ requestIdPrefix: 'has space' })).rejects.toThrow(/requestIdPrefix/);
  });
});

describe('demo and generated accounts', () => {
  it('demo accounts show every state the exporter knows', async () => {
    const accounts = demoAccounts();
    expect(accounts.map((a) => a.name)).toEqual(['production', 'staging', 'marketing', 'legacy', 'analytics', 'flaky']);
    for (const account of accounts) {
      expect(account.name).toMatch(/^[a-z0-9_]{1,64}$/);
      expect(account.key).toMatch(/^zx_demo_/);
    }
    expect(new Set(accounts.map((a) => a.key)).size).toBe(accounts.length);
    const byName = new Map(accounts.map((a) => [a.name, a]));
    const credits = (name: string): number => byName.get(name)?.credits ?? Number.NaN;
    expect(credits('staging')).toBeLessThan(1000);
    expect(credits('staging')).toBeGreaterThan(100);
    expect(credits('marketing')).toBeLessThan(100);

    let now = 0;
    const sim = await startSimulator({ accounts, clock: { now: () => now } });
    running.push(sim);
    const status = async (name: string): Promise<number> => {
      const res = await fetch(`${sim.url}/v1/credits`, {
        headers: { authorization: `Bearer ${byName.get(name)?.key}` },
      });
      await res.arrayBuffer();
      return res.status;
    };
    expect(await status('legacy')).toBe(401);
    expect(await status('analytics')).toBe(403);
    expect([await status('flaky'), await status('flaky'), await status('flaky')]).toEqual([200, 200, 503]);
    const startCredits = sim.credits('production');
    now += 5_000;
    expect(sim.credits('production')).toBeLessThan(startCredits);
  });

  it('generates accounts with padded names, distinct stable keys and varied balances', async () => {
    const accounts = generateAccounts(10_000);
    expect(accounts[0]?.name).toBe('acct_00001');
    expect(accounts[9_999]?.name).toBe('acct_10000');
    expect(new Set(accounts.map((a) => a.key)).size).toBe(10_000);
    expect(new Set(accounts.map((a) => a.credits)).size).toBeGreaterThan(1000);
    expect(generateAccounts(2)).toEqual(generateAccounts(2));
    expect(accounts[41]?.key).toBe(generatedKey('acct_00042'));
    expect(generateAccounts(1, { seed: 'x' })[0]?.key).not.toBe(generateAccounts(1)[0]?.key);
    expect(generateAccounts(3, { prefix: 'cust', credits: (i) => i * 10, drainPerRequest: 1 })).toEqual([
      expect.objectContaining({ name: 'cust_00001', credits: 10, drainPerRequest: 1 }),
      expect.objectContaining({ name: 'cust_00002', credits: 20 }),
      expect.objectContaining({ name: 'cust_00003', credits: 30 }),
    ]);
    expect(() => generateAccounts(-1)).toThrow(/count must be an integer/);

    const sim = await startSimulator({ accounts });
    running.push(sim);
    const last = accounts[9_999]!;
    const res = await fetch(`${sim.url}/v1/credits`, { headers: { authorization: `Bearer ${last.key}` } });
    expect(await res.json()).toEqual({ credits: last.credits, currency: 'USD' });
    expect(sim.requests()).toEqual([expect.objectContaining({ account: 'acct_10000', status: 200 })]);
  });
});

describe('command line', () => {
  it('parses flags and names the bad one', () => {
    expect(parseSimulatorArgs([])).toEqual({
      host: '127.0.0.1',
      port: 18080,
      accounts: 'demo',
      latencyMs: 0,
      seed: '',
      keyDir: undefined,
      help: false,
    });
    expect(
      parseSimulatorArgs(['--port', '0', '--accounts', '50', '--latency', '25', '--key-dir', '/tmp/k']),
    ).toMatchObject({
      port: 0,
      accounts: 50,
      latencyMs: 25,
      keyDir: '/tmp/k',
    });
    expect(parseSimulatorArgs(['--demo']).accounts).toBe('demo');
    expect(() => parseSimulatorArgs(['--port', '70000'])).toThrow(
      "--port must be an integer from 0 to 65535, got '70000'",
    );
    expect(() => parseSimulatorArgs(['--accounts', '0'])).toThrow(/--accounts must be an integer from 1/);
    expect(() => parseSimulatorArgs(['--accounts', '5x'])).toThrow(/--accounts/);
    expect(() => parseSimulatorArgs(['--demo', '--accounts', '3'])).toThrow('--demo and --accounts exclude each other');
    expect(() => parseSimulatorArgs(['--colour'])).toThrow(/--colour/);
  });

  it('masks keys down to a prefix and a fingerprint', () => {
    const masked = maskKey(KEY);
    expect(masked).toMatch(/^zx_… sha256:[0-9a-f]{8}$/);
    for (let i = 0; i + 8 <= KEY.length; i += 1) expect(masked).not.toContain(KEY.slice(i, i + 8));
    expect(maskKey(OTHER_KEY)).not.toBe(masked);
  });

  /** Start through tsx, then the guarded waits: more than the default 30 s on a loaded machine. */
  const CLI_TEST_TIMEOUT_MS = 60_000;

  function startCli(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/cli.ts', ...args], {
      cwd: join(import.meta.dirname, '..', '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const exit = once(child, 'exit').then(([code]) => code as number | null);
    return { child, output: () => text, exit };
  }

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'serves generated accounts, writes key files and exits 0 on %s',
    async (signal) => {
      const dir = await mkdtemp(join(tmpdir(), 'zexa-sim-'));
      const cli = startCli(['--port', '0', '--accounts', '3', '--key-dir', join(dir, 'keys')]);
      try {
        await waitUntil(
          () => /listening on (http:\S+)/.test(cli.output()) && cli.output().includes('Key files'),
          'the CLI to start',
        );
        const url = /listening on (http:\S+)/.exec(cli.output())?.[1] ?? '';
        const key = (await readFile(join(dir, 'keys', 'acct_00002'), 'utf8')).trimEnd();
        expect(key).toBe(generatedKey('acct_00002'));
        expect((await stat(join(dir, 'keys', 'acct_00002'))).mode & 0o777).toBe(0o600);
        const res = await fetch(`${url}/v1/credits`, { headers: { authorization: `Bearer ${key}` } });
        expect(await res.json()).toEqual({ credits: generateAccounts(3)[1]?.credits, currency: 'USD' });
        expect(cli.output()).toMatch(/acct_00003/);
        expect(cli.output()).not.toContain(key);
        cli.child.kill(signal);
        expect(await within(cli.exit, 'the CLI exit')).toBe(0);
        expect(cli.output()).toContain(`stopped (${signal})`);
      } finally {
        cli.child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'exits 2 with the usage on a bad flag',
    async () => {
      const cli = startCli(['--port', 'eighty']);
      try {
        expect(await within(cli.exit, 'the CLI exit')).toBe(2);
        expect(cli.output()).toContain("--port must be an integer from 0 to 65535, got 'eighty'");
        expect(cli.output()).toContain('Usage:');
      } finally {
        cli.child.kill('SIGKILL');
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
