/**
 * The listening socket of the exporter and its orderly end. `server.close()` closes only idle
 * connections and goes on serving busy keep-alive ones, so a scraper that reuses its connection
 * back to back would be cut mid-response by the grace timer. From shutdown on, each response says
 * `Connection: close` and its connection ends after it; scrapes still running get a second to
 * finish before every connection is cut.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How long responses in progress may go on once shutdown has begun. */
const GRACE_MS = 1000;
/** Longer than the usual load balancer idle timeout (60 s), so the balancer closes first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export class HttpListener {
  private draining = false;
  private readonly unanswered = new Set<ServerResponse>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    /** http(s)://host:port, with a wildcard address shown as 127.0.0.1. */
    readonly url: string,
    readonly port: number,
  ) {
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) {
        this.drain(res);
        return;
      }
      this.unanswered.add(res);
      res.once('close', () => this.unanswered.delete(res));
    });
  }

  /** Listens on host:port (port 0: any free port); rejects with the listen error (EADDRINUSE…). */
  static async listen(
    server: Server,
    address: { host: string | undefined; port: number },
    scheme: 'http' | 'https',
  ): Promise<HttpListener> {
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: address.port, host: address.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    const shown = host === '[::]' || host === '0.0.0.0' ? '127.0.0.1' : host;
    return new HttpListener(server, `${scheme}://${shown}:${bound.port}`, bound.port);
  }

  /**
   * Stops accepting connections and lets the answered ones end; `meanwhile` runs while the
   * responses in progress finish (the exporter stops polling there). Idempotent.
   */
  close(meanwhile: () => Promise<void>): Promise<void> {
    this.closing ??= (async () => {
      this.draining = true;
      for (const res of this.unanswered) this.drain(res);
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      await meanwhile();
      const grace = setTimeout(() => this.server.closeAllConnections(), GRACE_MS);
      grace.unref();
      await closed;
      clearTimeout(grace);
    })();
    return this.closing;
  }

  private drain(res: ServerResponse): void {
    if (!res.headersSent) res.setHeader('Connection', 'close');
    else res.once('finish', () => setImmediate(() => this.server.closeIdleConnections()));
  }
}
