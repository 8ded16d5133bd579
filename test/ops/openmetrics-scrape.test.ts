/**
 * A real Prometheus scraping the exporter with its default `Accept` header, which asks for
 * OpenMetrics 1.0.0 first: the scrape must succeed (`/api/v1/targets`) in OpenMetrics, and every
 * `zexa_` sample Prometheus stored must equal the text form's. A recording proxy between the two
 * shows what was asked for and what was answered.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../support/external.js';
import { startHarness, type Harness } from '../support/exporter-harness.js';
import { startPrometheusStack, type PrometheusStack } from '../support/prometheus-stack.js';

const prometheus = requireProgram(['prometheus'], 'prometheus');
const alertmanager = requireProgram(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');

interface Exchange {
  accept: string | undefined;
  contentType: string | undefined;
}

/** Forwards every request to `target` and records its Accept and the answer's Content-Type. */
function recordingProxy(target: string): Promise<{ server: Server; host: string; exchanges: Exchange[] }> {
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const upstream = request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers as IncomingHttpHeaders },
      (answer) => {
        exchanges.push({ accept: req.headers.accept, contentType: answer.headers['content-type'] });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, exchanges }),
    );
  });
}

/** `name{a="1",b="2"}` (labels sorted) → value, for every zexa_ sample of a text exposition. */
function textSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(zexa_[a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels = [...(match[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)]
      .map((m) => `${m[1]}="${m[2]}"`)
      .sort();
    out.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return out;
}

describe.skipIf(prometheus.missing || alertmanager.missing)(
  'Prometheus scraping with its default Accept header',
  () => {
    let harness: Harness;
    let proxy: Awaited<ReturnType<typeof recordingProxy>>;
    let stack: PrometheusStack;

    beforeAll(async () => {
      harness = await startHarness({
        accounts: [
          { name: 'production', key: 'zx_om_production_0001', credits: 4250 },
          { name: 'staging', key: 'zx_om_staging_0002', credits: 640, currency: 'EUR' },
          { name: 'legacy', key: 'zx_om_legacy_0003', credits: 900, revoked: true },
        ],
        // One poll each: the values stay as they are while Prometheus and the test read them.
        intervalMs: 3_600_000,
      });
      await harness.until(async () => (await fetch(`${harness.exporter.url}/readyz`)).status === 200);
      proxy = await recordingProxy(harness.exporter.url);
      stack = await startPrometheusStack({
        targets: [proxy.host],
        prometheusBin: prometheus.path as string,
        alertmanagerBin: alertmanager.path as string,
      });
    }, 60_000);

    afterAll(async () => {
      await stack?.close();
      await new Promise((resolve) => proxy?.server.close(resolve));
      await harness?.close();
    });

    it('scrapes OpenMetrics successfully, and stores the values the text form shows', async () => {
      interface Target {
        scrapeUrl: string;
        health: string;
        lastError: string;
      }
      let target: Target | undefined;
      await harness.until(async () => {
        const body = (await (await fetch(`${stack.prometheusUrl}/api/v1/targets`)).json()) as {
          data: { activeTargets: Target[] };
        };
        target = body.data.activeTargets.find((t) => t.scrapeUrl.includes(proxy.host));
        return target?.health === 'up';
      }, 30_000);
      expect(target).toMatchObject({ health: 'up', lastError: '' });

      const scrapes = proxy.exchanges;
      expect(scrapes.length).toBeGreaterThan(0);
      expect(scrapes[0]?.accept).toMatch(/^application\/openmetrics-text;version=1\.0\.0,/);
      expect(scrapes.every((s) => s.contentType === 'application/openmetrics-text; version=1.0.0; charset=utf-8')).toBe(
        true,
      );

      const expected = textSamples(await harness.metricsText());
      expect(expected.size).toBeGreaterThan(30);
      const stored = await stack.waitForSeries('{__name__=~"zexa_.+"}', 20_000);
      const got = new Map(
        stored.map((s) => {
          const { __name__: name, job: _job, instance: _instance, ...labels } = s.metric;
          const text = Object.entries(labels)
            .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
            .sort();
          return [`${name}{${text.join(',')}}`, Number(s.value[1])];
        }),
      );
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
    });
  },
);
