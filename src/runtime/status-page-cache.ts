/**
 * The status page, rendered at most once a second: with thousands of accounts a page costs
 * milliseconds, and a person cannot tell a page one second old from a fresh one. A change in the
 * store shows after a quarter of a second.
 */
import type { Clock } from '../clock.js';

/** The page is re-rendered on a change after this long, and after this long regardless. */
const MIN_AGE_MS = 250;
const MAX_AGE_MS = 1000;

export class StatusPageCache {
  private page: { at: number; version: number; html: string } | undefined;

  /** `version` changes whenever the data behind the page does; `render` builds the page. */
  constructor(
    private readonly clock: Clock,
    private readonly version: () => number,
    private readonly render: () => string,
  ) {}

  html(): string {
    const now = this.clock.monotonic();
    const version = this.version();
    const page = this.page;
    const age = page === undefined ? Infinity : now - page.at;
    if (page !== undefined && age < MAX_AGE_MS && (page.version === version || age < MIN_AGE_MS)) return page.html;
    const fresh = { at: now, version, html: this.render() };
    this.page = fresh;
    return fresh.html;
  }
}
