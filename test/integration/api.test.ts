/**
 * The JSON API end to end: an in-process exporter polling the simulator, read over HTTP.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/exporter-harness.js';

const ACCOUNTS = [
  { name: 'prod_eu', key: 'zx_api_test_prod_eu_5f1e2d3c', credits: 50_000, drainPerRequest: 25 },
  { name: 'prod_us', key: 'zx_api_test_prod_us_9a8b7c6d', credits: 640 },
  { name: 'staging', key: 'zx_api_test_staging_1a2b3c4d', credits: 42 },
  { name: 'revoked', key: 'zx_api_test_revoked_4e5f6a7b', credits: 10, revoked: true },
];

async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; type: string | null; body: unknown }> {
  const response = await fetch(url, init);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
}

describe('GET /api/v1/accounts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ accounts: ACCOUNTS, maxAttempts: 1 });
    await h.until(async () => (await fetch(`${h.exporter.url}/readyz`)).status === 200, 20_000);
    await h.until(() => h.sim.requestCount('prod_eu') >= 3, 20_000);
  });
  afterAll(() => h?.close());

  it('lists every account, worst first, with the documented fields', async () => {
    const { status, type, body } = await getJson(`${h.exporter.url}/api/v1/accounts`);
    expect(status).toBe(200);
    expect(type).toBe('application/json; charset=utf-8');
    const list = body as {
      accounts: Array<Record<string, unknown>>;
      page: number;
      pages: number;
      pageSize: number;
      matching: number;
      total: number;
      counts: Record<string, number>;
    };
    expect(list).toMatchObject({
      page: 1,
      pages: 1,
      pageSize: 500,
      matching: 4,
      total: 4,
      counts: { UNAUTHORIZED: 1, CRITICAL: 1, LOW: 1, OK: 1 },
    });
    expect(list.accounts.map((a) => a.name)).toEqual(['revoked', 'staging', 'prod_us', 'prod_eu']);
    const revoked = list.accounts[0] as Record<string, unknown>;
    expect(revoked).toMatchObject({
      name: 'revoked',
      state: 'UNAUTHORIZED',
      balance: null,
      currency: null,
      thresholds: { warning: 1000, critical: 100 },
      lastSuccess: null,
      consumptionPerHour: null,
      secondsToEmpty: null,
      lastError: { reason: 'unauthorized', status: 401 },
    });
    expect((revoked.lastError as { requestId: string }).requestId).toMatch(/^req_[0-9a-f]{32}$/);
    expect(Object.keys(revoked).sort()).toEqual(
      [
        'name',
        'state',
        'balance',
        'currency',
        'thresholds',
        'lastSuccess',
        'lastError',
        'consumptionPerHour',
        'secondsToEmpty',
        'topUps',
        'historySeconds',
        'key',
      ].sort(),
    );
    // The key's fingerprint and age (issue 13), even for a key the API rejects; never the key.
    expect(revoked.key).toEqual({
      fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/),
      source: 'env',
      lastChange: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      ageSeconds: expect.any(Number),
      rotationDue: false,
      shared: false,
      sharedWith: [],
    });
    const eu = list.accounts[3] as Record<string, unknown>;
    expect(eu).toMatchObject({ state: 'OK', currency: 'USD', lastError: null });
    expect(eu.lastSuccess).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(eu.consumptionPerHour as number).toBeGreaterThan(0);
    // Draining, but far less than an hour of history: no time to empty yet.
    expect(eu.secondsToEmpty).toBeNull();
    expect(list.accounts).not.toContainEqual(expect.objectContaining({ history: expect.anything() }));
  });

  it('filters by state and name, and pages', async () => {
    const critical = (await getJson(`${h.exporter.url}/api/v1/accounts?state=critical`)).body as {
      accounts: Array<{ name: string }>;
      matching: number;
    };
    expect(critical.accounts.map((a) => a.name)).toEqual(['staging']);
    const prod = (await getJson(`${h.exporter.url}/api/v1/accounts?q=PROD`)).body as {
      accounts: Array<{ name: string }>;
      counts: Record<string, number>;
    };
    expect(prod.accounts.map((a) => a.name)).toEqual(['prod_us', 'prod_eu']);
    expect(prod.counts).toEqual({ LOW: 1, OK: 1 });
    const past = (await getJson(`${h.exporter.url}/api/v1/accounts?page=2`)).body as {
      accounts: unknown[];
      page: number;
      pages: number;
    };
    expect(past).toMatchObject({ accounts: [], page: 2, pages: 1 });
  });

  it('refuses a bad query with 400 and a JSON body naming the parameter', async () => {
    const { status, type, body } = await getJson(`${h.exporter.url}/api/v1/accounts?state=broke&page=x`);
    expect(status).toBe(400);
    expect(type).toBe('application/json; charset=utf-8');
    expect(body).toEqual({
      error: 'bad query',
      problems: [
        'state: must be one of unauthorized, critical, forbidden, error, low, draining, pending, ok',
        'page: must be a whole number from 1 to 999999',
      ],
    });
  });

  it('GET /api/v1/accounts/{name}: one account with its history points', async () => {
    const { status, body } = await getJson(`${h.exporter.url}/api/v1/accounts/prod_eu`);
    expect(status).toBe(200);
    const one = body as {
      name: string;
      bucketSeconds: number;
      history: Array<{ at: string; balance: number; consumed: number; added: number }>;
    };
    expect(one.name).toBe('prod_eu');
    expect(one.bucketSeconds).toBe(60);
    expect(one.history.length).toBeGreaterThanOrEqual(1);
    expect(one.history[0]).toMatchObject({ balance: 50_000, consumed: 0, added: 0 });
    expect(one.history.at(-1)?.balance).toBeLessThan(50_000);
    for (const point of one.history) expect(point.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const none = (await getJson(`${h.exporter.url}/api/v1/accounts/revoked`)).body as {
      history: unknown[];
      bucketSeconds: unknown;
    };
    expect(none).toMatchObject({ history: [], bucketSeconds: null });
  });

  it('an unknown account is a 404 with a JSON error that does not echo the name', async () => {
    const { status, type, body } = await getJson(`${h.exporter.url}/api/v1/accounts/zx_not_an_account_name`);
    expect(status).toBe(404);
    expect(type).toBe('application/json; charset=utf-8');
    expect(body).toEqual({ error: 'no such account' });
  });

  it('answers GET and HEAD only', async () => {
    const head = await fetch(`${h.exporter.url}/api/v1/accounts`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const post = await fetch(`${h.exporter.url}/api/v1/accounts/prod_eu`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('the API behind the web config', () => {
  it('asks for the same basic-auth credentials as /metrics', async () => {
    const h = await startHarness({
      accounts: ACCOUNTS.slice(0, 1),
      configure: (config) => {
        config.web.configFile = path.resolve(import.meta.dirname, '../fixtures/web-config/good/basic-auth.yml');
      },
    });
    try {
      const auth = { authorization: `Basic ${Buffer.from('alice:correct horse').toString('base64')}` };
      for (const endpoint of ['/metrics', '/api/v1/accounts', '/api/v1/accounts/prod_eu', '/']) {
        expect((await fetch(`${h.exporter.url}${endpoint}`)).status).toBe(401);
        expect((await fetch(`${h.exporter.url}${endpoint}`, { headers: auth })).status).toBe(200);
      }
    } finally {
      await h.close();
    }
  });
});
