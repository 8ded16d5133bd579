/**
 * GET /healthz from 127.0.0.2, another address than an attacker's on 127.0.0.1 or 127.0.1.x, so
 * the per-address share does not apply to the probe; milliseconds, or Infinity on failure.
 */
import http from 'node:http';

export function healthz(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/healthz', localAddress: '127.0.0.2', agent: false, timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Infinity));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(Infinity));
  });
}
