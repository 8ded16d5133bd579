/**
 * Fault bookkeeping: checking a fault when it is set, and deciding per request whether it fires
 * (counting down `times`, counting requests for `flaky`).
 */
import { shownValue, SimulatorUsageError } from './errors.js';
import { HUGE_BODY_MIN_BYTES } from './responses.js';
import type { SimFault } from './types.js';

const SERVER_ERROR_STATUSES: readonly number[] = [500, 502, 503, 504];
const BAD_REQUEST_STATUSES: readonly number[] = [400, 404, 422];
// setTimeout's ceiling; a longer delay would fire at once.
const MAX_DELAY_MS = 2_147_483_647;

function fail(where: string, message: string): never {
  throw new SimulatorUsageError(`${where}: ${message}`);
}

function checkInteger(where: string, field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(where, `${field} must be an integer from ${min} to ${max}, got ${shownValue(value)}`);
  }
}

function checkStatus(where: string, value: unknown, allowed: readonly number[]): void {
  if (value !== undefined && (typeof value !== 'number' || !allowed.includes(value))) {
    fail(where, `status must be one of ${allowed.join(', ')}, got ${shownValue(value)}`);
  }
}

/** Throws a {@link SimulatorUsageError} naming the bad field; returns a private copy. */
export function validateFault(fault: SimFault, where: string): SimFault {
  if (typeof fault !== 'object' || fault === null) fail(where, 'a fault must be an object with a `kind`');
  if ('times' in fault && fault.times !== undefined) checkInteger(where, 'times', fault.times, 1);
  switch (fault.kind) {
    case 'server_error':
      checkStatus(where, fault.status, SERVER_ERROR_STATUSES);
      if (fault.retryAfterSeconds !== undefined) checkInteger(where, 'retryAfterSeconds', fault.retryAfterSeconds, 0);
      return { ...fault };
    case 'rate_limited': {
      const retryAfter = fault.retryAfter;
      if (retryAfter === undefined) return { ...fault };
      if ('seconds' in retryAfter) {
        checkInteger(where, 'retryAfter.seconds', retryAfter.seconds, 0);
        return { ...fault, retryAfter: { seconds: retryAfter.seconds } };
      }
      if (!(retryAfter.date instanceof Date) || Number.isNaN(retryAfter.date.getTime())) {
        fail(where, 'retryAfter.date must be a valid Date');
      }
      return { ...fault, retryAfter: { date: new Date(retryAfter.date.getTime()) } };
    }
    case 'slow':
      checkInteger(where, 'delayMs', fault.delayMs, 0, MAX_DELAY_MS);
      return { ...fault };
    case 'huge_body':
      checkInteger(where, 'bytes', fault.bytes, HUGE_BODY_MIN_BYTES);
      return { ...fault };
    case 'bad_request':
      checkStatus(where, fault.status, BAD_REQUEST_STATUSES);
      return { ...fault };
    case 'flaky':
      checkInteger(where, 'every', fault.every, 1);
      checkStatus(where, fault.status, SERVER_ERROR_STATUSES);
      return { ...fault };
    case 'hang':
    case 'reset':
    case 'invalid_json':
    case 'missing_credits':
    case 'string_credits':
      return { ...fault };
    default: {
      const kind: unknown = (fault as { kind?: unknown }).kind;
      return fail(where, `unknown fault kind ${JSON.stringify(kind) ?? 'undefined'}`);
    }
  }
}

/** The fault of one account, or the global one. */
export class FaultSlot {
  private fault: SimFault | undefined;
  private remaining: number | undefined;
  private seen = 0;

  /** `fault` must already be validated. */
  set(fault: SimFault | undefined): void {
    this.fault = fault;
    this.remaining = fault !== undefined && 'times' in fault ? fault.times : undefined;
    this.seen = 0;
  }

  get current(): SimFault | undefined {
    return this.fault;
  }

  /** Call once per request the slot applies to: the fault if it fires for this request. */
  take(): SimFault | undefined {
    const fault = this.fault;
    if (fault === undefined) return undefined;
    if (fault.kind === 'flaky') {
      this.seen += 1;
      return this.seen % fault.every === 0 ? fault : undefined;
    }
    if (this.remaining !== undefined) {
      this.remaining -= 1;
      if (this.remaining <= 0) this.set(undefined);
    }
    return fault;
  }
}
