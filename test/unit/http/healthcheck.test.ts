/**
 * The health probe's flags when it runs beside the exporter in a container: the engine starts the
 * HEALTHCHECK without the arguments given to `docker run IMAGE --web.listen-address=…`, so a probe
 * without flags takes those of the exporter running as PID 1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exporterArgs, HEALTHY, runHealthcheck, UNHEALTHY } from '../../../src/http/healthcheck.js';

const ours = (script: string): boolean => script === 'dist/main.js' || script === '/app/dist/main.js';

describe('exporterArgs', () => {
  it.each([
    [
      'the flags after the entry point',
      'node\0dist/main.js\0--web.listen-address=:9999\0--log.level=debug\0',
      ['--web.listen-address=:9999', '--log.level=debug'],
    ],
    [
      'an absolute entry point',
      '/usr/local/bin/node\0/app/dist/main.js\0--web.listen-address=:9999\0',
      ['--web.listen-address=:9999'],
    ],
    ['no flags at all', 'node\0dist/main.js\0', []],
    ['another program as PID 1', 'tini\0--\0node\0dist/main.js\0', undefined],
    ['another script', 'node\0server.js\0--web.listen-address=:9999\0', undefined],
    ['a subcommand as PID 1', 'node\0dist/main.js\0check\0--output=json\0', undefined],
    ['a bare interpreter', 'node\0', undefined],
  ])('%s', (_name, cmdline, expected) => {
    expect(exporterArgs(cmdline, ours)).toEqual(expected);
  });
});

describe('runHealthcheck without flags', () => {
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const stderr = (): PassThrough & { text: () => string } => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    return Object.assign(out, { text: () => Buffer.concat(chunks).toString() });
  };

  it("probes the listen address of PID 1's flags", async () => {
    const err = stderr();
    expect(await runHealthcheck([], {}, err, () => [`--web.listen-address=127.0.0.1:${port}`])).toBe(HEALTHY);
    expect(err.text()).toBe('');
  });

  it("prefers its own flags to PID 1's", async () => {
    const err = stderr();
    const code = await runHealthcheck([`--web.listen-address=127.0.0.1:${port}`], {}, err, () => [
      '--web.listen-address=127.0.0.1:9',
    ]);
    expect(code).toBe(HEALTHY);
  });

  it('falls back to the environment and defaults when PID 1 is not the exporter', async () => {
    const err = stderr();
    const code = await runHealthcheck([], { ZEXA_EXPORTER_LISTEN_ADDRESS: `127.0.0.1:${port}` }, err, () => undefined);
    expect(code).toBe(HEALTHY);
    const missed = stderr();
    expect(await runHealthcheck([], { ZEXA_EXPORTER_LISTEN_ADDRESS: '127.0.0.1:9' }, missed, () => undefined)).toBe(
      UNHEALTHY,
    );
    expect(missed.text()).toContain('http://127.0.0.1:9/healthz');
  });
});
