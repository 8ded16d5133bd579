/**
 * The public shapes of the Zexa API simulator. Tests, the demo and the benchmarks script it
 * through these types only; everything else under src/simulator/ is an implementation detail.
 */

/** One simulated Zexa account: a bearer key and the balance it answers with. */
export interface SimAccountSpec {
  /** For humans and tests; also the handle every scripting method takes. Unique. */
  name: string;
  /** The bearer key this account answers to. Unique; visible ASCII, no whitespace. */
  key: string;
  /** Integer credits left, at least 0. */
  credits: number;
  /** Default `USD`. */
  currency?: string;
  /**
   * Credits consumed by each successful `/v1/credits` call (default 0). The response shows the
   * balance before its own charge, so the first poll sees `credits` as configured.
   */
  drainPerRequest?: number;
  /** Credits consumed per second of simulator clock time (default 0). */
  drainPerSecond?: number;
  /** Answer 401, as a revoked key does. */
  revoked?: boolean;
  /** Answer 403, as a key whose plan does not allow the call does. */
  forbidden?: boolean;
  /** A fault active from the start (the demo's flaky account uses it). */
  fault?: SimFault;
}

/** Status codes a `server_error` or `flaky` fault may answer with. */
type SimServerErrorStatus = 500 | 502 | 503 | 504;

/**
 * Misbehaviour to inject. `times` limits a fault to the next N requests it applies to, after
 * which it clears itself; without it the fault lasts until cleared. A fault replaces the answer
 * the request would otherwise get (also a 401 or 403), except `slow`, which only delays it.
 */
export type SimFault =
  | { kind: 'server_error'; status?: SimServerErrorStatus; times?: number; retryAfterSeconds?: number }
  | { kind: 'rate_limited'; retryAfter?: { seconds: number } | { date: Date }; times?: number }
  | { kind: 'slow'; delayMs: number; times?: number }
  | { kind: 'hang'; times?: number }
  | { kind: 'reset'; times?: number }
  | { kind: 'invalid_json'; times?: number }
  | { kind: 'missing_credits'; times?: number }
  | { kind: 'string_credits'; times?: number }
  | { kind: 'huge_body'; bytes: number; times?: number }
  | { kind: 'bad_request'; status?: 400 | 404 | 422; times?: number }
  /** Every `every`-th request it applies to (the `every`-th, `2*every`-th, …) gets a server error (default 503). */
  | { kind: 'flaky'; every: number; status?: SimServerErrorStatus };

/**
 * How the simulator read the `Authorization` header. `ok` means the key named an account, even
 * one that is revoked or forbidden: `status` tells what it was answered.
 */
export type SimAuthorization = 'ok' | 'missing' | 'malformed' | 'unknown_key';

/** One request, as the simulator saw it. Never holds the key. */
export interface SimRequestRecord {
  /** The account whose key was sent, if any. */
  account: string | undefined;
  /** Simulator clock time (wall ms) at arrival. */
  at: number;
  /** The status answered, or how the request was left unanswered. */
  status: number | 'reset' | 'hang';
  authorization: SimAuthorization;
  /** The `x-request-id` sent back (also in error bodies). */
  requestId: string;
}

export interface ZexaSimulator {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  addAccount(spec: SimAccountSpec): void;
  /** Its key is unknown from now on (401); its request history stays. */
  removeAccount(name: string): void;
  setCredits(name: string, credits: number): void;
  topUp(name: string, credits: number): void;
  revoke(name: string): void;
  unrevoke(name: string): void;
  setForbidden(name: string, forbidden: boolean): void;
  /** Applies to requests carrying this account's key; `undefined` clears it. */
  setFault(name: string, fault: SimFault | undefined): void;
  /** Applies to every `/v1/credits` request, before any account fault; `undefined` clears it. */
  setGlobalFault(fault: SimFault | undefined): void;
  /** Added to every response. */
  setLatency(ms: number): void;
  /** The balance now, drain included. */
  credits(name: string): number;
  /**
   * The most recent records (at most {@link MAX_REQUEST_RECORDS}), oldest first: every request,
   * wrong paths and methods included, so a client calling the wrong URL shows up too.
   */
  requests(name?: string): readonly SimRequestRecord[];
  /** Exact number of requests (as recorded above) since start or the last `resetRecords()`. */
  requestCount(name?: string): number;
  resetRecords(): void;
  /** Stops listening and destroys every connection, hung and keep-alive ones included. */
  close(): Promise<void>;
}

export interface SimulatorOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Added to every response; default 0. */
  latencyMs?: number;
  accounts?: SimAccountSpec[];
  /** Wall-clock ms, for `drainPerSecond`, record times and the `Date` header. Default `Date.now`. */
  clock?: { now(): number };
  /** Prefix of generated request ids; default `req_`. */
  requestIdPrefix?: string;
}

/** Bound on the records kept for `requests()`, so a long benchmark cannot exhaust memory. */
export const MAX_REQUEST_RECORDS = 100_000;
