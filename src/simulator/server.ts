/**
 * The simulator's HTTP side on plain `node:http` (express would cost more than the whole API at
 * benchmark rates): writing decided answers, streaming huge bodies with backpressure, and
 * tracking every socket and timer so `close()` never waits on a hung or keep-alive connection.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { http } from '../lib/node-http.js';
import { AccountBook, checkCredits } from './accounts.js';
import { decide, type Answer } from './answer.js';
import { SimulatorUsageError } from './errors.js';
import { FaultSlot, validateFault } from './faults.js';
import { RequestLog } from './records.js';
import {
  MAX_REQUEST_RECORDS,
  type SimAccountSpec,
  type SimFault,
  type SimRequestRecord,
  type SimulatorOptions,
  type ZexaSimulator,
} from './types.js';

// Longer than the clients' idle timeouts (undici: 4 s), so the client, not the simulator, closes
// idle connections and a reused socket is never closed under a request in flight.
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
const MAX_LATENCY_MS = 2_147_483_647;
const STREAM_CHUNK = Buffer.alloc(64 * 1024, 'x');

function fail(message: string): never {
  throw new SimulatorUsageError(message);
}

function checkOptions(options: SimulatorOptions): void {
  const { host, port, latencyMs, requestIdPrefix, clock } = options;
  if (host !== undefined && (typeof host !== 'string' || host === '')) fail('host must be a non-empty string');
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    fail(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (latencyMs !== undefined) checkLatency(latencyMs);
  if (requestIdPrefix !== undefined && !/^[A-Za-z0-9_-]{0,32}$/.test(requestIdPrefix)) {
    fail('requestIdPrefix must be at most 32 characters of A-Z, a-z, 0-9, _ and -');
  }
  if (clock !== undefined && typeof clock.now !== 'function') fail('clock must have a now() method');
}

function checkLatency(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS) {
    fail(`latency must be a number of milliseconds from 0 to ${MAX_LATENCY_MS}, got ${String(ms)}`);
  }
  return ms;
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Resolves true on 'drain', false when the connection goes away first. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => settle(true);
    const onClose = (): void => settle(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** Writes one chunk, waiting out backpressure; false once the connection is gone. */
async function send(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  return res.write(chunk) || drained(res);
}

async function streamHugeBody(res: ServerResponse, answer: Extract<Answer, { kind: 'huge' }>): Promise<void> {
  if (!(await send(res, answer.head))) return;
  let left = answer.fill;
  while (left > 0) {
    const size = Math.min(left, STREAM_CHUNK.length);
    if (!(await send(res, size === STREAM_CHUNK.length ? STREAM_CHUNK : STREAM_CHUNK.subarray(0, size)))) return;
    left -= size;
  }
  res.end(answer.tail);
}

function writeAnswer(req: IncomingMessage, res: ServerResponse, answer: Exclude<Answer, { kind: 'hang' }>): void {
  if (res.destroyed) return;
  const head = req.method === 'HEAD';
  switch (answer.kind) {
    case 'complete':
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      return;
    case 'huge':
      res.writeHead(200, answer.headers);
      if (head) res.end();
      else void streamHugeBody(res, answer);
      return;
    case 'reset': {
      res.writeHead(200, answer.headers);
      if (head) {
        // A HEAD answer has no body to cut short: send the headers, then drop the connection.
        res.flushHeaders();
        setImmediate(() => res.socket?.destroy());
        return;
      }
      const part = answer.body.slice(0, Math.max(1, Math.floor(answer.body.length / 2)));
      // Destroy only once the partial body reached the socket, so the client sees it arrive.
      res.write(part, () => res.socket?.destroy());
      return;
    }
  }
}

/** What the request handler and the control methods share. */
interface SimulatorState {
  book: AccountBook;
  globalFault: FaultSlot;
  log: RequestLog;
  latencyMs: number;
  now: () => number;
  requestIdPrefix: string;
  /** Answers waiting out their delay; close() clears them. */
  timers: Set<NodeJS.Timeout>;
}

function answerRequest(state: SimulatorState, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const decision = decide(
    { method: req.method, path: query === -1 ? url : url.slice(0, query), authorization: req.headers.authorization },
    {
      book: state.book,
      globalFault: state.globalFault,
      latencyMs: state.latencyMs,
      requestId: `${state.requestIdPrefix}${randomUUID().replaceAll('-', '')}`,
      now: state.now(),
    },
  );
  state.log.add(decision.record);
  const answer = decision.answer;
  // A hung request is left open; close() destroys its socket.
  if (answer.kind === 'hang') return;
  if (decision.delayMs <= 0) {
    writeAnswer(req, res, answer);
    return;
  }
  const { timers } = state;
  const timer = setTimeout(() => {
    timers.delete(timer);
    writeAnswer(req, res, answer);
  }, decision.delayMs);
  timers.add(timer);
  res.once('close', () => {
    clearTimeout(timer);
    timers.delete(timer);
  });
}

/** Every open socket of `server`, so close() can destroy keep-alive and hung connections. */
function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`Zexa simulator could not listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') fail(`account name must be a string, got ${typeof name}`);
  return name;
}

/** The methods that change and read the simulated accounts. */
function controls(state: SimulatorState): Omit<ZexaSimulator, 'url' | 'close'> {
  const { book, log } = state;
  return {
    addAccount: (spec: SimAccountSpec) => book.add(spec),
    removeAccount: (name) => book.remove(checkName(name)),
    setCredits: (name, credits) => {
      const account = book.get(checkName(name));
      book.setCredits(account, checkCredits(`setCredits('${name}'): credits`, credits));
    },
    topUp: (name, credits) => {
      const account = book.get(checkName(name));
      book.topUp(account, checkCredits(`topUp('${name}'): credits`, credits));
    },
    revoke: (name) => {
      book.get(checkName(name)).revoked = true;
    },
    unrevoke: (name) => {
      book.get(checkName(name)).revoked = false;
    },
    setForbidden: (name, forbidden) => {
      book.get(checkName(name)).forbidden = forbidden;
    },
    setFault: (name, fault: SimFault | undefined) => {
      const account = book.get(checkName(name));
      account.fault.set(fault === undefined ? undefined : validateFault(fault, `setFault('${name}')`));
    },
    setGlobalFault: (fault) => {
      state.globalFault.set(fault === undefined ? undefined : validateFault(fault, 'setGlobalFault'));
    },
    setLatency: (ms) => {
      state.latencyMs = checkLatency(ms);
    },
    credits: (name) => book.credits(book.get(checkName(name))),
    requests: (name?: string): readonly SimRequestRecord[] => {
      if (name !== undefined) book.checkKnown(checkName(name));
      return log.records(name);
    },
    requestCount: (name?: string) => {
      if (name !== undefined) book.checkKnown(checkName(name));
      return log.count(name);
    },
    resetRecords: () => log.clear(),
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<ZexaSimulator> {
  checkOptions(options);
  const clock = options.clock ?? { now: () => Date.now() };
  const now = (): number => clock.now();
  const state: SimulatorState = {
    book: new AccountBook(now),
    globalFault: new FaultSlot(),
    log: new RequestLog(MAX_REQUEST_RECORDS),
    latencyMs: options.latencyMs ?? 0,
    now,
    requestIdPrefix: options.requestIdPrefix ?? 'req_',
    timers: new Set(),
  };
  for (const spec of options.accounts ?? []) state.book.add(spec);

  const server = http.createServer((req, res) => answerRequest(state, req, res));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const sockets = trackSockets(server);
  await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);

  let closing: Promise<void> | undefined;
  return {
    url: urlOf(server.address() as AddressInfo),
    ...controls(state),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of state.timers) clearTimeout(timer);
        state.timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
