/**
 * Serializes configuration reloads. SIGHUP and `POST /-/reload` may ask at any moment, many times
 * at once; applying two reloads together would stop the same poller twice and start two new ones,
 * the first of which nobody stops again. Here at most one reload runs, and at most one
 * waits: a request that arrives while one runs joins the next run, which starts when the current
 * one has ended and reads the configuration afresh, so it sees every change the joined requests
 * were made for. The outcome is the same as running the requests one after the other, and a storm
 * of requests costs at most two reloads at a time. Each run is told how many requests it answers,
 * so a flood is logged as the runs it caused, not as one line per request.
 */
import type { ReloadOutcome } from '../config/types.js';

export class Reloader {
  private running: Promise<ReloadOutcome> | undefined;
  private pending: Promise<ReloadOutcome> | undefined;
  /** Requests the queued run will answer. */
  private pendingRequests = 0;
  private closed = false;

  /**
   * `apply` loads and applies the configuration once, for `requests` requests; it reports
   * failures in its outcome.
   */
  constructor(private readonly apply: (requests: number) => Promise<ReloadOutcome>) {}

  /** Runs a reload now, or joins the one queued behind the running one. */
  request(): Promise<ReloadOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, problems: ['the exporter is stopping'] });
    if (this.running === undefined) return this.start(1);
    const after = (): Promise<ReloadOutcome> => {
      const requests = this.pendingRequests;
      this.pending = undefined;
      this.pendingRequests = 0;
      return this.closed
        ? Promise.resolve({ ok: false, problems: ['the exporter is stopping'] })
        : this.start(requests);
    };
    this.pendingRequests += 1;
    this.pending ??= this.running.then(after, after);
    return this.pending;
  }

  /** Refuses further requests and resolves once no reload runs or waits. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running !== undefined || this.pending !== undefined) {
      await (this.pending ?? this.running)?.catch(() => undefined);
    }
  }

  private start(requests: number): Promise<ReloadOutcome> {
    const run = this.apply(requests).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
