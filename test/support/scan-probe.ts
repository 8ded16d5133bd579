/**
 * A preload (`node --import tsx --import ./scan-probe.ts …`) that watches, inside the exporter's
 * process, how the scan of a key directory that a SIGHUP starts shares the event loop.
 * SCAN_PROBE_DIR names the directory and SCAN_PROBE_FILES how many files one scan opens. From the
 * first open of a file in the directory after a SIGHUP, the probe:
 * - counts the opens between two turns of the event loop (a setImmediate chain, which runs once
 *   per turn and only while a scan is going on);
 * - asks the exporter's own server for /healthz (the first HTTP server the process listens with)
 *   and notes whether the answer came before the scan had opened its last file.
 * When the scan has opened SCAN_PROBE_FILES files it writes one line to stderr:
 * `SCAN-PROBE {"opens":…,"turns":…,"maxOpensPerTurn":…,"healthzDuringScan":…}`.
 *
 * A reload loads on a worker thread, where the process's `--import`s do not run: the probe wraps
 * node:worker_threads' Worker so that every worker imports this file (after tsx) before its own
 * code. There the probe counts the worker's opens and turns, from its first open (a worker loads
 * once), and tells the main thread's probe over a BroadcastChannel when the scan starts and ends;
 * the main thread asks /healthz and writes the line.
 *
 * Nothing here depends on time: a synchronous scan opens every file within one turn however fast
 * the machine is, an asynchronous one a handful per turn.
 *
 * The opens are counted by wrapping `open` of node:fs/promises and `openSync` of node:fs, then
 * syncBuiltinESMExports(), which updates the named imports of every module to the wrappers.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import workerThreads, { isMainThread } from 'node:worker_threads';

const dir = process.env.SCAN_PROBE_DIR;
const files = Number(process.env.SCAN_PROBE_FILES);
if (dir === undefined || !Number.isInteger(files) || files <= 0)
  throw new Error('scan-probe: set SCAN_PROBE_DIR and SCAN_PROBE_FILES');

interface Scan {
  opensAtStart: number;
  seen: number;
  turns: number;
  maxOpensPerTurn: number;
  healthzDuringScan: boolean;
}

type Counts = Pick<Scan, 'turns' | 'maxOpensPerTurn'> & { opens: number };
type Signal = { event: 'start' } | { event: 'end'; counts: Counts };

let opens = 0;
// A worker is started for one load: its first open is the scan's.
let armed = !isMainThread;
let scan: Scan | undefined;
// Registered before the exporter's own handler: the reload that this SIGHUP starts is the scan.
if (isMainThread) process.on('SIGHUP', () => (armed = true));
let server: http.Server | undefined;
const channel = new BroadcastChannel('scan-probe');
channel.unref();
/** The main thread's side of a scan that runs on a worker. */
let remote: Scan | undefined;
if (isMainThread) {
  channel.onmessage = (message) => {
    const signal = (message as { data: Signal }).data;
    if (signal.event === 'start') {
      if (!armed) return;
      armed = false;
      remote = { opensAtStart: 0, seen: 0, turns: 0, maxOpensPerTurn: 0, healthzDuringScan: false };
      askHealthz(remote, () => remote);
    } else if (remote !== undefined) {
      report(signal.counts, remote.healthzDuringScan);
      remote = undefined;
    }
  };
}

function report(counts: Counts, healthzDuringScan: boolean): void {
  process.stderr.write(`SCAN-PROBE ${JSON.stringify({ ...counts, healthzDuringScan })}\n`);
}

// The exporter's server is the first one that listens (the process runs no other).
const originalListen = http.Server.prototype.listen;
http.Server.prototype.listen = function listen(this: http.Server, ...args: unknown[]) {
  if (server === undefined) server = this as http.Server;
  return (originalListen as (...a: unknown[]) => http.Server).apply(this, args);
} as typeof originalListen;

/** `ongoing` says which scan is still going on when the answer comes. */
function askHealthz(current: Scan, ongoing: () => Scan | undefined = () => scan): void {
  const address = server?.address() as AddressInfo | null | undefined;
  if (address === undefined || address === null) return;
  const request = http.get({ host: '127.0.0.1', port: address.port, path: '/healthz', agent: false }, (response) => {
    response.resume();
    response.on('end', () => {
      if (ongoing() === current && response.statusCode === 200) current.healthzDuringScan = true;
    });
  });
  request.on('error', () => undefined);
}

function tick(current: Scan): void {
  const opened = opens - current.opensAtStart;
  current.turns += 1;
  current.maxOpensPerTurn = Math.max(current.maxOpensPerTurn, opened - current.seen);
  current.seen = opened;
  if (opened < files) {
    setImmediate(() => tick(current));
    return;
  }
  scan = undefined;
  const counts = { opens: opened, turns: current.turns, maxOpensPerTurn: current.maxOpensPerTurn };
  if (isMainThread) report(counts, current.healthzDuringScan);
  else channel.postMessage({ event: 'end', counts } satisfies Signal);
}

function counted(path: unknown): void {
  if (typeof path !== 'string' || !path.startsWith(`${dir}/`)) return;
  opens += 1;
  if (scan !== undefined || !armed) return;
  armed = false;
  const current: Scan = { opensAtStart: opens - 1, seen: 0, turns: 0, maxOpensPerTurn: 0, healthzDuringScan: false };
  scan = current;
  if (isMainThread) askHealthz(current);
  else channel.postMessage({ event: 'start' } satisfies Signal);
  setImmediate(() => tick(current));
}

const originalOpen = fsp.open;
fsp.open = ((path: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
  counted(path);
  return (originalOpen as (...a: unknown[]) => ReturnType<typeof fsp.open>)(path, ...rest);
}) as typeof fsp.open;
const originalOpenSync = fs.openSync;
fs.openSync = ((path: Parameters<typeof fs.openSync>[0], ...rest: unknown[]) => {
  counted(path);
  return (originalOpenSync as (...a: unknown[]) => number)(path, ...rest);
}) as typeof fs.openSync;
const OriginalWorker = workerThreads.Worker;
const self = JSON.stringify(import.meta.url);
workerThreads.Worker = class ProbedWorker extends OriginalWorker {
  constructor(script: string | URL, options: workerThreads.WorkerOptions = {}) {
    const own = options.eval === true ? String(script) : `import(${JSON.stringify(String(script))});`;
    const probed = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${self}); }).then(() => { ${own} });`;
    super(probed, { ...options, eval: true });
  }
};
syncBuiltinESMExports();
