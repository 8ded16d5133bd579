/**
 * SIGTERM to the real process (dist/main.js) while polls are slow or hanging and while 20
 * clients scrape /metrics and / as fast as they can: the process exits 0 within 5 s, reports no
 * unhandled rejection, and every request the server answered was answered completely; the only
 * failures allowed are connections refused (or closed) once the server had stopped listening.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { startHarness, until } from '../support/exporter-harness.js';
import { openRaw, parseRawResponse } from '../support/raw-http.js';
import { runExporter, type ExporterProcess } from '../support/process.js';
import { startScrapeLoad, type Outcome } from '../support/scrape-load.js';

const ACCOUNTS = [
  { name: 'alpha', key: 'zx_shutdown_alpha_6c1e0a9b', credits: 4250 },
  { name: 'beta', key: 'zx_shutdown_beta_2f8d4b7c', credits: 900 },
  { name: 'slow', key: 'zx_shutdown_slow_9a3e5d1f', credits: 10 },
  { name: 'stuck', key: 'zx_shutdown_stuck_4b7c2e8a', credits: 10 },
];

let sim: ZexaSimulator | undefined;
let proc: ExporterProcess | undefined;

afterEach(async () => {
  if (proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null) proc.kill('SIGKILL');
  await proc?.exited;
  proc = undefined;
  await sim?.close();
  sim = undefined;
});

async function startSlowSetup(): Promise<{ port: number; proc: ExporterProcess; sim: ZexaSimulator }> {
  const s = await startSimulator({
    accounts: [
      ACCOUNTS[0]!,
      ACCOUNTS[1]!,
      // Answers after 20 s, long after the 5 s request timeout: always in flight.
      { ...ACCOUNTS[2]!, fault: { kind: 'slow', delayMs: 20_000 } },
      { ...ACCOUNTS[3]!, fault: { kind: 'hang' } },
    ],
  });
  sim = s;
  const env: Record<string, string> = {
    ZEXA_API_URL: s.url,
    ZEXA_POLL_INTERVAL: '5s',
    ZEXA_EXPORTER_LOG_LEVEL: 'debug',
  };
  for (const a of ACCOUNTS) env[`ZEXA_API_KEY_${a.name.toUpperCase()}`] = a.key;
  const p = runExporter(['--web.listen-address=127.0.0.1:0'], env);
  proc = p;
  const port = await p.port();
  // Both slow requests are in flight and the fast accounts have their balance.
  await until(() => s.requestCount('slow') > 0 && s.requestCount('stuck') > 0, 15_000, 'the slow polls to start');
  await until(
    async () => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes('zexa_up{account="beta"} 1'),
    15_000,
    'beta to be polled',
  );
  return { port, proc: p, sim: s };
}

function describeFailures(outcomes: readonly Outcome[]): string[] {
  return outcomes
    .filter(
      (o) => o.kind === 'truncated' || o.kind === 'broken_while_serving' || (o.kind === 'complete' && o.status !== 200),
    )
    .map((o) => JSON.stringify(o.kind === 'complete' ? { ...o, body: o.body.slice(0, 200) } : o));
}

function expectCleanExit(
  p: ExporterProcess,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  elapsedMs: number,
): void {
  expect(exit).toEqual({ code: 0, signal: null });
  expect(elapsedMs).toBeLessThan(5000);
  // Nothing on stderr at all: no unhandled rejection, no crash report, no warning.
  expect(p.stderr()).toBe('');
  expect(p.stdout()).not.toMatch(/unhandled/i);
  expect(p.stdout()).toContain('"msg":"zexa-exporter stopped"');
}

describe('shutdown under pressure', () => {
  it('exits 0 within 5 s of SIGTERM while polls are slow and hanging', async () => {
    const { proc: p, sim: s } = await startSlowSetup();
    const startedAt = Date.now();
    p.kill('SIGTERM');
    const exit = await p.exited;
    expectCleanExit(p, exit, Date.now() - startedAt);
    // The slow requests were aborted, not waited for: each was asked exactly once.
    expect(s.requests('slow').length).toBe(1);
    expect(s.requests('stuck').length).toBe(1);
  });

  it('exits 0 within 5 s of SIGTERM under scrape load, answering every accepted request completely', async () => {
    const { port, proc: p } = await startSlowSetup();
    const load = startScrapeLoad(port, {
      clients: 20,
      paths: ['/metrics', '/', '/metrics', '/healthz'],
      deadlineMs: 15_000,
    });
    // Let the load reach its stride: every client has had several answers.
    await until(() => load.completed() >= 200, 15_000, '200 scrapes');
    const startedAt = Date.now();
    p.kill('SIGTERM');
    const exit = await p.exited;
    const elapsedMs = Date.now() - startedAt;
    const outcomes = await load.done;

    expectCleanExit(p, exit, elapsedMs);
    expect(describeFailures(outcomes)).toEqual([]);
    const complete = outcomes.filter((o) => o.kind === 'complete');
    expect(complete.length).toBeGreaterThanOrEqual(200);
    for (const o of complete) {
      if (o.path === '/metrics') expect(o.body).toMatch(/zexa_exporter_build_info\{[^}]*\} 1\n[\s\S]*\n$/);
      if (o.path === '/') expect(o.body.trimEnd()).toMatch(/<\/html>$/);
    }
    // Every client ended because the server went away, not because its deadline passed.
    const endings = outcomes.filter((o) => o.kind !== 'complete');
    expect(endings.length).toBe(20);
    console.info(
      `shutdown under load: exit after ${elapsedMs} ms; ${complete.length} complete responses; endings: ` +
        JSON.stringify(
          Object.fromEntries(
            ['refused', 'closed_at_shutdown'].map((k) => [k, endings.filter((o) => o.kind === k).length]),
          ),
        ),
    );
  });

  it('answers a request in progress on a keep-alive connection at close with Connection: close, then ends the connection', async () => {
    const h = await startHarness({ accounts: [ACCOUNTS[0]!] });
    try {
      const port = Number(new URL(h.exporter.url).port);
      const connection = await openRaw(port);
      // One full exchange proves the connection is established and kept alive. The same write
      // begins a second request (headers not finished): the server reads both in one go, so once
      // the first answer is back it has begun the second and the connection is busy, not idle.
      await connection.write(
        'GET /healthz HTTP/1.1\r\nHost: exporter\r\n\r\nGET /metrics HTTP/1.1\r\nHost: exporter\r\n',
      );
      await until(() => connection.received().includes('OK\n'), 10_000, 'the first answer');
      expect(parseRawResponse(connection.received()).headers.connection).toBe('keep-alive');
      const before = connection.received().length;
      const closed = h.exporter.close();
      await connection.write('Accept: text/plain\r\n\r\n');
      await connection.ended;
      await closed;
      const second = parseRawResponse(connection.received().slice(before));
      expect(second.status).toBe(200);
      expect(second.headers.connection).toBe('close');
      expect(Buffer.byteLength(second.body, 'latin1')).toBe(Number(second.headers['content-length']));
      expect(second.body).toContain('zexa_exporter_build_info');
    } finally {
      await h.close();
    }
  });
});
