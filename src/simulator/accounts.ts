/**
 * The simulated accounts: lookup by key (every request) and by name (every scripting call), and
 * balances that drain per request and per second of clock time without a timer per account.
 */
import { isValidKey } from './auth.js';
import { shownValue, SimulatorUsageError } from './errors.js';
import { FaultSlot, validateFault } from './faults.js';
import type { SimAccountSpec } from './types.js';

export interface Account {
  readonly name: string;
  readonly key: string;
  readonly currency: string;
  readonly drainPerRequest: number;
  readonly drainPerSecond: number;
  revoked: boolean;
  forbidden: boolean;
  readonly fault: FaultSlot;
  /** Fractional while draining; shown rounded down, as credits are whole. */
  balance: number;
  /** Clock time up to which `drainPerSecond` has been applied. */
  settledAt: number;
}

const MAX_CURRENCY_LENGTH = 64;
// Floating-point drain leaves 4999.999999… where 5000 - 1 was meant; this absorbs that.
const EPSILON = 1e-9;

function fail(message: string): never {
  throw new SimulatorUsageError(message);
}

/** Whole credits, as the API reports them: non-negative safe integers. */
export function checkCredits(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${what} must be a whole number of credits, at least 0, got ${shownValue(value)}`);
  }
  return value;
}

function checkRate(what: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(`${what} must be a finite number, at least 0, got ${shownValue(value)}`);
  }
  return value;
}

export class AccountBook {
  private readonly byName = new Map<string, Account>();
  private readonly byKey = new Map<string, Account>();
  /** Every name ever added, so a typo in a test is told apart from a removed account. */
  private readonly everAdded = new Set<string>();

  constructor(private readonly now: () => number) {}

  add(spec: SimAccountSpec): void {
    const name: unknown = spec.name;
    if (typeof name !== 'string' || name === '') fail('account name must be a non-empty string');
    const where = `account '${name}'`;
    if (this.byName.has(name)) fail(`${where} already exists`);
    // The key itself never goes into a message: these errors end up in test and CI logs.
    if (typeof spec.key !== 'string' || !isValidKey(spec.key)) {
      fail(`${where}: key must be a non-empty string of visible ASCII characters without whitespace`);
    }
    const other = this.byKey.get(spec.key);
    if (other !== undefined) fail(`${where}: key is already used by account '${other.name}'`);
    const currency = spec.currency ?? 'USD';
    if (typeof currency !== 'string' || currency === '' || currency.length > MAX_CURRENCY_LENGTH) {
      fail(`${where}: currency must be a non-empty string of at most ${MAX_CURRENCY_LENGTH} characters`);
    }
    const fault = new FaultSlot();
    if (spec.fault !== undefined) fault.set(validateFault(spec.fault, `${where}: fault`));
    const account: Account = {
      name,
      key: spec.key,
      currency,
      drainPerRequest: checkRate(`${where}: drainPerRequest`, spec.drainPerRequest),
      drainPerSecond: checkRate(`${where}: drainPerSecond`, spec.drainPerSecond),
      revoked: spec.revoked === true,
      forbidden: spec.forbidden === true,
      fault,
      balance: checkCredits(`${where}: credits`, spec.credits),
      settledAt: this.now(),
    };
    this.byName.set(name, account);
    this.byKey.set(account.key, account);
    this.everAdded.add(name);
  }

  remove(name: string): void {
    const account = this.get(name);
    this.byName.delete(name);
    this.byKey.delete(account.key);
  }

  /** Throws for a name that is not a current account. */
  get(name: string): Account {
    const account = this.byName.get(name);
    if (account !== undefined) return account;
    if (this.everAdded.has(name)) fail(`account '${name}' was removed`);
    return fail(`no account named '${name}'`);
  }

  byBearerKey(key: string): Account | undefined {
    return this.byKey.get(key);
  }

  /** Throws for a name that was never added; removed accounts keep their history. */
  checkKnown(name: string): void {
    if (!this.everAdded.has(name)) fail(`no account named '${name}' was ever added`);
  }

  /** Whole credits left now, after applying the per-second drain up to the clock. */
  credits(account: Account): number {
    this.settle(account);
    return Math.floor(account.balance + EPSILON);
  }

  setCredits(account: Account, credits: number): void {
    this.settle(account);
    account.balance = credits;
  }

  topUp(account: Account, credits: number): void {
    this.settle(account);
    account.balance += credits;
  }

  /** The charge of one successful `/v1/credits` call. */
  chargeRequest(account: Account): void {
    account.balance = Math.max(0, account.balance - account.drainPerRequest);
  }

  private settle(account: Account): void {
    const now = this.now();
    const elapsedMs = now - account.settledAt;
    // A clock that steps back is ignored rather than refunding credits.
    if (elapsedMs <= 0) return;
    if (account.drainPerSecond > 0) {
      account.balance = Math.max(0, account.balance - (account.drainPerSecond * elapsedMs) / 1000);
    }
    account.settledAt = now;
  }
}
