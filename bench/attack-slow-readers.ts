/**
 * `npm run load -- --scenario slow-readers`: 400 connections send `GET /metrics` and never read
 * the answer, reconnecting when closed, while /healthz is probed from 127.0.0.2 every 20 ms. The
 * connections come from 127.0.1.1 upwards, 50 per address, so the per-address share (64) does not
 * turn them away. The /healthz p99 and the exporter's RSS are measured during the attack next to
 * an idle baseline of the same length, in the same run.
 */
import net from 'node:net';
import { phase, type AttackFigures } from './attack-slow-headers.js';
import type { ExporterChild } from './exporter-process.js';

const PER_ADDRESS = 50;

/** Opens `connections` sockets that ask for /metrics and never read; returns the closer. */
function openSlowReaders(url: URL, connections: number, path = '/metrics', headers = ''): () => void {
  let stopped = false;
  const sockets = new Set<net.Socket>();
  const open = (index: number): void => {
    if (stopped) return;
    const localAddress = `127.0.1.${1 + Math.floor(index / PER_ADDRESS)}`;
    const socket = net.connect({ host: url.hostname, port: Number(url.port), localAddress });
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${headers}\r\n`);
      // Never read: the kernel's receive buffer fills and the server's writes back up.
      socket.pause();
    });
    socket.once('close', () => {
      sockets.delete(socket);
      setTimeout(() => open(index), 100);
    });
  };
  for (let i = 0; i < connections; i++) open(i);
  return () => {
    stopped = true;
    for (const socket of sockets) socket.destroy();
  };
}

export async function slowReadersAttack(
  exporter: ExporterChild,
  seconds: number,
  connections = 400,
): Promise<AttackFigures> {
  const url = new URL(exporter.url);
  const idle = await phase(exporter, seconds * 1000);
  const close = openSlowReaders(url, connections);
  try {
    return {
      scenario: `slow readers: ${connections} connections ask for /metrics and never read`,
      idle,
      attack: await phase(exporter, seconds * 1000),
    };
  } finally {
    close();
  }
}
