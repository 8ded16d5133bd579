/**
 * What the exporter knows about each account: the latest balance, whether the latest poll
 * worked, the counters behind the `zexa_` metrics, and the last error. Pure bookkeeping with no
 * I/O; the poller feeds it, the metrics renderer and the status page read it.
 *
 * Every change bumps the account's `version` and the store's `version`, so readers can cache
 * what they derived from an account until it changes (the scrape path depends on that).
 */
import type { AccountConfig, Thresholds } from '../config/types.js';
import { consumptionOf, isDraining, type Consumption } from './consumption.js';
import type { PollErrorReason } from '../zexa/errors.js';
import { BalanceHistory } from './history.js';

/**
 * An account's state in one word: the status page's badge, the JSON API's `state` and the check's
 * column. DRAINING is an OK balance that runs out within the forecast alert's horizon; only what
 * reads the balance history can tell it (stateWithForecast), so stateOf never returns it.
 */
export type AccountState = 'PENDING' | 'OK' | 'DRAINING' | 'LOW' | 'CRITICAL' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'ERROR';

interface LastError {
  reason: PollErrorReason;
  message: string;
  status: number | undefined;
  requestId: string | undefined;
  atMs: number;
  attempts: number;
}

/** The key an account polls with, as far as it may be shown: never the key itself. */
export interface KeyInfo {
  /** First 12 hex digits of the key's SHA-256 (see keyFingerprint). */
  fingerprint: string;
  source: 'file' | 'env';
  /**
   * When this key came into use: the key file's mtime, or for an environment key the time this
   * process first read it. Undefined while a file's mtime could not be read.
   */
  lastChangeMs: number | undefined;
  /**
   * The key file's mtime lies in the future, so `lastChangeMs` is when this process first read
   * the key instead: a lower bound of its age, not a fresh key.
   */
  mtimeInFuture?: true;
  /** Whether another account of this exporter polls with the same key. */
  shared: boolean;
}

export interface AccountStatus {
  readonly name: string;
  thresholds: Thresholds;
  /** Balance of the latest successful poll; kept while later polls fail. */
  balance: { credits: number; currency: string } | undefined;
  /** Whether the latest finished poll succeeded. */
  up: boolean;
  /** Whether at least one poll has finished (successfully or not). */
  polled: boolean;
  lastSuccessMs: number | undefined;
  lastPollMs: number | undefined;
  lastError: LastError | undefined;
  authErrors: { '401': number; '403': number };
  /** Failed polls by reason; shared and empty until the first failure (most accounts never fail). */
  pollErrors: ReadonlyMap<PollErrorReason, number>;
  consumedTotal: number;
  addedTotal: number;
  /** The key of the latest poll that could read one (see poll/key-tracker.ts). */
  key: KeyInfo | undefined;
  version: number;
}

export interface PollSuccess {
  credits: number;
  currency: string;
  atMs: number;
}

export interface PollFailure {
  reason: PollErrorReason;
  message: string;
  status: number | undefined;
  requestId: string | undefined;
  attempts: number;
  atMs: number;
}

/** What the status page shows for an account, derived from its status. */
export function stateOf(status: AccountStatus): AccountState {
  if (!status.polled) return 'PENDING';
  if (!status.up) {
    if (status.lastError?.reason === 'unauthorized') return 'UNAUTHORIZED';
    if (status.lastError?.reason === 'forbidden') return 'FORBIDDEN';
    return 'ERROR';
  }
  const credits = status.balance?.credits ?? 0;
  if (credits <= status.thresholds.critical) return 'CRITICAL';
  if (credits <= status.thresholds.warning) return 'LOW';
  return 'OK';
}

/**
 * The state the page, the JSON API and `check` show: stateOf, with an OK account that runs out
 * within the forecast alert's horizon as DRAINING. `consumption` is asked only for OK accounts.
 */
export function stateWithForecast(status: AccountStatus, consumption: () => Consumption | undefined): AccountState {
  const state = stateOf(status);
  return state === 'OK' && isDraining(consumption()) ? 'DRAINING' : state;
}

/** The account's consumption now; undefined before its first successful poll. */
export function consumptionNow(status: AccountStatus, history: BalanceHistory, nowMs: number): Consumption | undefined {
  const balance = status.balance?.credits;
  return balance === undefined ? undefined : consumptionOf(history, status.name, balance, nowMs);
}

function sameThresholds(a: Thresholds, b: Thresholds): boolean {
  return a.warning === b.warning && a.critical === b.critical;
}

export class AccountStore {
  private readonly accounts = new Map<string, AccountStatus>();
  /** The statuses sorted by name; rebuilt only by configure (statuses change in place). */
  private sorted: readonly AccountStatus[] = [];
  /** Bumped on every change to any account, and when accounts are added or removed. */
  version = 0;

  /** @param history each account's recent balances (fed by recordSuccess, pruned by configure). */
  constructor(readonly history: BalanceHistory = new BalanceHistory()) {}

  /**
   * Makes the set of accounts match `configs`: new accounts start PENDING, removed ones (and all
   * they counted) are forgotten, thresholds are updated in place. Returns the names removed.
   */
  configure(configs: readonly Pick<AccountConfig, 'name' | 'thresholds'>[]): string[] {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const removed: string[] = [];
    for (const name of this.accounts.keys()) {
      if (!wanted.has(name)) {
        this.accounts.delete(name);
        this.history.forget(name);
        removed.push(name);
      }
    }
    for (const config of configs) {
      const existing = this.accounts.get(config.name);
      if (existing === undefined) {
        this.accounts.set(config.name, newStatus(config.name, config.thresholds));
      } else if (!sameThresholds(existing.thresholds, config.thresholds)) {
        existing.thresholds = { ...config.thresholds };
        existing.version++;
      }
    }
    this.sorted = [...this.accounts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.version++;
    return removed;
  }

  get(name: string): AccountStatus | undefined {
    return this.accounts.get(name);
  }

  /**
   * Accounts sorted by name, so every output is stable. The same array until the next configure:
   * a scrape of 10,000 accounts must not pay 10,000 map lookups to get it.
   */
  list(): readonly AccountStatus[] {
    return this.sorted;
  }

  get size(): number {
    return this.accounts.size;
  }

  /** True once every account has finished its first poll. */
  allPolled(): boolean {
    for (const status of this.accounts.values()) if (!status.polled) return false;
    return true;
  }

  /**
   * Records a successful poll. A decrease from the previous balance in the same currency counts as
   * consumption, an increase as a top-up; a currency change replaces the balance without counting
   * (the two numbers are not in the same unit). Returns whether the account was down before.
   */
  recordSuccess(name: string, poll: PollSuccess): { recovered: boolean } {
    const status = this.accounts.get(name);
    if (status === undefined) return { recovered: false };
    const recovered = status.polled && !status.up;
    const previous = status.balance;
    this.history.record(name, poll.atMs, poll.credits, previous === undefined || previous.currency === poll.currency);
    if (previous !== undefined && previous.currency === poll.currency) {
      // The client refuses balances beyond ±1e15 (MAX_ABS_CREDITS), so a delta is at most 2e15;
      // the finiteness check keeps a counter finite even if a caller skipped that check.
      const delta = poll.credits - previous.credits;
      if (delta < 0 && Number.isFinite(status.consumedTotal - delta)) status.consumedTotal -= delta;
      else if (delta > 0 && Number.isFinite(status.addedTotal + delta)) status.addedTotal += delta;
    }
    status.balance = { credits: poll.credits, currency: poll.currency };
    status.up = true;
    status.polled = true;
    status.lastSuccessMs = poll.atMs;
    status.lastPollMs = poll.atMs;
    status.version++;
    this.version++;
    return { recovered };
  }

  /** Replaces what is shown of the account's key (the key tracker calls this only on a change). */
  setKey(name: string, key: KeyInfo): void {
    const status = this.accounts.get(name);
    if (status === undefined) return;
    status.key = key;
    status.version++;
    this.version++;
  }

  /** Records a failed poll (after retries). The last good balance is kept. */
  recordFailure(name: string, failure: PollFailure): void {
    const status = this.accounts.get(name);
    if (status === undefined) return;
    status.up = false;
    status.polled = true;
    status.lastPollMs = failure.atMs;
    status.lastError = {
      reason: failure.reason,
      message: failure.message,
      status: failure.status,
      requestId: failure.requestId,
      atMs: failure.atMs,
      attempts: failure.attempts,
    };
    // A new map per failure: failures are rare, and 10,000 accounts do not each hold an empty map.
    status.pollErrors = new Map(status.pollErrors).set(
      failure.reason,
      (status.pollErrors.get(failure.reason) ?? 0) + 1,
    );
    if (failure.reason === 'unauthorized') status.authErrors['401']++;
    if (failure.reason === 'forbidden') status.authErrors['403']++;
    status.version++;
    this.version++;
  }
}

const NO_POLL_ERRORS: ReadonlyMap<PollErrorReason, number> = new Map();

function newStatus(name: string, thresholds: Thresholds): AccountStatus {
  return {
    name,
    thresholds: { ...thresholds },
    balance: undefined,
    up: false,
    polled: false,
    lastSuccessMs: undefined,
    lastPollMs: undefined,
    lastError: undefined,
    authErrors: { '401': 0, '403': 0 },
    pollErrors: NO_POLL_ERRORS,
    consumedTotal: 0,
    addedTotal: 0,
    key: undefined,
    version: 0,
  };
}
