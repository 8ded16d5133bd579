/**
 * An undici Agent that can hold requests back: while holding, a request is neither sent nor
 * failed, and an abort of it takes effect only once it is let go (undici applies an abort that
 * comes before the request reached a connection at that point). Tests use it to keep a poll in
 * flight, so that stopping the poller has to wait for it: the window in which overlapping reloads
 * used to start two pollers.
 */
import { Agent, type Dispatcher } from 'undici';

export class HoldingAgent extends Agent {
  private holding = false;
  private readonly held: (() => void)[] = [];

  /** Requests dispatched from now on wait until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Requests waiting right now. */
  get waiting(): number {
    return this.held.length;
  }

  /** Sends every held request (or fails it, if it was aborted meanwhile) and stops holding. */
  release(): void {
    this.holding = false;
    for (const send of this.held.splice(0)) send();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (!this.holding) return super.dispatch(options, handler);
    this.held.push(() => super.dispatch(options, handler));
    return true;
  }
}
