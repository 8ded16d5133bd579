/**
 * HTTP/1.1 over a bare TCP socket, for requests no HTTP client sends (a literal `<script>` or
 * UTF-8 in the request line, huge headers) and for holding a connection open across a shutdown.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** 0 when nothing parseable came back (the connection was closed without an answer). */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything received, as text. */
  raw: string;
}

export function parseRawResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: '', raw };
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0),
    headers,
    body: raw.slice(end + 4),
    raw,
  };
}

export interface RawConnection {
  socket: Socket;
  write(text: string | Buffer): Promise<void>;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server ends or drops the connection. */
  ended: Promise<void>;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  // A reset after the server refused a huge request is an ending like any other here.
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    write: (text) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) {
          resolve();
          return;
        }
        socket.write(text, () => resolve());
      }),
    received: () => data,
    ended,
  };
}

/**
 * Sends `request` (bytes as given) with `Connection: close` semantics expected from the caller,
 * and resolves with what came back once the server closes the connection.
 */
export async function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  const connection = await openRaw(port);
  await connection.write(request);
  const timer = setTimeout(() => connection.socket.destroy(), 10_000);
  await connection.ended;
  clearTimeout(timer);
  return parseRawResponse(connection.received());
}
