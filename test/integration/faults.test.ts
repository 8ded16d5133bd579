/**
 * Fault injection over real loopback HTTP, one test per upstream behaviour. Each checks that the
 * exporter keeps serving /metrics, that `zexa_up` and `zexa_poll_errors_total{reason}` say what
 * happened, that the last good balance is kept, that the other account is unaffected, and that
 * the account recovers at the next poll once the fault clears.
 *
 * Covered elsewhere, not repeated here: polls of one account never overlap when the API is slower
 * than the interval (test/integration/exporter.test.ts, "never overlaps polls of one account…").
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { startExporter, type RunningExporter } from '../../src/runtime/exporter.js';
import { startSimulator, type SimFault, type SimRequestRecord } from '../../src/simulator/index.js';
import { parseSample, startHarness, until, type Harness, type HarnessOptions } from '../support/exporter-harness.js';
import { captureLogs, type LogCapture } from '../support/log-capture.js';
import { runExporter, type ExporterProcess } from '../support/process.js';
import { ms, TEST_LIMITS } from '../support/test-limits.js';

const VICTIM = { name: 'victim', key: 'zx_fault_victim_3c8e1a7f5d', credits: 4250 };
const BYSTANDER = { name: 'bystander', key: 'zx_fault_bystander_9b2d6f0e4a', credits: 777 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(options: Partial<HarnessOptions> = {}): Promise<Harness> {
  const h = await startHarness({ accounts: [VICTIM, BYSTANDER], intervalMs: 600, ...options });
  cleanups.push(() => h.close());
  await h.until(
    async () =>
      (await h.sample('zexa_up{account="victim"}')) === 1 && (await h.sample('zexa_up{account="bystander"}')) === 1,
  );
  return h;
}

const errors = async (h: Harness, reason: string, account = 'victim'): Promise<number> =>
  (await h.sample(`zexa_poll_errors_total{account="${account}",reason="${reason}"}`)) ?? 0;

/**
 * Injects `fault` on the victim, waits for `polls` failed polls with `reason`, checks everything
 * the issue asks for, clears the fault and checks the recovery at the next poll.
 */
async function injectAndRecover(
  h: Harness,
  fault: SimFault,
  reason: string,
  options: { polls?: number; timeoutMs?: number } = {},
): Promise<string> {
  const polls = options.polls ?? 2;
  h.sim.setFault('victim', fault);
  await h.until(async () => (await errors(h, reason)) >= polls, options.timeoutMs ?? 20_000);

  const response = await fetch(`${h.exporter.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  expect(parseSample(text, 'zexa_up{account="victim"}')).toBe(0);
  // Only this reason was counted for the victim.
  expect(text.match(/zexa_poll_errors_total\{account="victim",reason="[a-z_]+"\}/g)).toEqual([
    `zexa_poll_errors_total{account="victim",reason="${reason}"}`,
  ]);
  // The last good balance is kept through the failure.
  expect(parseSample(text, 'zexa_credits_remaining{account="victim",currency="USD"}')).toBe(VICTIM.credits);
  // The other account goes on as if nothing happened.
  expect(parseSample(text, 'zexa_up{account="bystander"}')).toBe(1);
  expect(text).not.toMatch(/zexa_poll_errors_total\{account="bystander"/);
  expect(parseSample(text, 'zexa_credits_remaining{account="bystander",currency="USD"}')).toBe(BYSTANDER.credits);
  expect((await fetch(`${h.exporter.url}/`)).status).toBe(200);

  // Recovery: at most the poll already under way when the fault cleared fails too.
  const failedBefore = await errors(h, reason);
  h.sim.setFault('victim', undefined);
  await h.until(async () => (await h.sample('zexa_up{account="victim"}')) === 1, options.timeoutMs ?? 20_000);
  expect(await errors(h, reason)).toBeLessThanOrEqual(failedBefore + 1);
  expect(await h.sample('zexa_credits_remaining{account="victim",currency="USD"}')).toBe(VICTIM.credits);
  expect(h.logs.records().some((r) => r.msg === 'account recovered' && r.account === 'victim')).toBe(true);
  return text;
}

/** The victim's requests, as the simulator saw them, grouped into polls by the exporter's logs. */
function failedPollAttempts(h: Harness, account = 'victim'): number[] {
  return h.logs
    .records()
    .filter((r) => r.msg === 'poll failed' && r.account === account)
    .map((r) => r.attempts as number);
}

function twoRequests(h: Harness, from: number): [SimRequestRecord, SimRequestRecord] {
  const [first, second] = h.sim.requests('victim').slice(from);
  if (first === undefined || second === undefined) throw new Error('expected two requests');
  return [first, second];
}

describe('fault injection: the API is slow, unreachable or cut off', () => {
  it('a response slower than the request timeout is a timeout', async () => {
    // undici's own timeouts have about 1 s resolution; the client's deadline is exact.
    const h = await harness({ timeoutMs: 1000, intervalMs: 1500, maxAttempts: 1 });
    await injectAndRecover(h, { kind: 'slow', delayMs: 4000 }, 'timeout', { polls: 1 });
    const failure = h.logs.records().find((r) => r.msg === 'poll failed' && r.account === 'victim');
    expect(failure?.error).toMatch(/did not answer within 1000 ms/);
  });

  it('a connection reset in the middle of the body is a network error', async () => {
    const h = await harness();
    await injectAndRecover(h, { kind: 'reset' }, 'network');
    // Retried (a network failure may be passing), within the configured attempts.
    expect(failedPollAttempts(h).every((n) => n >= 2 && n <= 3)).toBe(true);
  });

  it('connection refused is a network error, and polling resumes once the API listens again', async () => {
    // One base URL per exporter: the whole exporter sees the refusal, so this is asserted per exporter.
    const sim = await startSimulator({ accounts: [VICTIM] });
    const port = Number(new URL(sim.url).port);
    const h = await startHarness({ accounts: [VICTIM], intervalMs: 600, env: { ZEXA_API_URL: sim.url } });
    cleanups.push(() => h.close());
    cleanups.push(() => sim.close());
    await h.until(async () => (await h.sample('zexa_up{account="victim"}')) === 1);
    await sim.close();
    await h.until(async () => (await errors(h, 'network')) >= 2);
    const text = await h.metricsText();
    expect(parseSample(text, 'zexa_up{account="victim"}')).toBe(0);
    expect(parseSample(text, 'zexa_credits_remaining{account="victim",currency="USD"}')).toBe(VICTIM.credits);
    expect(h.logs.records().find((r) => r.msg === 'poll failed')?.error).toMatch(/ECONNREFUSED/);
    const failedBefore = await errors(h, 'network');
    const again = await startSimulator({ accounts: [{ ...VICTIM, credits: 4000 }], port });
    cleanups.push(() => again.close());
    await h.until(async () => (await h.sample('zexa_up{account="victim"}')) === 1);
    expect(await errors(h, 'network')).toBeLessThanOrEqual(failedBefore + 1);
    expect(await h.sample('zexa_credits_remaining{account="victim",currency="USD"}')).toBe(4000);
  });

  it('a DNS failure of the API host is a network error and fails fast', async () => {
    // RFC 2606 reserves .invalid: the resolver answers NXDOMAIN without asking the network. If a
    // resolver here hung instead, the request timeout (1 s) would bound it and the reason would
    // be `timeout`, which this test would then report.
    const sim = await startSimulator({ accounts: [VICTIM] });
    cleanups.push(() => sim.close());
    let dnsBroken = false;
    // The real resolver for the broken phase; loopback for the simulator once it is "fixed".
    const dispatcher = new Agent({
      // No keep-alive: every request connects, so every request resolves the name.
      pipelining: 0,
      connect: {
        lookup: (hostname, options, callback) => {
          if (dnsBroken) dnsLookup(hostname, options, callback);
          else dnsLookup('127.0.0.1', options, callback);
        },
      },
    });
    cleanups.push(() => dispatcher.close());
    const env = {
      ZEXA_API_URL: `http://zexa-api.invalid:${new URL(sim.url).port}`,
      ZEXA_API_KEY_VICTIM: VICTIM.key,
      ZEXA_POLL_INTERVAL: ms(600),
      ZEXA_REQUEST_TIMEOUT: '1s',
    };
    const config: Config = loadConfig(
      { argv: ['--web.listen-address=127.0.0.1:0'], env, readFile: () => '', readDir: () => [] },
      { limits: TEST_LIMITS },
    );
    const logs: LogCapture = captureLogs();
    const exporter: RunningExporter = await startExporter(config, {
      env,
      dispatcher,
      logDestination: logs,
      processMetrics: false,
      retryPolicy: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
    });
    cleanups.push(() => exporter.close());
    const sample = async (series: string): Promise<number | undefined> =>
      parseSample(await (await fetch(`${exporter.url}/metrics`)).text(), series);

    await until(async () => (await sample('zexa_up{account="victim"}')) === 1);
    dnsBroken = true;
    await until(async () => ((await sample('zexa_poll_errors_total{account="victim",reason="network"}')) ?? 0) >= 2);
    expect(await sample('zexa_up{account="victim"}')).toBe(0);
    expect(await sample('zexa_credits_remaining{account="victim",currency="USD"}')).toBe(VICTIM.credits);
    expect(await sample('zexa_poll_errors_total{account="victim",reason="timeout"}')).toBeUndefined();
    const failure = logs.records().find((r) => r.msg === 'poll failed');
    expect(failure?.error).toMatch(/zexa-api\.invalid.*ENOTFOUND/);
    const failedBefore = (await sample('zexa_poll_errors_total{account="victim",reason="network"}')) ?? 0;
    dnsBroken = false;
    await until(async () => (await sample('zexa_up{account="victim"}')) === 1);
    expect(await sample('zexa_poll_errors_total{account="victim",reason="network"}')).toBeLessThanOrEqual(
      failedBefore + 1,
    );
  });

  it('a real .invalid host through the default dispatcher fails with ENOTFOUND, well within the timeout', async () => {
    const logs = captureLogs();
    const env = {
      ZEXA_API_URL: 'http://zexa-api.invalid',
      ZEXA_API_KEY_VICTIM: VICTIM.key,
      ZEXA_REQUEST_TIMEOUT: '5s',
    };
    const config = loadConfig({
      argv: ['--web.listen-address=127.0.0.1:0'],
      env,
      readFile: () => '',
      readDir: () => [],
    });
    config.poll.maxAttempts = 1;
    const exporter = await startExporter(config, { env, logDestination: logs, processMetrics: false });
    cleanups.push(() => exporter.close());
    await until(() => logs.records().some((r) => r.msg === 'poll failed'), 10_000, 'the first poll to fail');
    const text = await (await fetch(`${exporter.url}/metrics`)).text();
    expect(parseSample(text, 'zexa_poll_errors_total{account="victim",reason="network"}')).toBe(1);
    expect(parseSample(text, 'zexa_up{account="victim"}')).toBe(0);
    expect(logs.records().find((r) => r.msg === 'poll failed')?.error).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe('fault injection: error statuses', () => {
  for (const status of [500, 502, 503] as const) {
    it(`a burst of ${status}s longer than the attempts fails one poll as server_error; a shorter one is absorbed by retries`, async () => {
      const h = await harness({ intervalMs: 1500, maxAttempts: 3 });
      // Two failures, then success: the poll's third attempt gets the balance.
      const before = h.sim.requestCount('victim');
      h.sim.setFault('victim', { kind: 'server_error', status, times: 2 });
      await h.until(() =>
        h.sim
          .requests('victim')
          .slice(before)
          .some((r) => r.status === 200),
      );
      expect(
        h.sim
          .requests('victim')
          .slice(before, before + 3)
          .map((r) => r.status),
      ).toEqual([status, status, 200]);
      expect(await errors(h, 'server_error')).toBe(0);
      // A burst as long as the attempts: one failed poll, each of its attempts counted.
      await injectAndRecover(h, { kind: 'server_error', status, times: 3 }, 'server_error', { polls: 1 });
      expect(await errors(h, 'server_error')).toBe(1);
      expect(failedPollAttempts(h)).toEqual([3]);
      expect(await h.sample(`zexa_api_requests_total{code="${status}"}`)).toBe(5);
    });
  }

  it('a permanent 503 never causes a retry storm: attempts per poll stay within the configured maximum', async () => {
    const h = await harness({ intervalMs: 500, maxAttempts: 3 });
    h.sim.resetRecords();
    h.sim.setFault('victim', { kind: 'server_error', status: 503 });
    await h.until(async () => (await errors(h, 'server_error')) >= 5);
    const polls = await errors(h, 'server_error');
    const requests = h.sim.requestCount('victim');
    // Every failed poll made at most 3 attempts; the poll under way may have made up to 3 more.
    expect(requests).toBeLessThanOrEqual(3 * (polls + 1));
    expect(failedPollAttempts(h).every((n) => n >= 1 && n <= 3)).toBe(true);
    // The healthy account still asks once per poll.
    expect(h.sim.requests('bystander').every((r) => r.status === 200)).toBe(true);
    h.sim.setFault('victim', undefined);
    await h.until(async () => (await h.sample('zexa_up{account="victim"}')) === 1);
  });

  it('429 with Retry-After in seconds: the retry waits that long, within the same poll', async () => {
    const h = await harness({ intervalMs: 5000 });
    const before = h.sim.requestCount('victim');
    h.sim.setFault('victim', { kind: 'rate_limited', retryAfter: { seconds: 2 }, times: 1 });
    await h.until(() => h.sim.requestCount('victim') >= before + 2, 20_000);
    const [limited, retry] = twoRequests(h, before);
    expect(limited.status).toBe(429);
    expect(retry.status).toBe(200);
    expect(retry.at - limited.at).toBeGreaterThanOrEqual(2000);
    // Long before the next poll (5 s later): it was the retry, not the next poll.
    expect(retry.at - limited.at).toBeLessThan(4500);
    expect(await errors(h, 'rate_limited')).toBe(0);
    expect(await h.sample('zexa_up{account="victim"}')).toBe(1);
  });

  it('429 with Retry-After as an HTTP date: the retry waits until that date', async () => {
    const h = await harness({ intervalMs: 5000 });
    const before = h.sim.requestCount('victim');
    const date = new Date(Date.now() + 3000);
    // The header has whole seconds: the exporter may retry from the start of that second.
    const notBefore = Math.floor(date.getTime() / 1000) * 1000;
    h.sim.setFault('victim', { kind: 'rate_limited', retryAfter: { date }, times: 1 });
    await h.until(() => h.sim.requestCount('victim') >= before + 2, 20_000);
    const [limited, retry] = twoRequests(h, before);
    expect(limited.status).toBe(429);
    expect(retry.status).toBe(200);
    expect(retry.at).toBeGreaterThanOrEqual(notBefore);
    expect(await errors(h, 'rate_limited')).toBe(0);
  });

  it('429 with a Retry-After beyond the next poll is not retried in this poll', async () => {
    const h = await harness({ intervalMs: 700 });
    h.sim.resetRecords();
    await injectAndRecover(h, { kind: 'rate_limited', retryAfter: { seconds: 60 } }, 'rate_limited', { polls: 3 });
    expect(failedPollAttempts(h).every((n) => n === 1)).toBe(true);
    const limited = h.sim.requests('victim').filter((r) => r.status === 429).length;
    const failed = failedPollAttempts(h).length;
    expect(limited).toBeGreaterThanOrEqual(failed);
    expect(limited).toBeLessThanOrEqual(failed + 1);
  });

  it('a key revoked while running gets 401 from then on, not retried, and works again once un-revoked', async () => {
    // See also exporter.test.ts ("counts a revoked key as a 401…") for the log record and request id.
    const h = await harness();
    h.sim.revoke('victim');
    await h.until(async () => (await errors(h, 'unauthorized')) >= 2);
    // One scrape for all four: a poll between two scrapes would move one counter and not the other.
    const text = await h.metricsText();
    expect(parseSample(text, 'zexa_up{account="victim"}')).toBe(0);
    expect(parseSample(text, 'zexa_auth_errors_total{account="victim",code="401"}')).toBe(
      parseSample(text, 'zexa_poll_errors_total{account="victim",reason="unauthorized"}'),
    );
    expect(parseSample(text, 'zexa_credits_remaining{account="victim",currency="USD"}')).toBe(VICTIM.credits);
    expect(parseSample(text, 'zexa_up{account="bystander"}')).toBe(1);
    expect(failedPollAttempts(h).filter((n) => n !== 1)).toEqual([]);
    h.sim.unrevoke('victim');
    await h.until(async () => (await h.sample('zexa_up{account="victim"}')) === 1);
  });
});

describe('fault injection: bodies that are not what the API documents', () => {
  it('a 200 whose body is not JSON is invalid_response, not retried', async () => {
    const h = await harness();
    await injectAndRecover(h, { kind: 'invalid_json' }, 'invalid_response');
    expect(failedPollAttempts(h).every((n) => n === 1)).toBe(true);
  });

  it('a 200 without credits is invalid_response', async () => {
    const h = await harness();
    await injectAndRecover(h, { kind: 'missing_credits' }, 'invalid_response');
    expect(h.logs.records().find((r) => r.msg === 'poll failed')?.error).toMatch(/credits must be a finite number/);
  });

  it('a 200 with credits as a string is invalid_response', async () => {
    const h = await harness();
    await injectAndRecover(h, { kind: 'string_credits' }, 'invalid_response');
    expect(h.logs.records().find((r) => r.msg === 'poll failed')?.error).toMatch(/credits must be a finite number/);
  });

  it('a 64 MiB body is refused at the size cap as invalid_response, without buffering it', async () => {
    const h = await harness();
    const rssBefore = process.memoryUsage().rss;
    await injectAndRecover(h, { kind: 'huge_body', bytes: 64 * 1024 * 1024 }, 'invalid_response', { polls: 3 });
    expect(h.logs.records().find((r) => r.msg === 'poll failed')?.error).toMatch(/larger than 65536 bytes/);
    // Loose: the simulator streams in this process too; three 64 MiB bodies would be 192 MiB.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('the exporter process stays bounded in memory while an API streams 64 MiB bodies without a length', async () => {
    const HUGE = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let huge = false;
    let streamedBytes = 0;
    // A loopback fake: chunked, so only the client's running count of bytes can stop it.
    const api = createServer((req, res) => {
      const isVictim = req.headers.authorization === `Bearer ${VICTIM.key}`;
      const account = isVictim ? VICTIM : BYSTANDER;
      if (!isVictim || !huge) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ credits: account.credits, currency: 'USD' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"credits":1,"currency":"USD","padding":"');
      let left = HUGE;
      const pump = (): void => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          streamedBytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end('"}');
      };
      pump();
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          api.closeAllConnections();
          api.close(resolve);
        }),
    );
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

    const proc: ExporterProcess = runExporter(['--web.listen-address=127.0.0.1:0'], {
      ZEXA_API_URL: apiUrl,
      ZEXA_POLL_INTERVAL: '5s',
      ZEXA_API_KEY_VICTIM: VICTIM.key,
      ZEXA_API_KEY_BYSTANDER: BYSTANDER.key,
    });
    cleanups.push(async () => {
      proc.kill('SIGTERM');
      await proc.exited;
    });
    const port = await proc.port();
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const memoryKiB = (field: 'VmRSS' | 'VmHWM'): number =>
      Number(
        new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${proc.child.pid}/status`, 'utf8'))?.[1],
      );

    await until(async () => (await metrics()).includes('zexa_up{account="victim"} 1'), 15_000, 'the first poll');
    // Warm up the rendering paths, so their first-use allocations are in the baseline.
    for (let i = 0; i < 5; i++) await metrics();
    // The peak so far (start-up included) is the baseline: only a new peak counts as growth.
    const baselineKiB = Math.max(memoryKiB('VmRSS'), memoryKiB('VmHWM'));
    huge = true;
    await until(
      async () => (await metrics()).includes('zexa_poll_errors_total{account="victim",reason="invalid_response"} 1'),
      15_000,
      'a poll of the huge body',
    );
    // VmHWM is the peak resident size. Buffering the body would cost over 128 MiB (the chunks, then
    // the string); measured growth is about 27 MiB of ordinary heap growth, so the bound is loose.
    const peakGrowthKiB = memoryKiB('VmHWM') - baselineKiB;
    const text = await metrics();
    expect(text).toContain('zexa_up{account="victim"} 0');
    expect(text).toContain('zexa_credits_remaining{account="victim",currency="USD"} 4250');
    expect(text).toContain('zexa_up{account="bystander"} 1');
    expect(peakGrowthKiB).toBeLessThan(48 * 1024);
    // The exporter stopped reading early: far less than the 64 MiB was ever sent.
    expect(streamedBytes).toBeLessThan(HUGE / 4);
    huge = false;
    await until(async () => (await metrics()).includes('zexa_up{account="victim"} 1'), 15_000, 'the recovery');
    console.info(
      `64 MiB chunked body: exporter peak RSS growth ${peakGrowthKiB} KiB over ${baselineKiB} KiB; the API got to send ${streamedBytes} bytes before the exporter hung up`,
    );
  });
});
