/**
 * Issue 12, "basic auth under a password-guessing flood": bcrypt checks used to wait in one
 * serial, unbounded queue, so a valid login behind 200 wrong passwords waited 14.9 s. Now the
 * queue is bounded (per client address and in total, see src/http/web-config/auth-queue.ts): what does not fit
 * is answered 503 with Retry-After at once, a cached credential skips the queue, and a client at
 * another address gets a turn during the flood. Bounded in count: at most 60 requests in
 * flight, 600 in all.
 */
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startExporter, type RunningExporter } from '../../src/runtime/exporter.js';
import { captureLogs } from '../support/log-capture.js';
import { startScriptedApi } from '../support/scripted-api.js';

const KEY = 'zx_auth_flood_1f4b7c9e3a';
/** Made once per run, at cost 10 as htpasswd does: the cost that makes a flood hurt. */
const PASSWORDS = { prometheus: 'scrape-password-1', grafana: 'scrape-password-2' };
let webConfigYaml = '';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

beforeAll(async () => {
  const lines = await Promise.all(
    Object.entries(PASSWORDS).map(async ([user, password]) => `  ${user}: "${await bcrypt.hash(password, 10)}"`),
  );
  webConfigYaml = `basic_auth_users:\n${lines.join('\n')}\n`;
});

async function start(): Promise<RunningExporter> {
  const api = await startScriptedApi(['100']);
  cleanups.push(() => api.close());
  const dir = mkdtempSync(join(tmpdir(), 'zexa-auth-flood-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'web.yml');
  writeFileSync(file, webConfigYaml);
  const env = { ZEXA_API_URL: api.url, ZEXA_API_KEY: KEY };
  const config = loadConfig({
    argv: ['--web.listen-address=127.0.0.1:0', `--web.config.file=${file}`],
    env,
    readFile: () => '',
    readDir: () => [],
  });
  const exporter = await startExporter(config, { env, logDestination: captureLogs(), processMetrics: false });
  cleanups.push(() => exporter.close());
  return exporter;
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

/** One GET on a connection of its own, from `localAddress`; 127.0.0.0/8 is all loopback on Linux. */
function get(url: string, path: string, auth: string | undefined, localAddress: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${url}${path}`,
      { agent: false, localAddress, ...(auth === undefined ? {} : { auth }) },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
  });
}

/** Wrong passwords from 127.0.0.2, `inFlight` at a time, until `stop()` or `max` requests. */
function flood(
  url: string,
  inFlight: number,
  max: number,
): { answers: Answer[]; firstAnswer: Promise<void>; stop: () => Promise<Answer[]> } {
  const answers: Answer[] = [];
  let sent = 0;
  let stopped = false;
  let onFirst: () => void = () => undefined;
  const firstAnswer = new Promise<void>((resolve) => (onFirst = resolve));
  const lane = async (): Promise<void> => {
    while (!stopped && sent < max) {
      sent++;
      answers.push(await get(url, '/metrics', `prometheus:guess-${sent}`, '127.0.0.2'));
      onFirst();
    }
  };
  const lanes = Promise.all(Array.from({ length: inFlight }, lane));
  return {
    answers,
    firstAnswer,
    stop: async () => {
      stopped = true;
      await lanes;
      return answers;
    },
  };
}

function expectOnly401And503(answers: readonly Answer[]): void {
  expect(answers.filter((a) => a.status !== 401 && a.status !== 503)).toEqual([]);
  const busy = answers.filter((a) => a.status === 503);
  // More were sent at once than the queue holds for one address: some were turned away.
  expect(busy.length).toBeGreaterThan(0);
  expect(new Set(busy.map((a) => a.retryAfter))).toEqual(new Set(['2']));
}

describe('basic auth under a password-guessing flood (issue 12)', () => {
  it('a cached valid scrape and /healthz are served during the flood; what does not fit is 503 with Retry-After', async () => {
    const exporter = await start();
    const valid = `prometheus:${PASSWORDS.prometheus}`;
    expect((await get(exporter.url, '/metrics', valid, '127.0.0.1')).status).toBe(200);

    const attack = flood(exporter.url, 60, 60);
    await attack.firstAnswer;
    expect((await get(exporter.url, '/metrics', valid, '127.0.0.1')).status).toBe(200);
    expect((await get(exporter.url, '/healthz', undefined, '127.0.0.1')).status).toBe(200);
    const answers = await attack.stop();
    expect(answers).toHaveLength(60);
    expectOnly401And503(answers);
  });

  it('a valid login not cached yet, from another address, gets its turn during the flood', async () => {
    const exporter = await start();
    const attack = flood(exporter.url, 40, 600);
    await attack.firstAnswer;
    const login = await get(exporter.url, '/metrics', `grafana:${PASSWORDS.grafana}`, '127.0.0.1');
    const answers = await attack.stop();
    expect(login.status).toBe(200);
    expectOnly401And503(answers);
  });
});
