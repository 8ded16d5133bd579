/**
 * The status page and the JSON API list, each query's answer kept for a moment: with thousands of
 * accounts a page costs milliseconds, and a person cannot tell a page one second old from a fresh
 * one. A change in the store shows after a quarter of a second. One entry per distinct query
 * (`/?state=critical`, `/api/v1/accounts?page=2`, …), the oldest dropped beyond a few dozen.
 */
import type { Clock } from '../lib/clock.js';

/** An answer is re-rendered on a change after this long, and after this long regardless. */
const MIN_AGE_MS = 250;
const MAX_AGE_MS = 1000;
/** Distinct queries kept. */
const MAX_ENTRIES = 32;

export class StatusPageCache {
  private readonly entries = new Map<string, { at: number; version: number; value: unknown }>();

  /** `version` changes whenever the data behind the pages does. */
  constructor(
    private readonly clock: Clock,
    private readonly version: () => number,
  ) {}

  /** The answer for `key`, from `render` when there is none recent enough. */
  get<T>(key: string, render: () => T): T {
    const now = this.clock.monotonic();
    const version = this.version();
    const entry = this.entries.get(key);
    const age = entry === undefined ? Infinity : now - entry.at;
    if (entry !== undefined && age < MAX_AGE_MS && (entry.version === version || age < MIN_AGE_MS))
      return entry.value as T;
    const value = render();
    this.entries.delete(key);
    this.entries.set(key, { at: now, version, value });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}
