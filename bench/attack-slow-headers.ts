/**
 * `npm run load -- --scenario slow-headers`: 512 connections from 127.0.0.1 each send
 * `GET /metrics HTTP/1.1` and then a header line every 3 s, reconnecting when closed, while
 * /healthz is probed from 127.0.0.2 (another address) every 20 ms. The /healthz p99 and the
 * exporter's RSS are measured during the attack next to an idle baseline of the same length, in
 * the same run.
 */
import http from 'node:http';
import net from 'node:net';
import { percentile } from './stats.js';
import type { ExporterChild } from './exporter-process.js';

export interface AttackFigures {
  scenario: string;
  idle: PhaseFigures;
  attack: PhaseFigures;
}

export interface PhaseFigures {
  probes: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  maxRssBytes: number;
}

const PROBE_EVERY_MS = 20;

function probe(url: URL): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(
      { host: url.hostname, port: url.port, path: '/healthz', localAddress: '127.0.0.2', agent: false, timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Infinity));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(Infinity));
  });
}

/** Probes /healthz for `ms`, sampling the RSS meanwhile. */
export async function phase(exporter: ExporterChild, ms: number): Promise<PhaseFigures> {
  const url = new URL(exporter.url);
  const samples: number[] = [];
  let maxRssBytes = exporter.rssBytes();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    samples.push(await probe(url));
    maxRssBytes = Math.max(maxRssBytes, exporter.rssBytes());
    await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
  }
  const answered = samples.filter(Number.isFinite);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    probes: samples.length,
    failed: samples.length - answered.length,
    p50Ms: round(percentile(answered, 50)),
    p99Ms: round(percentile(answered, 99)),
    maxMs: round(Math.max(0, ...answered)),
    maxRssBytes,
  };
}

export async function slowHeadersAttack(
  exporter: ExporterChild,
  seconds: number,
  connections = 512,
): Promise<AttackFigures> {
  const url = new URL(exporter.url);
  const idle = await phase(exporter, seconds * 1000);
  let stopped = false;
  const sockets = new Set<net.Socket>();
  const open = (): void => {
    if (stopped) return;
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    sockets.add(socket);
    let timer: NodeJS.Timeout | undefined;
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write('GET /metrics HTTP/1.1\r\n');
      timer = setInterval(() => socket.write('X-A: b\r\n'), 3_000);
    });
    socket.once('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
      // The attacker reconnects, after a pause so that refused connections do not spin.
      setTimeout(open, 100);
    });
  };
  for (let i = 0; i < connections; i++) open();
  try {
    return {
      scenario: `slow headers: ${connections} trickling connections from one address`,
      idle,
      attack: await phase(exporter, seconds * 1000),
    };
  } finally {
    stopped = true;
    for (const socket of sockets) socket.destroy();
  }
}

const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

export function attackReport(f: AttackFigures): string {
  const row = (name: string, p: PhaseFigures): string =>
    `| ${name} | ${p.probes} | ${p.failed} | ${p.p50Ms} ms | ${p.p99Ms} ms | ${p.maxMs} ms | ${mib(p.maxRssBytes)} |`;
  return [
    f.scenario,
    '',
    '| phase | /healthz probes | failed | p50 | p99 | max | RSS at most |',
    '|---|--:|--:|--:|--:|--:|--:|',
    row('idle', f.idle),
    row('attack', f.attack),
  ].join('\n');
}
