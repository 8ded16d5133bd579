/**
 * What may be shown of each account's key: its fingerprint, where it comes from, when it came
 * into use, and whether another account of this exporter polls with the same key. Fed with every
 * key the poll path reads; a key that did not change costs one SHA-256 of a short string and a
 * compare, and changes nothing, so the cached /metrics blocks stay valid (10,000 accounts).
 *
 * "When it came into use" is taken when the fingerprint (or the source) changes, not at every
 * poll: a key file rewritten with the same key, or a Kubernetes Secret whose other keys changed
 * (the kubelet writes every file of the Secret anew), does not make an old key look fresh.
 *
 * A key file whose mtime lies in the future (`touch -d 2099-01-01`) would read as brand new for
 * ever and hide that rotation is due; its key is counted from when this process first read it
 * instead, marked as such, and the mtime is reported once through `onFutureMtime`.
 */
import { statSync } from 'node:fs';
import type { AccountStore, KeyInfo } from '../state/account-store.js';
import type { Clock } from '../lib/clock.js';
import type { AccountConfig } from '../config/types.js';
import { keyFingerprint } from '../config/keys.js';

/** One account started or stopped sharing its key with other accounts of this exporter. */
export interface SharedKeyChange {
  account: string;
  /** The other accounts with the same key (now, or until this change). */
  others: string[];
  shared: boolean;
  fingerprint: string;
}

export interface KeyTrackerOptions {
  clock: Clock;
  /** A key file's mtime with links followed (a Secret mount's `..data` link); throws like statSync. */
  mtimeMs?: (path: string) => number;
  onSharedChange?: (change: SharedKeyChange) => void;
  /** A key file's mtime is in the future; called once per account and key. */
  onFutureMtime?: (event: { account: string; fingerprint: string; mtimeMs: number }) => void;
}

/** Clock skew between a file server and this host that is not yet "the future". */
const FUTURE_MTIME_TOLERANCE_MS = 60_000;

export type TrackedAccount = Pick<AccountConfig, 'name' | 'key'>;

export class KeyTracker {
  /** Accounts by fingerprint: one name for most keys, a list only for shared ones. */
  private readonly byFingerprint = new Map<string, string | string[]>();
  private readonly mtimeMs: (path: string) => number;
  /** `account fingerprint` pairs whose future mtime was reported already. */
  private readonly futureReported = new Set<string>();

  constructor(
    private readonly store: AccountStore,
    private readonly options: KeyTrackerOptions,
  ) {
    this.mtimeMs = options.mtimeMs ?? ((path) => statSync(path).mtimeMs);
  }

  /** Records the key `account` polls with now. Never keeps the key, only its fingerprint. */
  observe(account: TrackedAccount, key: string): void {
    const status = this.store.get(account.name);
    if (status === undefined) return;
    const fingerprint = keyFingerprint(key);
    const source = account.key.kind;
    const current = status.key;
    if (current !== undefined && current.fingerprint === fingerprint && current.source === source) {
      // Unchanged; only a file whose mtime could not be read is looked at again.
      if (current.lastChangeMs === undefined) {
        const changed = this.changedAt(account, fingerprint);
        if (changed.lastChangeMs !== undefined) this.store.setKey(account.name, { ...current, ...changed });
      }
      return;
    }
    const changed = this.changedAt(account, fingerprint);
    if (current === undefined || current.fingerprint !== fingerprint) {
      if (current !== undefined) this.leave(account.name, current.fingerprint);
      const others = this.join(account.name, fingerprint);
      this.store.setKey(account.name, { fingerprint, source, ...changed, shared: others.length > 0 });
      if (others.length === 1) this.setShared(others[0] as string, true);
      if (others.length > 0)
        this.options.onSharedChange?.({ account: account.name, others, shared: true, fingerprint });
      return;
    }
    this.store.setKey(account.name, { fingerprint, source, shared: current.shared, ...changed });
  }

  /** The other accounts polling with the same key as `name` (empty when none, or not read yet). */
  sharedWith(name: string): string[] {
    const fingerprint = this.store.get(name)?.key?.fingerprint;
    if (fingerprint === undefined) return [];
    const members = this.byFingerprint.get(fingerprint);
    return Array.isArray(members) ? members.filter((n) => n !== name) : [];
  }

  /** Drops removed accounts (after a reload), so the accounts they shared a key with are told. */
  forget(names: readonly string[]): void {
    if (names.length === 0) return;
    const removed = new Set(names);
    for (const [fingerprint, members] of [...this.byFingerprint]) {
      for (const name of typeof members === 'string' ? [members] : members) {
        if (removed.has(name)) this.leave(name, fingerprint);
      }
    }
  }

  /** When the key `account` reads now came into use, and whether that is a stand-in for a future mtime. */
  private changedAt(account: TrackedAccount, fingerprint: string): Pick<KeyInfo, 'lastChangeMs' | 'mtimeInFuture'> {
    const nowMs = this.options.clock.now();
    if (account.key.kind === 'env') return { lastChangeMs: nowMs };
    let mtimeMs: number;
    try {
      mtimeMs = Math.floor(this.mtimeMs(account.key.path));
    } catch {
      // Read a moment ago and gone now (being replaced): the next poll tries again.
      return { lastChangeMs: undefined };
    }
    if (mtimeMs <= nowMs + FUTURE_MTIME_TOLERANCE_MS) return { lastChangeMs: mtimeMs };
    const reported = `${account.name} ${fingerprint}`;
    if (!this.futureReported.has(reported)) {
      this.futureReported.add(reported);
      this.options.onFutureMtime?.({ account: account.name, fingerprint, mtimeMs });
    }
    return { lastChangeMs: nowMs, mtimeInFuture: true };
  }

  /** Adds `name` to the accounts with `fingerprint`; returns the others already there. */
  private join(name: string, fingerprint: string): string[] {
    const members = this.byFingerprint.get(fingerprint);
    if (members === undefined) {
      this.byFingerprint.set(fingerprint, name);
      return [];
    }
    const others = typeof members === 'string' ? [members] : members;
    this.byFingerprint.set(fingerprint, [...others, name].sort());
    return [...others];
  }

  private leave(name: string, fingerprint: string): void {
    const members = this.byFingerprint.get(fingerprint);
    if (members === undefined) return;
    if (typeof members === 'string') {
      if (members === name) this.byFingerprint.delete(fingerprint);
      return;
    }
    const rest = members.filter((n) => n !== name);
    if (rest.length === members.length) return;
    this.byFingerprint.set(fingerprint, rest.length === 1 ? (rest[0] as string) : rest);
    if (rest.length === 1) this.setShared(rest[0] as string, false);
    this.options.onSharedChange?.({ account: name, others: rest, shared: false, fingerprint });
  }

  private setShared(name: string, shared: boolean): void {
    const key: KeyInfo | undefined = this.store.get(name)?.key;
    if (key !== undefined && key.shared !== shared) this.store.setKey(name, { ...key, shared });
  }
}
