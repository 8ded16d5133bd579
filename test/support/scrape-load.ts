/**
 * A bounded scrape load on loopback for shutdown tests: `clients` loops, each requesting the
 * given paths in turn until the server refuses connections (it stopped listening) or a deadline
 * passes. Every outcome is classified so a test can tell the harmless end of a keep-alive
 * connection at shutdown from a response the server broke while it was still serving.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';

export type Outcome =
  /** Status and a body as long as its Content-Length. */
  | { kind: 'complete'; path: string; status: number; body: string }
  /** A new connection was refused: the server had stopped listening. */
  | { kind: 'refused'; path: string }
  /**
   * No response at all, and a fresh connection right after was refused: the connection ended as
   * the server stopped listening (an idle keep-alive connection closed under a request that was
   * still on its way). Clients retry these; Node documents the race (`request.reusedSocket`).
   */
  | { kind: 'closed_at_shutdown'; path: string; code: string }
  /** No response, yet the server was still accepting connections: a broken connection. */
  | { kind: 'broken_while_serving'; path: string; code: string }
  /** Headers arrived but the body was cut short or errored. */
  | { kind: 'truncated'; path: string; status: number; received: number; expected: number | undefined; code: string };

export interface ScrapeLoad {
  /** Resolves when every client has stopped. */
  done: Promise<Outcome[]>;
  /** Complete responses so far. */
  completed(): number;
}

/** True when a TCP connection to the port is accepted now. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : 'unknown';
}

function once(port: number, path: string, agent: Agent | undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    let response: IncomingMessage | undefined;
    let received = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (outcome: Outcome | Promise<Outcome>): void => {
      if (settled) return;
      settled = true;
      void Promise.resolve(outcome).then(resolve);
    };
    const fail = (error: unknown): void => {
      const code = errorCode(error);
      if (response !== undefined) {
        const length = response.headers['content-length'];
        settle({
          kind: 'truncated',
          path,
          status: response.statusCode ?? 0,
          received,
          expected: length === undefined ? undefined : Number(length),
          code,
        });
        return;
      }
      if (code === 'ECONNREFUSED') {
        settle({ kind: 'refused', path });
        return;
      }
      settle(
        accepting(port).then((open): Outcome =>
          open ? { kind: 'broken_while_serving', path, code } : { kind: 'closed_at_shutdown', path, code },
        ),
      );
    };
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: agent ?? false,
        headers: agent === undefined ? { connection: 'close' } : {},
      },
      (res) => {
        response = res;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('response aborted')));
        res.on('end', () => {
          const length = res.headers['content-length'];
          const expected = length === undefined ? undefined : Number(length);
          if (!res.complete || (expected !== undefined && received !== expected)) {
            settle({ kind: 'truncated', path, status: res.statusCode ?? 0, received, expected, code: 'incomplete' });
            return;
          }
          settle({ kind: 'complete', path, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/**
 * Starts `clients` loops against 127.0.0.1:`port`. Even-numbered clients keep their connection
 * alive between requests (as Prometheus does), odd ones open a new connection per request.
 */
export function startScrapeLoad(
  port: number,
  options: { clients: number; paths: readonly string[]; deadlineMs: number },
): ScrapeLoad {
  const outcomes: Outcome[] = [];
  let completed = 0;
  const stopAt = Date.now() + options.deadlineMs;
  const loops = Array.from({ length: options.clients }, async (_, client) => {
    const agent = client % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    try {
      for (let i = 0; Date.now() < stopAt; i++) {
        const path = options.paths[(client + i) % options.paths.length] ?? '/';
        const outcome = await once(port, path, agent);
        outcomes.push(outcome);
        if (outcome.kind === 'complete') {
          completed += 1;
          continue;
        }
        // Anything else ends this client: the server is going away (or broke, which the test reports).
        return;
      }
    } finally {
      agent?.destroy();
    }
  });
  return { done: Promise.all(loops).then(() => outcomes), completed: () => completed };
}
