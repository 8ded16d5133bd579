/**
 * An upstream that puts the key, or an 8-character slice of it, into each field of its answer in
 * turn: currency, request_id, the error message, an unknown extra field and headers (one echoed
 * back, one as x-request-id). Every field the exporter keeps refuses the answer as
 * invalid_response with a log line naming the field; fields it does not keep are ignored. Nothing
 * of any key may reach /metrics, the status page, the JSON API, `check` (table and JSON) or the
 * log at debug level.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check/run.js';
import { startHarness } from '../support/exporter-harness.js';
import { slices } from '../support/leak.js';

type Field = 'currency' | 'request_id' | 'message' | 'extra' | 'header' | 'x_request_id';
type Form = 'whole' | 'slice';

/** Unlike any word the exporter prints; the tail is letters and digits, so a slice of it is a well-formed currency code. */
function keyOf(index: number): string {
  return `zx_Q${index}m2Vb9Kp${index}Wd8Rf3Jt6Yh1Nc${String(index).padStart(2, '0')}`;
}

const FIELDS: Field[] = ['currency', 'request_id', 'message', 'extra', 'header', 'x_request_id'];
const FORMS: Form[] = ['whole', 'slice'];
const ACCOUNTS = FIELDS.flatMap((field) => FORMS.map((form) => ({ name: `${field}_${form}`, field, form }))).map(
  (account, index) => ({ ...account, key: keyOf(index) }),
);
const ALL_KEYS = ACCOUNTS.map((account) => account.key);
/** The log line each kept field gives; unknown fields and other headers are not kept, so they give none. */
const KEPT: Partial<Record<Field, string>> = {
  currency: 'its currency holds the API key',
  request_id: 'its request_id holds the API key',
  message: 'its error.message holds the API key',
  x_request_id: 'its x-request-id header holds the API key',
};

function answer(key: string, res: ServerResponse): void {
  const account = ACCOUNTS.find((a) => a.key === key);
  if (account === undefined) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"unknown key"}}');
    return;
  }
  // The slice is taken from the end, where the letters and digits are.
  const echo = account.form === 'whole' ? key : key.slice(-12, -4);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const body: Record<string, unknown> = { credits: 50, currency: 'USD' };
  if (account.field === 'currency') body.currency = echo;
  if (account.field === 'request_id') body.request_id = `req-${echo}`;
  if (account.field === 'extra') body.account_key = echo;
  if (account.field === 'header') headers['x-echo-authorization'] = `Bearer ${echo}`;
  if (account.field === 'x_request_id') headers['x-request-id'] = echo;
  if (account.field === 'message') {
    res
      .writeHead(401, headers)
      .end(JSON.stringify({ error: { message: `key ${echo} is revoked`, request_id: 'req-fine' } }));
    return;
  }
  res.writeHead(200, headers).end(JSON.stringify(body));
}

/** Every 8-character slice of every key found in `text`, in any letter case, named by account. */
function leaks(where: string, text: string): string[] {
  const flat = text.toLowerCase();
  const found: string[] = [];
  for (const account of ACCOUNTS) {
    for (const slice of slices(account.key))
      if (flat.includes(slice.toLowerCase())) found.push(`${where}: a slice of the key of ${account.name}`);
  }
  return found;
}

describe('a key echoed in any field of the answer', () => {
  let upstream: Server;
  let url = '';
  beforeAll(async () => {
    upstream = createServer((req: IncomingMessage, res: ServerResponse) =>
      answer((req.headers.authorization ?? '').replace(/^Bearer /, ''), res),
    );
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it(
    'is refused where it is kept, ignored where it is not, and never shown anywhere',
    { timeout: 60_000 },
    async () => {
      expect(new Set(ALL_KEYS).size).toBe(ACCOUNTS.length);
      const h = await startHarness({
        accounts: ACCOUNTS.map(({ name, key }) => ({ name, key, credits: 1 })),
        logLevel: 'debug',
        maxAttempts: 1,
        configure: (config) => {
          config.api.url = url;
        },
      });
      const seen: [string, string][] = [];
      try {
        for (const account of ACCOUNTS) {
          const series =
            KEPT[account.field] === undefined
              ? `zexa_up{account="${account.name}"}`
              : `zexa_poll_errors_total{account="${account.name}",reason="invalid_response"}`;
          await h.until(async () => ((await h.sample(series)) ?? 0) >= 1, 20_000);
        }
        const logs = h.logs.text();
        for (const [field, line] of Object.entries(KEPT)) {
          for (const form of FORMS) {
            const name = `${field}_${form}`;
            expect(
              h.logs.records().some((r) => r.account === name && JSON.stringify(r).includes(line)),
              `${name}: ${line}`,
            ).toBe(true);
          }
        }
        seen.push(
          ['log', logs],
          ['/metrics', await h.metricsText()],
          ['/', await (await fetch(`${h.exporter.url}/`)).text()],
        );
        seen.push(['/api/v1/accounts', await (await fetch(`${h.exporter.url}/api/v1/accounts`)).text()]);
        for (const account of ACCOUNTS) {
          seen.push([
            `/api/v1/accounts/${account.name}`,
            await (await fetch(`${h.exporter.url}/api/v1/accounts/${account.name}`)).text(),
          ]);
        }
        // The extra field and the echoed header are ignored: those accounts are up, in USD.
        expect(await h.sample('zexa_up{account="extra_whole"}')).toBe(1);
        expect(await h.sample('zexa_up{account="header_slice"}')).toBe(1);
        expect(seen.find(([where]) => where === '/metrics')?.[1]).toContain(
          'zexa_credits_remaining{account="extra_slice",currency="USD"}',
        );
      } finally {
        await h.close();
      }
      // check polls once: the test's short interval is no setting of its own.
      const checkEnv: Record<string, string> = { ...h.env, ZEXA_API_URL: url };
      delete checkEnv.ZEXA_POLL_INTERVAL;
      for (const output of ['table', 'json']) {
        let stdout = '';
        let stderr = '';
        await runCheck([`--output=${output}`], {
          sources: { env: checkEnv, readFile: (p) => readFileSync(p, 'utf8'), readDir: (p) => readdirSync(p) },
          stdout: (text) => (stdout += text),
          stderr: (text) => (stderr += text),
          retryPolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
        });
        expect(stdout).toContain('currency_slice');
        seen.push([`check --output=${output}`, stdout + stderr]);
      }
      expect(seen.flatMap(([where, text]) => leaks(where, text))).toEqual([]);
    },
  );
});
